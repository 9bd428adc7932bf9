//! Planning tests: the action chosen for each situation, and the safety refusals.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::resources::dynamodb_table::tests::{live, seed};
use crate::resources::dynamodb_table::{
    Billing, Projection, TableLive, TableOp, TableSpec, TableState, Throughput,
};
use crate::resources::lambda_function::FunctionState;
use crate::resources::{Effect, Val};
use crate::stack::Declared;

fn stack_with(spec: TableSpec) -> Stack {
    Stack {
        name: "cruddur".into(),
        path: Path::new("stack.yaml").into(),
        source_sha256: String::new(),
        environments: BTreeMap::new(),
        environments_loc: None,
        tables: vec![Declared {
            address: Address::table("messages"),
            spec,
            loc: None,
            enabled: true,
        }],
        roles: vec![],
        functions: vec![],
        mappings: vec![],
        endpoints: vec![],
        dax_clusters: vec![],
        uses: vec![],
    }
}

fn ctx() -> Context {
    Context {
        account: "123456789012".into(),
        region: "ca-central-1".into(),
        environment: "local".into(),
        today: Date::new(2026, 12, 3),
        offline: false,
    }
}

fn state(table: Option<TableLive>) -> LiveState {
    LiveState {
        tables: BTreeMap::from([(Address::table("messages"), table)]),
        ..LiveState::default()
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
    let plan = plan(&stack_with(seed()), &state(None), &ctx(), Mode::Converge).unwrap();
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
        &ctx(),
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
        &ctx(),
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
        &ctx(),
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
        &ctx(),
        Mode::Converge,
    )
    .unwrap_err();
    assert!(matches!(
        &errors[0],
        PlanError::NotOwned { owner: None, .. }
    ));
    assert!(errors[0].to_string().contains("owned by no stack"));
    let destroy = plan(
        &stack_with(seed()),
        &state(Some(foreign)),
        &ctx(),
        Mode::Destroy,
    )
    .unwrap();
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
        &ctx(),
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
        &ctx(),
        Mode::Converge,
    )
    .unwrap_err();
    assert!(errors[0].to_string().contains("cannot be replaced"));
}

#[test]
fn destroy_deletes_owned_tables_and_skips_missing_ones() {
    let plan_gone = plan(&stack_with(seed()), &state(None), &ctx(), Mode::Destroy).unwrap();
    assert!(plan_gone.is_empty());
    let plan = plan(
        &stack_with(seed()),
        &state(Some(live(seed()))),
        &ctx(),
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
        plan(
            &stack_with(seed()),
            &state(Some(busy)),
            &ctx(),
            Mode::Converge
        )
        .unwrap()
        .is_empty()
    );
}

/// The real seed stack against an empty account.
fn seed_stack_plan(mode: Mode, live: impl FnOnce(&Stack, &mut LiveState)) -> Plan {
    seed_stack_plan_with(mode, |_| {}, live)
}

/// The real seed stack, changed by `edit`, against an empty account changed by `live`.
fn seed_stack_plan_with(
    mode: Mode,
    edit: impl FnOnce(&mut Stack),
    live: impl FnOnce(&Stack, &mut LiveState),
) -> Plan {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/cruddur.yaml"));
    let mut stack = crate::stack::load(path).expect("seed stack loads");
    edit(&mut stack);
    let mut state = LiveState::default();
    for t in &stack.tables {
        state.tables.insert(t.address.clone(), None);
    }
    for r in &stack.roles {
        state.roles.insert(
            r.address.clone(),
            crate::resources::iam_role::RoleState::default(),
        );
    }
    for f in &stack.functions {
        state
            .functions
            .insert(f.address.clone(), FunctionState::default());
        state.artifacts.insert(
            f.address.clone(),
            crate::artifact::build(&f.spec.source).expect("artifact"),
        );
    }
    for m in &stack.mappings {
        state.mappings.insert(m.address.clone(), vec![]);
    }
    for e in &stack.endpoints {
        state.endpoints.insert(e.address.clone(), vec![]);
    }
    for c in &stack.dax_clusters {
        state.dax_clusters.insert(
            c.address.clone(),
            crate::resources::dax_cluster::DaxLive::default(),
        );
    }
    state.vpcs.insert(
        "default".into(),
        crate::resources::vpc::VpcFacts {
            vpc_id: "vpc-1".into(),
            main_route_table: Some("rtb-main".into()),
            route_tables: ["rtb-main".to_string()].into(),
            ..Default::default()
        },
    );
    live(&stack, &mut state);
    plan(&stack, &state, &ctx(), mode).expect("plan")
}

#[test]
fn seed_stack_references_resolve_to_real_arns_and_the_new_stream_is_unknown() {
    let plan = seed_stack_plan(Mode::Converge, |_, _| {});
    // The function's log group is a change of its own, made before the function.
    assert_eq!(plan.counts(), (6, 0, 0));
    let role = plan
        .changes
        .iter()
        .find(|c| c.address.kind == crate::resources::Kind::Role)
        .unwrap();
    let policy = role
        .diffs
        .iter()
        .find(|d| d.path.starts_with("policy["))
        .unwrap();
    let Some(Val::Doc(doc)) = &policy.new else {
        panic!("policy is a document")
    };
    assert!(
        doc.contains("\"arn:aws:dynamodb:ca-central-1:123456789012:table/cruddur-messages\""),
        "{doc}"
    );
    assert!(
        doc.contains("table/cruddur-messages/index/message-group-sk-index"),
        "{doc}"
    );
    assert!(
        role.depends_on.is_empty(),
        "the table ARN is known at plan time: the role need not wait"
    );
    let mapping = plan
        .changes
        .iter()
        .find(|c| c.address.kind == crate::resources::Kind::Mapping)
        .unwrap();
    assert!(
        mapping
            .diffs
            .iter()
            .any(|d| d.path == "event_source_arn" && d.new == Some(Val::Unknown))
    );
    let function = plan
        .changes
        .iter()
        .find(|c| c.address.kind == crate::resources::Kind::Function)
        .unwrap();
    assert!(
        function
            .diffs
            .iter()
            .any(|d| d.path == "environment[\"TABLE_NAME\"]"
                && d.new == Some(Val::Str("cruddur-messages".into())))
    );
}

#[test]
fn seed_stack_applies_in_waves_and_destroys_in_reverse() {
    let plan_c = seed_stack_plan(Mode::Converge, |_, _| {});
    let nodes: Vec<order::Node> = plan_c
        .changes
        .iter()
        .map(|c| {
            (
                c.address.clone(),
                c.depends_on.clone(),
                c.action == Action::Delete,
            )
        })
        .collect();
    let named = |waves: Vec<Vec<usize>>, p: &Plan| -> Vec<Vec<String>> {
        waves
            .into_iter()
            .map(|w| {
                w.into_iter()
                    .map(|i| p.changes[i].address.to_string())
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        named(order::waves(&nodes), &plan_c),
        vec![
            vec![
                "table.messages",
                "role.messaging_stream",
                "log_group.messaging_stream",
                "vpc_endpoint.dynamodb"
            ],
            vec!["function.messaging_stream"],
            vec!["event_source_mapping.messages_stream"],
        ]
    );
    // Everything exists and is owned: destroy deletes it all, dependents first.
    let plan_d = seed_stack_plan(Mode::Destroy, |stack, state| {
        let t = &stack.tables[0];
        state
            .tables
            .insert(t.address.clone(), Some(live(t.spec.clone())));
        let f = &stack.functions[0];
        state.functions.insert(
            f.address.clone(),
            FunctionState {
                log_group: Some(crate::resources::logs::LogGroupFacts::default()),
                function: Some(crate::resources::lambda_function::FunctionLive {
                    config: crate::resources::lambda_function::FunctionConfig {
                        name: f.spec.name.clone(),
                        runtime: String::new(),
                        handler: String::new(),
                        role: String::new(),
                        memory: 128,
                        timeout: 3,
                        description: String::new(),
                        architecture: "x86_64".into(),
                        environment: BTreeMap::new(),
                        secrets: std::collections::BTreeSet::new(),
                        vpc: None,
                        code_sha256: String::new(),
                        tags: BTreeMap::new(),
                    },
                    arn: "arn:f".into(),
                    owner: Some("cruddur".into()),
                    state: "Active".into(),
                    state_reason: None,
                }),
            },
        );
    });
    let nodes: Vec<order::Node> = plan_d
        .changes
        .iter()
        .map(|c| {
            (
                c.address.clone(),
                c.depends_on.clone(),
                c.action == Action::Delete,
            )
        })
        .collect();
    let waves = named(order::waves(&nodes), &plan_d);
    let position = |name: &str| {
        waves
            .iter()
            .position(|w| w.iter().any(|a| a == name))
            .unwrap()
    };
    assert!(
        position("function.messaging_stream") < position("log_group.messaging_stream"),
        "{waves:?}"
    );
    assert!(
        position("function.messaging_stream") <= position("table.messages"),
        "{waves:?}"
    );
}

#[test]
fn a_deleting_table_plans_a_create_that_waits_for_the_old_one_to_go() {
    // Guards issue 8.10: a DELETING table read as absent, so apply sent CreateTable while
    // the name was still taken.
    let mut going = live(seed());
    going.state = TableState::Deleting;
    going.owner = None;
    let plan = plan(
        &stack_with(seed()),
        &state(Some(going)),
        &ctx(),
        Mode::Converge,
    )
    .unwrap();
    assert_eq!(plan.counts(), (1, 0, 0));
    assert_eq!(
        plan.changes[0].operation,
        Operation::Table(TableOp::CreateAfterDeletion(seed()))
    );
    assert!(
        plan.notes.iter().any(|n| n.contains("still being deleted")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn every_way_of_deleting_a_table_is_seen_by_the_data_loss_guard() {
    // Guards issue 8.1: the guard and `--backup` looked only at replacements and declared
    // deletions; a table no longer declared (a rename) slipped through.
    let mut renamed = seed();
    renamed.name = "cruddur-messages-v2".into();
    let mut live_state = state(None);
    let stray = Stray {
        kind: crate::resources::Kind::Table,
        name: "cruddur-messages".into(),
        items: 3,
        protected: false,
    };
    live_state.orphans = vec![stray.clone()];
    let renaming = plan(&stack_with(renamed), &live_state, &ctx(), Mode::Converge).unwrap();
    let deleted: Vec<&str> = renaming
        .changes
        .iter()
        .filter_map(Change::deleted_table)
        .collect();
    assert_eq!(deleted, ["cruddur-messages"]);
    assert!(
        renaming.notes.iter().any(|n| n.contains("loses its items")),
        "{:?}",
        renaming.notes
    );
    // A replacement and a destroy are seen too.
    let mut rekeyed = seed();
    rekeyed.key.range = None;
    rekeyed.attributes.remove("sk");
    rekeyed.indexes.clear();
    let replaced = plan_for(&rekeyed, Some(live(seed())), Mode::Converge);
    assert_eq!(
        replaced
            .changes
            .iter()
            .filter_map(Change::deleted_table)
            .collect::<Vec<_>>(),
        ["cruddur-messages"]
    );
    let destroyed = plan_for(&seed(), Some(live(seed())), Mode::Destroy);
    assert_eq!(
        destroyed
            .changes
            .iter()
            .filter_map(Change::deleted_table)
            .collect::<Vec<_>>(),
        ["cruddur-messages"]
    );
    // A protected stray is refused like a protected declared table.
    live_state.orphans = vec![Stray {
        protected: true,
        ..stray
    }];
    let mut renamed = seed();
    renamed.name = "cruddur-messages-v2".into();
    let errors = plan(&stack_with(renamed), &live_state, &ctx(), Mode::Converge).unwrap_err();
    assert!(
        matches!(&errors[..], [PlanError::DeletionProtected { .. }]),
        "{errors:?}"
    );
}

fn plan_for(spec: &TableSpec, table: Option<TableLive>, mode: Mode) -> Plan {
    plan(&stack_with(spec.clone()), &state(table), &ctx(), mode).unwrap()
}

/// The seed plan with the function's log group as `group` says (the function missing).
fn with_log_group(group: Option<crate::resources::logs::LogGroupFacts>) -> Plan {
    seed_stack_plan(Mode::Converge, |stack, state| {
        let f = &stack.functions[0];
        state.functions.insert(
            f.address.clone(),
            FunctionState {
                function: None,
                log_group: group,
            },
        );
    })
}

fn log_group_change(plan: &Plan) -> Option<&Change> {
    plan.changes
        .iter()
        .find(|c| c.address.to_string() == "log_group.messaging_stream")
}

#[test]
fn a_new_functions_log_group_is_created_with_its_retention_before_the_function() {
    let plan = with_log_group(None);
    let group = log_group_change(&plan).expect("the log group is planned");
    assert_eq!(group.action, Action::Create);
    assert_eq!(group.name, "/aws/lambda/cruddur-messaging-stream");
    assert_eq!(
        group.operation,
        Operation::Function(
            crate::resources::lambda_function::FunctionOp::CreateLogGroup { retention_days: 14 }
        )
    );
    let function = plan
        .changes
        .iter()
        .find(|c| c.address.to_string() == "function.messaging_stream")
        .unwrap();
    assert!(function.depends_on.contains(&group.address), "{function:?}");
}

#[test]
fn a_retention_change_is_planned_and_lowering_it_says_what_is_lost() {
    // Lambda's own group never expires: 14 days is a lowering.
    let kept = |days| {
        Some(crate::resources::logs::LogGroupFacts {
            retention_days: days,
        })
    };
    let plan = with_log_group(kept(None));
    let group = log_group_change(&plan).unwrap();
    assert_eq!(group.action, Action::Update);
    assert!(
        matches!(&group.diffs[0].effect, Effect::Note(n) if n.contains("deletes the log events older than 14 days")),
        "{:?}",
        group.diffs
    );
    assert_eq!(group.diffs[0].old, Some(Val::Str("never expire".into())));
    // Raising it loses nothing and says nothing more.
    let plan = with_log_group(kept(Some(7)));
    let group = log_group_change(&plan).unwrap();
    assert_eq!(group.diffs[0].effect, Effect::InPlace);
    assert_eq!(group.diffs[0].new, Some(Val::Int(14)));
    // The same retention: nothing to do, and the function no longer waits for it.
    let plan = with_log_group(kept(Some(14)));
    assert!(log_group_change(&plan).is_none());
    let function = plan
        .changes
        .iter()
        .find(|c| c.address.to_string() == "function.messaging_stream")
        .unwrap();
    assert_eq!(
        function.depends_on,
        vec![Address::new(
            crate::resources::Kind::Role,
            "messaging_stream"
        )]
    );
}

#[test]
fn a_disabled_functions_log_group_is_deleted_with_it_and_stops_costing() {
    let disable = |stack: &mut Stack| {
        for f in &mut stack.functions {
            f.enabled = false;
        }
        for m in &mut stack.mappings {
            m.enabled = false;
        }
    };
    let plan = seed_stack_plan_with(Mode::Converge, disable, |stack, state| {
        for f in &stack.functions {
            state.functions.insert(
                f.address.clone(),
                FunctionState {
                    function: None,
                    log_group: Some(crate::resources::logs::LogGroupFacts {
                        retention_days: Some(14),
                    }),
                },
            );
        }
    });
    let group = log_group_change(&plan).expect("the disabled function's group is deleted");
    assert_eq!(group.action, Action::Delete);
    assert!(
        plan.costs.iter().any(|c| c.starts_with(
            "stops costing once deleted: the stored logs of `/aws/lambda/cruddur-messaging-stream`"
        )),
        "{:?}",
        plan.costs
    );
}

#[test]
fn the_seed_plan_ends_with_its_capacity_against_the_free_tier() {
    let plan = seed_stack_plan(Mode::Converge, |_, _| {});
    assert_eq!(plan.costs.len(), 2, "{:?}", plan.costs);
    assert!(plan.costs[0].starts_with("cost: DynamoDB capacity, 10 read and 10 write units provisioned (table `cruddur-messages` 5/5, index `message-group-sk-index` 5/5), within the free tier of 25 RCU and 25 WCU"), "{}", plan.costs[0]);
    assert!(plan.costs[0].contains("ca-central-1 may differ"));
    assert!(
        plan.costs[1].starts_with("cost: logs `/aws/lambda/cruddur-messaging-stream` kept 14 days")
    );
    let destroy = seed_stack_plan(Mode::Destroy, |_, _| {});
    assert!(
        destroy.costs.is_empty(),
        "nothing exists, nothing stops: {:?}",
        destroy.costs
    );
}

#[test]
fn capacity_beyond_the_free_tier_is_priced_per_unit_hour() {
    let mut big = seed();
    big.billing = Billing::Provisioned(Throughput {
        read: 40,
        write: 30,
    });
    for i in &mut big.indexes {
        i.throughput = Some(Throughput { read: 5, write: 5 });
    }
    let lines = crate::resources::dynamodb_table::cost_lines("us-east-1", &[&big], false);
    // (45 - 25) × 0.00013 × 730 + (35 - 25) × 0.00065 × 730 = 1.898 + 4.745
    assert!(lines[0].contains("about $6.64/month"), "{}", lines[0]);
    assert!(
        lines[0].contains("(us-east-1 price of 2026)"),
        "{}",
        lines[0]
    );
    let mut on_demand = seed();
    on_demand.billing = Billing::PayPerRequest;
    let lines = crate::resources::dynamodb_table::cost_lines("us-east-1", &[&on_demand], false);
    assert!(
        lines[0]
            .starts_with("cost: on-demand table(s) `cruddur-messages`: $0.625 per million writes"),
        "{}",
        lines[0]
    );
}
