//! `--target ADDRESS`: limiting a run to some resources and what they need. Pure.
//!
//! Converging, a target brings what it depends on (a function its role and the table its
//! environment names), since creating it without them would fail. Destroying, a target
//! brings what depends on it (a function its mappings), since AWS refuses, or leaves
//! broken, a resource whose dependents outlive it. A function's log group goes with the
//! function. Edges are the stack's own references (`Stack::uses`), the same ones planning
//! orders changes by.

use std::collections::BTreeSet;

use super::{Mode, Plan};
use crate::resources::Address;
use crate::stack::Stack;

/// Parses `--target` values against the declared resources; an unknown one is an error
/// listing the declared addresses (and the closest, when one is close).
pub fn parse(stack: &Stack, targets: &[String]) -> Result<Vec<Address>, String> {
    let declared: Vec<Address> = crate::resources::declared_resources(stack)
        .into_iter()
        .map(|(a, _, _)| a)
        .collect();
    let mut out = Vec::new();
    for t in targets {
        if let Some(a) = declared.iter().find(|a| a.to_string() == *t) {
            out.push(a.clone());
        } else {
            let names: Vec<String> = declared.iter().map(ToString::to_string).collect();
            let close = names
                .iter()
                .map(|n| (strsim::levenshtein(n, t), n))
                .filter(|(d, _)| *d <= 3)
                .min()
                .map(|(_, n)| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "--target `{t}` is not a resource of this stack{close}\n  help: use one of the declared addresses: {}",
                names.join(", ")
            ));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The targets and what comes with them in `mode` (see the module's notes).
#[must_use]
pub fn closure(stack: &Stack, targets: &[Address], mode: Mode) -> BTreeSet<Address> {
    let mut keep: BTreeSet<Address> = targets.iter().cloned().collect();
    loop {
        let before = keep.len();
        for u in &stack.uses {
            let (from, to) = match mode {
                // `from` uses `to`: converging `from` needs `to`.
                Mode::Converge => (&u.from, &u.to),
                // Destroying `to` takes `from`, which uses it, first.
                Mode::Destroy => (&u.to, &u.from),
            };
            if keep.contains(from) {
                keep.insert(to.clone());
            }
        }
        if keep.len() == before {
            return keep;
        }
    }
}

/// `plan` limited to `targets` and what comes with them in the plan's mode (`closure`).
/// Converging, a target that is replaced also takes along the changes of what uses it (and
/// what those need): a mapping left on a deleted table's stream, or a function on a
/// deleted role, would be broken by the targeted run alone.
#[must_use]
pub fn select(plan: Plan, stack: &Stack, targets: &[Address]) -> Plan {
    let mut keep = closure(stack, targets, plan.mode);
    if plan.mode == Mode::Converge {
        loop {
            let replaced: Vec<Address> = plan
                .changes
                .iter()
                .filter(|c| {
                    matches!(c.action, super::Action::Replace { .. })
                        && keep.contains(&c.address.owner())
                })
                .map(|c| c.address.owner())
                .collect();
            let users: Vec<Address> = stack
                .uses
                .iter()
                .filter(|u| replaced.contains(&u.to) && !keep.contains(&u.from))
                .filter(|u| plan.changes.iter().any(|c| c.address.owner() == u.from))
                .map(|u| u.from.clone())
                .collect();
            if users.is_empty() {
                break;
            }
            let mut all: Vec<Address> = keep.into_iter().collect();
            all.extend(users);
            keep = closure(stack, &all, Mode::Converge);
        }
    }
    restrict(plan, &keep)
}

/// `plan` limited to the changes of `keep` (a log group by its function); a stray, which
/// no target can name, is left out too. A note lists what was left out, so the reader
/// knows the plan is partial.
#[must_use]
pub fn restrict(mut plan: Plan, keep: &BTreeSet<Address>) -> Plan {
    let (kept, left): (Vec<_>, Vec<_>) = plan
        .changes
        .into_iter()
        .partition(|c| !c.stray && keep.contains(&c.address.owner()));
    plan.changes = kept;
    if !left.is_empty() {
        let names: Vec<String> = left.iter().map(|c| c.address.to_string()).collect();
        plan.notes.push(format!(
            "--target leaves out {} pending change(s): {}",
            names.len(),
            names.join(", ")
        ));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Change, Operation};
    use crate::resources::Kind;

    fn seed() -> Stack {
        crate::stack::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/cruddur.yaml"),
        )
        .expect("the seed stack loads")
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(ToString::to_string).collect()
    }

    fn names(keep: &BTreeSet<Address>) -> BTreeSet<String> {
        keep.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_table_alone_needs_nothing_and_a_function_needs_its_role_and_table() {
        let stack = seed();
        let table = parse(&stack, &["table.messages".into()]).unwrap();
        assert_eq!(
            names(&closure(&stack, &table, Mode::Converge)),
            set(&["table.messages"])
        );
        let function = parse(&stack, &["function.messaging_stream".into()]).unwrap();
        assert_eq!(
            names(&closure(&stack, &function, Mode::Converge)),
            set(&[
                "function.messaging_stream",
                "role.messaging_stream",
                "table.messages"
            ])
        );
    }

    #[test]
    fn destroying_a_function_takes_its_mapping_and_leaves_what_it_uses() {
        let stack = seed();
        let function = parse(&stack, &["function.messaging_stream".into()]).unwrap();
        assert_eq!(
            names(&closure(&stack, &function, Mode::Destroy)),
            set(&[
                "function.messaging_stream",
                "event_source_mapping.messages_stream"
            ])
        );
    }

    #[test]
    fn an_unknown_target_is_an_error_listing_the_declared_ones_and_the_closest() {
        let stack = seed();
        let err = parse(&stack, &["table.mesages".into()]).unwrap_err();
        assert!(err.contains("did you mean `table.messages`?"), "{err}");
        assert!(
            err.contains("table.messages, role.messaging_stream, role.dax"),
            "{err}"
        );
    }

    #[test]
    fn a_targeted_replacement_takes_the_changes_of_what_uses_it() {
        let stack = seed();
        let change = |address: &str, action: Action| {
            let (kind, name) = address.split_once('.').unwrap();
            Change {
                address: Address::new(Kind::from_address(kind).unwrap(), name),
                name: name.into(),
                action,
                diffs: Vec::new(),
                operation: Operation::Table(crate::resources::dynamodb_table::TableOp::Delete),
                depends_on: Vec::new(),
                stray: false,
            }
        };
        let plan = |table: Action| Plan {
            environment: "local".into(),
            stack: "cruddur".into(),
            mode: Mode::Converge,
            changes: vec![
                change("table.messages", table),
                change("event_source_mapping.messages_stream", Action::Update),
                change("function.messaging_stream", Action::Update),
                change("role.messaging_stream", Action::Update),
            ],
            notes: Vec::new(),
            known: crate::resources::refs::Known::default(),
            findings: Vec::new(),
            costs: Vec::new(),
        };
        let targets = [Address::table("messages")];
        let kept = |p: Plan| -> Vec<String> {
            select(p, &stack, &targets)
                .changes
                .iter()
                .map(|c| c.address.to_string())
                .collect()
        };
        assert_eq!(kept(plan(Action::Update)), ["table.messages"]);
        // Replaced, the table takes the mapping and the function that use it, and what
        // they need (the role).
        assert_eq!(
            kept(plan(Action::Replace {
                because: vec!["key.range".into()]
            })),
            [
                "table.messages",
                "event_source_mapping.messages_stream",
                "function.messaging_stream",
                "role.messaging_stream"
            ]
        );
    }

    #[test]
    fn restricting_keeps_a_functions_log_group_and_notes_what_it_left_out() {
        let change = |kind: Kind, name: &str| Change {
            address: Address::new(kind, name),
            name: name.into(),
            action: Action::Delete,
            diffs: Vec::new(),
            operation: Operation::Table(crate::resources::dynamodb_table::TableOp::Delete),
            depends_on: Vec::new(),
            stray: false,
        };
        let plan = Plan {
            environment: "local".into(),
            stack: "s".into(),
            mode: Mode::Destroy,
            changes: vec![
                change(Kind::Function, "f"),
                change(Kind::LogGroup, "f"),
                change(Kind::Table, "t"),
            ],
            notes: Vec::new(),
            known: crate::resources::refs::Known::default(),
            findings: Vec::new(),
            costs: Vec::new(),
        };
        let keep = BTreeSet::from([Address::new(Kind::Function, "f")]);
        let plan = restrict(plan, &keep);
        let kept: Vec<String> = plan.changes.iter().map(|c| c.address.to_string()).collect();
        assert_eq!(kept, ["function.f", "log_group.f"]);
        assert_eq!(
            plan.notes,
            ["--target leaves out 1 pending change(s): table.t"]
        );
    }
}
