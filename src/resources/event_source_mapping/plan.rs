//! Planning one stream mapping, found by function and table: the one to keep, duplicates
//! to delete, the action and the operation. Pure.

use super::{Mapping, MappingConfig, MappingOp, MappingSpec};
use crate::plan::checks::{Grant, Need, Want};
use crate::plan::{Action, Mode, Operation, Ownership, PlanError, Planner, Subject};
use crate::resources::refs::{Attr, Ref};
use crate::resources::{Address, Effect, FieldDiff, Kind, Resource, Val};
use crate::stack::Declared;
use crate::stack::Severity;

/// The pure half of the mapping kind: validation of `event_source_mappings:` entries and
/// planning. A mapping exports nothing and has no AWS name; it is never adopted.
impl Resource for Mapping {
    const KIND: Kind = Kind::Mapping;
    const PREFIX: &'static str = "event_source_mapping";
    const NOUN: &'static str = "event source mapping";
    type Raw = super::stack::RawMapping;

    fn enabled(raw: &Self::Raw) -> Option<&serde_saphyr::Spanned<bool>> {
        raw.enabled.as_ref()
    }

    /// Checks one entry with `stack::mapping`: a declared table with a stream, a declared
    /// function, and figures within Lambda's limits. No paths, so `base` is unused.
    fn validate(
        vd: &mut crate::stack::validate::Validator,
        raw: &serde_saphyr::Spanned<super::stack::RawMapping>,
        names: &crate::stack::validate::Names,
        _: &std::path::Path,
    ) -> MappingSpec {
        super::stack::mapping(vd, raw, names)
    }

    /// AWS allows one mapping per stream and function: every entry with the table and
    /// function of an earlier one is an error, reported at its logical name.
    fn check_all(
        vd: &mut crate::stack::validate::Validator,
        entries: &[crate::resources::Entry<'_, super::stack::RawMapping, MappingSpec>],
    ) {
        for (i, (logical, _, spec)) in entries.iter().enumerate() {
            if entries[..i]
                .iter()
                .any(|(_, _, o)| o.table == spec.table && o.function == spec.function)
            {
                vd.error(
                    format!(
                        "a second mapping from table `{}` to function `{}`",
                        spec.table.name, spec.function.name
                    ),
                    crate::stack::validate::loc(logical),
                    "AWS allows one mapping per stream and function: keep one",
                );
            }
        }
    }
    type Spec = MappingSpec;
    /// Every live mapping of the function on one of the table's streams: normally one,
    /// more after a lost create answer or a mapping left on an older stream.
    type Live = Vec<super::MappingLive>;

    fn facts(live: &Self::Live) -> Vec<(&'static str, String)> {
        live.first()
            .map(|m| vec![("state", m.state.clone()), ("uuid", m.uuid.clone())])
            .unwrap_or_default()
    }

    /// `uuid`: what `aws lambda get-event-source-mapping` and `update-…` take, of the first
    /// mapping found (normally the only one: `apply` deletes duplicates).
    fn outputs(live: &Self::Live) -> Vec<(&'static str, String)> {
        live.first()
            .map(|m| vec![("uuid", m.uuid.clone())])
            .unwrap_or_default()
    }
    type Op = MappingOp;

    /// Lambda reads the stream with the function's role: `DescribeStream`, `GetRecords` and
    /// `GetShardIterator` on the stream, `ListStreams` (which has no resource-level
    /// permissions) on `*`. Without them `CreateEventSourceMapping` fails, after the table,
    /// role and function exist: an error here, before any write.
    fn needs(p: &Planner<'_>, m: &Declared<MappingSpec>) -> Vec<Need> {
        let Some(runs) = crate::resources::runs_as(p.stack, &m.spec.function) else {
            return Vec::new();
        };
        vec![Need {
            role: runs.role,
            by: m.address.clone(),
            purpose: format!("to read the stream of `{}`", m.spec.table),
            consequence: format!(
                "Lambda refuses to create the mapping (\"Cannot access stream\") once the table, role and `{}` exist",
                m.spec.function
            ),
            severity: Severity::Error,
            want: Want::All(vec![
                Grant::new(
                    &[
                        "dynamodb:DescribeStream",
                        "dynamodb:GetRecords",
                        "dynamodb:GetShardIterator",
                    ],
                    format!("${{table.{}.stream_arn}}", m.spec.table.name),
                ),
                Grant::new(&["dynamodb:ListStreams"], "*"),
            ]),
            managed: Some("arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB"),
        }]
    }

    /// A mapping has no name or ARN of its own that others reference.
    fn seed_known(_: &mut Planner<'_>, _: &Declared<MappingSpec>) {}

    /// Plans one stream mapping, found by function and table (it has no name of its own). AWS
    /// allows one mapping per stream and function: extra ones, left by a lost create answer,
    /// are deleted, and a replacement deletes before it creates.
    ///
    /// The wanted source is the table's stream ARN from the known values, `None` (known
    /// after apply; it replaces a live mapping) when the table's plan cannot know it yet.
    /// `super::choose` keeps one mapping; in converge the others are listed in a
    /// `duplicate_mappings` note, which alone makes an update that deletes them. Ownership
    /// is derived from the function (mappings carry no tag). The change depends on both
    /// the function and the table.
    ///
    /// # Errors
    ///
    /// `NotRefreshed` when refresh read nothing for the mapping; `Impossible` for an
    /// action that cannot apply to what was read (an update with no mapping to keep).
    fn plan(p: &mut Planner<'_>, m: &Declared<Self::Spec>) -> Result<(), PlanError> {
        let live = p
            .live
            .mappings
            .get(&m.address)
            .ok_or_else(|| PlanError::NotRefreshed(m.address.clone()))?;
        let source = p
            .known
            .get(&Ref::Attribute(m.spec.table.clone(), Attr::StreamArn))
            .cloned();
        let function_arn = p
            .known
            .get(&Ref::Attribute(m.spec.function.clone(), Attr::Arn))
            .cloned()
            .unwrap_or_default();
        let wanted = MappingConfig {
            event_source_arn: source,
            function_arn,
            batch_size: m.spec.batch_size,
            starting_position: m.spec.starting_position.clone(),
            enabled: m.spec.enabled,
            filter_patterns: m.spec.filter_patterns.clone(),
            maximum_retry_attempts: m.spec.maximum_retry_attempts,
            bisect_batch_on_function_error: m.spec.bisect_batch_on_function_error,
            maximum_batching_window_seconds: m.spec.maximum_batching_window_seconds,
        };
        let aws_name = |a: &Address| {
            let known = p.known.get(&Ref::Attribute(a.clone(), Attr::Name));
            known.cloned().unwrap_or_else(|| a.name.clone())
        };
        let name = format!(
            "{} → {}",
            aws_name(&m.spec.table),
            aws_name(&m.spec.function)
        );
        let (keep, duplicates) = super::choose(&wanted, live);
        let duplicates: Vec<String> = duplicates.iter().map(|d| d.uuid.clone()).collect();
        let mut diffs = p.field_diffs(
            keep,
            |k| super::diff(&wanted, k),
            || super::flatten(&wanted),
        );
        if p.mode == Mode::Converge && !duplicates.is_empty() {
            diffs.push(FieldDiff {
                path: "duplicate_mappings".into(),
                old: Some(Val::Set(duplicates.clone())),
                new: None,
                effect: Effect::Note(
                    "AWS allows one mapping per stream and function: the extra ones are deleted"
                        .into(),
                ),
            });
        }
        let subject = Subject {
            address: &m.address,
            name: &name,
            exists: keep.is_some(),
            owner: Ownership::Derived,
            protected: false,
        };
        let Some(action) = p.action(&subject, &diffs)? else {
            return Ok(());
        };
        let all: Vec<String> = live.iter().map(|l| l.uuid.clone()).collect();
        let op = match (&action, keep) {
            (Action::Update, Some(k)) => MappingOp::Update {
                uuid: k.uuid.clone(),
                config: wanted,
                duplicates,
            },
            (Action::Create | Action::Replace { .. }, _) => {
                // Delete before create: one mapping per stream and function.
                MappingOp::Create {
                    config: wanted,
                    table: m.spec.table.clone(),
                    delete_first: all,
                }
            }
            (Action::Delete, _) => MappingOp::Delete(all),
            (Action::Update, None) | (Action::NoOp, _) => {
                return Err(PlanError::impossible(&m.address, &action));
            }
        };
        let deps = vec![m.spec.function.clone(), m.spec.table.clone()];
        p.push(
            &m.address,
            &name,
            action,
            diffs,
            Operation::Mapping(op),
            deps,
        );
        Ok(())
    }
}
