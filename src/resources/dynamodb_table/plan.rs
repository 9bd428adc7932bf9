//! Planning one table: its diff against the live table, the safety checks, the action and
//! the exact steps apply runs. Pure.
//!
//! Only the name and the key schema (key types included) force a replacement; everything
//! else, index rebuilds included, is updated in place through `update_steps`.

use super::{Table, TableOp, TableSpec, TableState, TableStep};
use crate::engine::Engine;
use crate::plan::checks::Part;
use crate::plan::{Action, Operation, Ownership, PlanError, Planner, Subject};
use crate::resources::Adoption;
use crate::resources::Kind;
use crate::resources::Resource;
use crate::resources::refs::{Attr, Ref};
use crate::stack::Declared;

/// The pure half of the `table` kind: validation of `tables:` entries, reference exports,
/// ownership and stray handling, and the per-table plan.
impl Resource for Table {
    /// Addresses read `table.<logical name>`.
    const KIND: Kind = Kind::Table;
    const PREFIX: &'static str = "table";
    /// Messages say "table" (`two tables are named ...`).
    const NOUN: &'static str = "table";
    /// A `tables:` entry as written (`RawTable`, `deny_unknown_fields`).
    type Raw = super::stack::RawTable;

    fn enabled(raw: &Self::Raw) -> Option<&serde_saphyr::Spanned<bool>> {
        raw.enabled.as_ref()
    }

    /// `name` and `arn` always; `stream_arn` only when `stream` is present and not `off`
    /// (any case). Read from the raw entry: exports are collected before any entry is
    /// validated, so that `${table.x.stream_arn}` and a mapping's table can be checked.
    fn exports(raw: &super::stack::RawTable) -> Vec<Attr> {
        let stream = raw
            .stream
            .as_ref()
            .is_some_and(|s| !s.value.eq_ignore_ascii_case("off"));
        let mut attrs = vec![Attr::Name, Attr::Arn];
        if stream {
            attrs.push(Attr::StreamArn);
        }
        attrs
    }

    /// Checks one entry with `stack::table`. Tables reference no other resource and no
    /// file, so the declared names and the stack folder are unused.
    fn validate(
        vd: &mut crate::stack::validate::Validator,
        raw: &serde_saphyr::Spanned<super::stack::RawTable>,
        _: &crate::stack::validate::Names,
        _: &std::path::Path,
    ) -> TableSpec {
        super::stack::table(vd, raw)
    }

    /// Reports two entries with the same AWS table name: they would be one table in AWS.
    fn check_all(
        vd: &mut crate::stack::validate::Validator,
        entries: &[crate::resources::Entry<'_, super::stack::RawTable, TableSpec>],
    ) {
        vd.unique_names(Self::NOUN, entries.iter().map(|(_, r, _)| &r.value.name));
    }
    /// The validated table.
    type Spec = TableSpec;
    /// The table refresh read by name, `None` when AWS does not have it. A `DELETING`
    /// table is `Some` in that state, since it still holds the name.
    type Live = Option<super::TableLive>;

    fn facts(live: &Self::Live) -> Vec<(&'static str, String)> {
        let Some(t) = live else { return Vec::new() };
        let state = match &t.state {
            super::TableState::Creating => "CREATING".to_string(),
            super::TableState::Active => "ACTIVE".to_string(),
            super::TableState::Updating => "UPDATING".to_string(),
            super::TableState::Deleting => "DELETING".to_string(),
            super::TableState::Other(s) => s.clone(),
        };
        let mut facts = vec![
            ("state", state),
            ("approximate_item_count", t.item_count.to_string()),
        ];
        if let Some(view) = t.config.stream {
            facts.push(("stream", view.as_str().to_string()));
        }
        facts
    }

    /// `name`, `arn`, `stream_arn` while the stream is on (the latest one, as
    /// `DescribeTable` gives it: re-enabling a stream changes it), and `indexes`: the
    /// global secondary indexes' names, comma-separated in `DescribeTable`'s order, since
    /// an output has one value and a table any number of indexes.
    fn outputs(live: &Self::Live) -> Vec<(&'static str, String)> {
        let Some(t) = live else { return Vec::new() };
        let mut outputs = vec![
            (Attr::Name.as_str(), t.config.name.clone()),
            (Attr::Arn.as_str(), t.arn.clone()),
        ];
        if let Some(stream) = &t.stream_arn {
            outputs.push((Attr::StreamArn.as_str(), stream.clone()));
        }
        if !t.config.indexes.is_empty() {
            let names: Vec<&str> = t.config.indexes.iter().map(|i| i.name.as_str()).collect();
            outputs.push(("indexes", names.join(",")));
        }
        outputs
    }
    /// `Create`, `CreateAfterDeletion`, `Update` with its steps, `Replace` or `Delete`.
    type Op = TableOp;

    /// Tables are what DynamoDB Local serves, so they stay in every environment.
    fn served_by(_: Engine) -> bool {
        true
    }

    /// Where nothing can be tagged (DynamoDB Local), the user's `tags` are set aside; where
    /// there is no point-in-time recovery, `point_in_time_recovery: true` is. The read
    /// reports neither there, so neither is diffed.
    fn set_aside_for(spec: &mut TableSpec, engine: Engine) -> Vec<&'static str> {
        let mut aside = Vec::new();
        if !engine.can_tag() && !spec.tags.is_empty() {
            spec.tags.clear();
            aside.push("tags");
        }
        if !engine.has_point_in_time_recovery() && spec.point_in_time_recovery {
            spec.point_in_time_recovery = false;
            aside.push("point_in_time_recovery");
        }
        aside
    }

    /// The table name, by which an event source mapping's refresh finds its table.
    fn aws_name(spec: &TableSpec) -> Option<&str> {
        Some(&spec.name)
    }

    /// Records `stack` as the owner in `live`, so the plan shown after adopting reads as if
    /// the tag were already there; returns the previous owner tag and the table ARN, which
    /// `TagResource` takes. No table: `Missing`, and `apply` creates it.
    fn adopt(live: &mut Self::Live, stack: &str) -> Adoption {
        match live {
            Some(l) => Adoption::Found {
                owner: l.owner.replace(stack.to_string()),
                target: l.arn.clone(),
            },
            None => Adoption::Missing,
        }
    }

    /// Each global secondary index: code handed its name queries or scans it, and IAM
    /// checks those calls against the index's own ARN (`…/index/<name>`), which a grant on
    /// the table's ARN does not cover (the bootcamp notes' `AccessDenied`).
    fn parts(d: &Declared<TableSpec>) -> Vec<Part> {
        let table = format!("${{table.{}.arn}}", d.address.name);
        d.spec
            .indexes
            .iter()
            .map(|i| Part {
                name: i.name.clone(),
                arn: format!("{table}/index/{}", i.name),
                parent: table.clone(),
                actions: vec!["dynamodb:Query", "dynamodb:Scan"],
                what: format!("index `{}` of `{}`", i.name, d.address),
            })
            .collect()
    }

    fn arn(account: &str, region: &str, spec: &TableSpec) -> Option<String> {
        Some(super::arn(region, account, &spec.name))
    }

    /// Provisioned capacity against the free tier, requests of on-demand tables, storage.
    fn costs(region: &str, specs: &[&TableSpec], stopping: bool) -> Vec<String> {
        super::cost_lines(region, specs, stopping)
    }

    /// A stream ARN not known yet is the table's ARN, `/stream/`, and a label AWS picks
    /// (a creation time): a grant on `…:table/<name>/stream/*` covers it.
    fn placeholder(p: &Planner<'_>, d: &Declared<TableSpec>, attr: Attr) -> Option<String> {
        let arn = p.known.get(&Ref::Attribute(d.address.clone(), Attr::Arn))?;
        (attr == Attr::StreamArn).then(|| format!("{arn}/stream/(known after apply)"))
    }

    /// A table tagged with this stack is this declaration when the AWS names match.
    fn declares(d: &Declared<TableSpec>, name: &str) -> bool {
        d.spec.name == name
    }

    /// A table the stack owns but no longer declares (a rename included) is deleted; being
    /// a `Delete`, it goes through the data-loss guard like any other.
    fn stray_op(_: &str) -> Option<TableOp> {
        Some(TableOp::Delete)
    }

    /// `Replace` and `Delete` lose every item. Creates lose nothing, and so do updates:
    /// an index that is deleted or rebuilt is only a copy, backfilled from the table.
    fn deletes_data(op: &TableOp) -> bool {
        match op {
            TableOp::Replace(_) | TableOp::Delete => true,
            TableOp::Create(_) | TableOp::CreateAfterDeletion(_) | TableOp::Update { .. } => false,
        }
    }

    /// Exports the name and the ARN, which AWS builds from region, account and name, so
    /// they are known before the table exists. The stream ARN is not: AWS adds a creation
    /// timestamp to it, so `plan` exports it only when the live stream stays, and apply
    /// publishes a new one.
    fn seed_known(p: &mut Planner<'_>, t: &Declared<TableSpec>) {
        let arn = super::arn(&p.ctx.region, &p.ctx.account, &t.spec.name);
        p.export(&t.address, Attr::Name, t.spec.name.clone());
        p.export(&t.address, Attr::Arn, arn);
    }

    /// Plans one table: a `DELETING` table counts as absent but makes the create wait for it;
    /// an update records the exact steps (index deletes first, one per call); the stream ARN is
    /// exported when the plan keeps the stream; deleting or replacing a table with items adds a
    /// note (the data-loss guard itself runs before apply, with an exact check).
    ///
    /// The diff (`field_diffs`) is against the live table, every creation field when there
    /// is none, or empty in destroy mode. `Planner::action` then refuses to touch a table
    /// owned by another stack or by none (destroy leaves it in place with a note) and to
    /// delete or replace one with deletion protection on; `update_steps` runs only for an
    /// update of a live table, whose key schema is unchanged by construction (a key change
    /// is a replace).
    ///
    /// # Errors
    ///
    /// `NotRefreshed` when refresh read nothing for the address; `NotOwned` and
    /// `DeletionProtected` from the safety checks; `Impossible` for an update with no live
    /// table, or a no-op, which `action` never returns.
    fn plan(p: &mut Planner<'_>, t: &Declared<Self::Spec>) -> Result<(), PlanError> {
        let state = p
            .live
            .tables
            .get(&t.address)
            .ok_or_else(|| PlanError::NotRefreshed(t.address.clone()))?;
        // A table being deleted is gone as far as the plan is concerned, except that it
        // still holds its name: a create must wait for it to go.
        let deleting = state
            .as_ref()
            .is_some_and(|l| l.state == TableState::Deleting);
        let live = state.as_ref().filter(|_| !deleting);
        let diffs = p.field_diffs(
            live,
            |l| super::diff(&t.spec, l),
            || super::creation_fields(&t.spec),
        );
        let subject = Subject {
            address: &t.address,
            name: &t.spec.name,
            exists: live.is_some(),
            owner: Ownership::Tagged(live.and_then(|l| l.owner.as_deref())),
            protected: live.is_some_and(|l| l.config.deletion_protection),
        };
        let action = p.action(&subject, &diffs)?;
        let steps = match (&action, live) {
            (Some(Action::Update), Some(l)) => super::update_steps(&t.spec, l),
            _ => Vec::new(),
        };
        // The stream ARN is known now only if the stream stays as it is.
        let stream_stable = matches!(action, None | Some(Action::Update))
            && !steps
                .iter()
                .any(|s| matches!(s, TableStep::DisableStream | TableStep::EnableStream(_)));
        if stream_stable && let Some(arn) = live.and_then(|l| l.stream_arn.clone()) {
            p.known
                .insert(Ref::Attribute(t.address.clone(), Attr::StreamArn), arn);
        }
        let Some(action) = action else { return Ok(()) };
        if action == Action::Update
            && let Some(l) = live
            && let Some(note) = super::ttl_note(&t.spec, l)
        {
            p.notes.push(format!("{}: {note}", t.address));
        }
        if action == Action::Create && deleting {
            p.notes.push(format!(
                "{}: `{}` is still being deleted; apply waits until it is gone, then creates it",
                t.address, t.spec.name
            ));
        }
        if matches!(action, Action::Delete | Action::Replace { .. })
            && let Some(l) = live
            && l.item_count > 0
        {
            p.notes.push(format!(
            "{}: deleting `{}` loses its items (about {} by AWS's count, refreshed every ~6 hours)",
            t.address, t.spec.name, l.item_count
        ));
        }
        let op = match (&action, live) {
            (Action::Create, _) if deleting => TableOp::CreateAfterDeletion(t.spec.clone()),
            (Action::Create, _) => TableOp::Create(t.spec.clone()),
            (Action::Update, Some(l)) => TableOp::Update {
                arn: l.arn.clone(),
                steps,
            },
            (Action::Replace { .. }, _) => TableOp::Replace(t.spec.clone()),
            (Action::Delete, _) => TableOp::Delete,
            (Action::Update, None) | (Action::NoOp, _) => {
                return Err(PlanError::impossible(&t.address, &action));
            }
        };
        p.push(
            &t.address,
            &t.spec.name,
            action,
            diffs,
            Operation::Table(op),
            Vec::new(),
        );
        Ok(())
    }
}
