//! Planning one table: its diff against the live table, the safety checks, the action and
//! the exact steps apply runs. Pure.

use super::{Table, TableOp, TableSpec, TableState, TableStep};
use crate::plan::{
    Action, Operation, Ownership, PlanError, Planner, Subject,
};
use crate::resources::refs::{Attr, Ref};
use crate::resources::Resource;
use crate::resources::Kind;
use crate::resources::Adoption;
use crate::stack::Declared;

impl Resource for Table {
    const KIND: Kind = Kind::Table;
    const NOUN: &'static str = "table";
    type Raw = super::stack::RawTable;

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

    fn validate(
        vd: &mut crate::stack::validate::Validator,
        raw: &serde_saphyr::Spanned<super::stack::RawTable>,
        _: &crate::stack::validate::Names,
        _: &std::path::Path,
    ) -> TableSpec {
        super::stack::table(vd, raw)
    }

    fn check_all(
        vd: &mut crate::stack::validate::Validator,
        entries: &[crate::resources::Entry<'_, super::stack::RawTable, TableSpec>],
    ) {
        vd.unique_names(Self::NOUN, entries.iter().map(|(_, r, _)| &r.value.name));
    }
    type Spec = TableSpec;
    type Live = Option<super::TableLive>;
    type Op = TableOp;

    fn aws_name(spec: &TableSpec) -> Option<&str> {
        Some(&spec.name)
    }

    fn adopt(live: &mut Self::Live, stack: &str) -> Adoption {
        match live {
            Some(l) => Adoption::Found {
                owner: l.owner.replace(stack.to_string()),
                target: l.arn.clone(),
            },
            None => Adoption::Missing,
        }
    }

    fn declares(d: &Declared<TableSpec>, name: &str) -> bool {
        d.spec.name == name
    }

    fn stray_op(_: &str) -> Option<TableOp> {
        Some(TableOp::Delete)
    }

    fn deletes_data(op: &TableOp) -> bool {
        match op {
            TableOp::Replace(_) | TableOp::Delete => true,
            TableOp::Create(_) | TableOp::CreateAfterDeletion(_) | TableOp::Update { .. } => false,
        }
    }

    fn seed_known(p: &mut Planner<'_>, t: &Declared<TableSpec>) {
        let arn = format!(
            "arn:aws:dynamodb:{}:{}:table/{}",
            p.ctx.region, p.ctx.account, t.spec.name
        );
        p.export(&t.address, Attr::Name, t.spec.name.clone());
        p.export(&t.address, Attr::Arn, arn);
    }

    /// Plans one table: a `DELETING` table counts as absent but makes the create wait for it;
    /// an update records the exact steps (index deletes first, one per call); the stream ARN is
    /// exported when the plan keeps the stream; deleting or replacing a table with items adds a
    /// note (the data-loss guard itself runs before apply, with an exact check).
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
