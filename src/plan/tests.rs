//! Planning tests: the action chosen for each situation, and the safety refusals.

use std::path::Path;

use super::*;
use crate::resources::dynamodb_table::tests::{live, seed};
use crate::resources::dynamodb_table::{Billing, Projection, TableState, Throughput};
use crate::resources::{Effect, Val};
use crate::stack::Declared;

fn stack_with(spec: TableSpec) -> Stack {
    Stack {
        name: "cruddur".into(),
        path: Path::new("stack.yaml").into(),
        environments: BTreeMap::new(),
        environments_loc: None,
        tables: vec![Declared {
            address: Address::table("messages"),
            spec,
            loc: None,
        }],
    }
}

fn state(table: Option<TableLive>) -> LiveState {
    LiveState {
        tables: BTreeMap::from([(Address::table("messages"), table)]),
    }
}

#[test]
fn decide_is_total_over_intent_existence_and_diffs() {
    let in_place = FieldDiff {
        path: "billing.read".into(),
        old: Some(Val::Int(1)),
        new: Some(Val::Int(2)),
        effect: Effect::InPlace,
    };
    let forcing = FieldDiff {
        path: "key.range".into(),
        effect: Effect::ReplacesResource,
        ..in_place.clone()
    };
    assert_eq!(decide(Intent::Converge, false, &[]), Action::Create);
    assert_eq!(decide(Intent::Converge, true, &[]), Action::NoOp);
    assert_eq!(
        decide(Intent::Converge, true, std::slice::from_ref(&in_place)),
        Action::Update
    );
    assert_eq!(
        decide(Intent::Converge, true, &[in_place, forcing]),
        Action::Replace {
            because: vec!["key.range".into()]
        }
    );
    assert_eq!(decide(Intent::Remove, true, &[]), Action::Delete);
    assert_eq!(decide(Intent::Remove, false, &[]), Action::NoOp);
}

#[test]
fn a_missing_table_is_created_with_unknown_arns() {
    let plan = plan(&stack_with(seed()), &state(None), Mode::Converge).unwrap();
    assert_eq!(plan.counts(), (1, 0, 0));
    let change = &plan.changes[0];
    assert_eq!(change.operation, Operation::Table(TableOp::Create(seed())));
    assert!(
        change
            .diffs
            .iter()
            .any(|d| d.path == "stream_arn" && d.new == Some(Val::Unknown))
    );
}

#[test]
fn a_converged_table_plans_nothing() {
    let plan = plan(
        &stack_with(seed()),
        &state(Some(live(seed()))),
        Mode::Converge,
    )
    .unwrap();
    assert!(plan.is_empty());
}

#[test]
fn capacity_drift_is_an_update_with_one_step() {
    let mut have = seed();
    have.billing = Billing::Provisioned(Throughput { read: 10, write: 5 });
    let plan = plan(
        &stack_with(seed()),
        &state(Some(live(have))),
        Mode::Converge,
    )
    .unwrap();
    assert_eq!(plan.changes[0].action, Action::Update);
    assert!(
        matches!(&plan.changes[0].operation, Operation::Table(TableOp::Update { steps, .. }) if steps.len() == 1)
    );
}

#[test]
fn a_projection_change_is_an_update_not_a_replacement() {
    let mut wanted = seed();
    wanted.indexes[0].projection = Projection::KeysOnly;
    let plan = plan(
        &stack_with(wanted),
        &state(Some(live(seed()))),
        Mode::Converge,
    )
    .unwrap();
    assert_eq!(plan.changes[0].action, Action::Update);
}

#[test]
fn a_table_owned_by_nobody_stops_the_plan_and_destroy_leaves_it() {
    let mut foreign = live(seed());
    foreign.owner = None;
    let errors = plan(
        &stack_with(seed()),
        &state(Some(foreign.clone())),
        Mode::Converge,
    )
    .unwrap_err();
    assert!(matches!(
        &errors[0],
        PlanError::NotOwned { owner: None, .. }
    ));
    assert!(errors[0].to_string().contains("owned by no stack"));
    let destroy = plan(&stack_with(seed()), &state(Some(foreign)), Mode::Destroy).unwrap();
    assert!(destroy.is_empty());
    assert!(destroy.notes[0].contains("left in place"));
}

#[test]
fn deletion_protection_blocks_destroy_and_replacement() {
    let mut protected = seed();
    protected.deletion_protection = true;
    let errors = plan(
        &stack_with(seed()),
        &state(Some(live(protected.clone()))),
        Mode::Destroy,
    )
    .unwrap_err();
    assert!(matches!(
        &errors[0],
        PlanError::DeletionProtected {
            action: Action::Delete,
            ..
        }
    ));
    let mut rekeyed = protected.clone();
    rekeyed.key.range = None;
    let errors = plan(
        &stack_with(rekeyed),
        &state(Some(live(protected))),
        Mode::Converge,
    )
    .unwrap_err();
    assert!(errors[0].to_string().contains("cannot be replaced"));
}

#[test]
fn destroy_deletes_owned_tables_and_skips_missing_ones() {
    let plan_gone = plan(&stack_with(seed()), &state(None), Mode::Destroy).unwrap();
    assert!(plan_gone.is_empty());
    let plan = plan(
        &stack_with(seed()),
        &state(Some(live(seed()))),
        Mode::Destroy,
    )
    .unwrap();
    assert_eq!(plan.counts(), (0, 0, 1));
    assert_eq!(plan.changes[0].operation, Operation::Table(TableOp::Delete));
}

#[test]
fn a_table_in_another_state_is_still_compared() {
    let mut busy = live(seed());
    busy.state = TableState::Updating;
    assert!(
        plan(&stack_with(seed()), &state(Some(busy)), Mode::Converge)
            .unwrap()
            .is_empty()
    );
}
