//! The plan document: secrets never written, versions refused, moves named, schema fresh.

use super::*;
use crate::plan::{Change, Operation};
use crate::resources::dynamodb_table::TableOp;
use crate::resources::{Address, Effect, FieldDiff, Val};

fn change(address: Address, action: Action, diffs: Vec<FieldDiff>) -> Change {
    Change {
        name: format!("aws-{}", address.name),
        address,
        action,
        diffs,
        operation: Operation::Table(TableOp::Delete),
        depends_on: Vec::new(),
        stray: false,
    }
}

fn diff(path: &str, old: Option<Val>, new: Option<Val>) -> FieldDiff {
    FieldDiff {
        path: path.into(),
        old,
        new,
        effect: Effect::InPlace,
    }
}

fn plan(changes: Vec<Change>) -> Plan {
    Plan {
        environment: "local".into(),
        stack: "cruddur".into(),
        mode: Mode::Converge,
        changes,
        notes: vec!["a note".into()],
        known: crate::resources::refs::Known::default(),
        findings: Vec::new(),
        costs: vec!["a cost".into()],
    }
}

fn inputs() -> Inputs {
    Inputs {
        account: "123456789012".into(),
        region: "ca-central-1".into(),
        endpoint: None,
        created_at: 1_796_000_000,
        targets: Vec::new(),
        stack_file: FileDigest {
            path: "stacks/cruddur.yaml".into(),
            sha256: sha256_hex(b"name: cruddur"),
        },
        packages: BTreeMap::from([("function.f".into(), "c2hh".into())]),
    }
}

fn capacity(old: i64) -> Change {
    change(
        Address::table("messages"),
        Action::Update,
        vec![diff(
            "billing.read",
            Some(Val::Int(old)),
            Some(Val::Int(10)),
        )],
    )
}

#[test]
fn a_secret_is_written_as_sensitive_without_its_value_and_reads_back() {
    let secret = "hunter2-do-not-print";
    let p = plan(vec![change(
        Address::new(crate::resources::Kind::Function, "f"),
        Action::Update,
        vec![
            diff(
                "environment[\"TOKEN\"]",
                Some(Val::Sensitive("old-secret-value".into())),
                Some(Val::Sensitive(secret.into())),
            ),
            diff("timeout", None, Some(Val::Unknown)),
        ],
    )]);
    let doc = PlanDocument::of(&p, &inputs());
    let text = doc.to_json();
    assert!(!text.contains(secret), "{text}");
    assert!(!text.contains("old-secret-value"), "{text}");
    assert!(text.contains(r#""type": "sensitive""#), "{text}");
    assert!(text.contains(r#""type": "unknown""#), "{text}");
    assert_eq!(PlanDocument::parse(&text).unwrap(), doc);
    // The digest leaves the secret out: the same plan with another secret digests alike.
    let mut other = p.clone();
    other.changes[0].diffs[0].old = Some(Val::Sensitive("another".into()));
    assert_eq!(
        PlanDocument::of(&other, &inputs()).changes[0].live_sha256,
        doc.changes[0].live_sha256
    );
}

#[test]
fn each_action_and_effect_round_trips_for_rendering() {
    let replaced = change(
        Address::table("t"),
        Action::Replace {
            because: vec!["key.range".into()],
        },
        vec![FieldDiff {
            path: "key.range".into(),
            old: None,
            new: Some(Val::Str("sk".into())),
            effect: Effect::ReplacesResource,
        }],
    );
    let p = plan(vec![
        change(Address::table("a"), Action::Create, Vec::new()),
        capacity(5),
        replaced.clone(),
        change(Address::table("d"), Action::Delete, Vec::new()),
    ]);
    let doc = PlanDocument::of(&p, &inputs());
    let actions: Vec<Action> = doc.changes.iter().map(ChangeDoc::to_action).collect();
    let want: Vec<Action> = p.changes.iter().map(|c| c.action.clone()).collect();
    assert_eq!(actions, want);
    assert_eq!(doc.changes[2].to_diff_list(), replaced.diffs);
    assert_eq!(
        doc.changes[1].to_address(),
        Some(Address::table("messages"))
    );
    assert_eq!(
        (doc.summary.add, doc.summary.change, doc.summary.destroy),
        (2, 1, 2)
    );
}

#[test]
fn another_format_or_version_is_refused_by_name() {
    let doc = PlanDocument::of(&plan(Vec::new()), &inputs());
    let mut value = serde_json::to_value(&doc).unwrap();
    value["format_version"] = serde_json::json!(2);
    let err = PlanDocument::parse(&value.to_string()).unwrap_err();
    assert!(err.contains("format version 2"), "{err}");
    let err = PlanDocument::parse(r#"{"name": "cruddur"}"#).unwrap_err();
    assert!(err.contains("not a plan file"), "{err}");
    let err = PlanDocument::parse("tables:\n  a: 1").unwrap_err();
    assert!(err.contains("not a plan file"), "{err}");
}

#[test]
fn a_capacity_moved_out_of_band_is_named_with_its_field_and_values() {
    let saved = PlanDocument::of(&plan(vec![capacity(5)]), &inputs());
    let fresh = PlanDocument::of(&plan(vec![capacity(7)]), &inputs());
    assert_ne!(saved.changes[0].live_sha256, fresh.changes[0].live_sha256);
    assert_eq!(
        moved(&saved, &fresh),
        ["table.messages: `billing.read` was 5 when the plan was made; AWS now has 7"]
    );
    assert!(moved(&saved, &saved.clone()).is_empty());
}

#[test]
fn a_change_gained_lost_or_turned_into_another_action_is_named() {
    let saved = PlanDocument::of(&plan(vec![capacity(5)]), &inputs());
    let none = PlanDocument::of(&plan(Vec::new()), &inputs());
    assert_eq!(
        moved(&saved, &none),
        [
            "table.messages: the saved plan would update it, but it no longer needs that (AWS changed)"
        ]
    );
    let both = PlanDocument::of(
        &plan(vec![
            capacity(5),
            change(Address::table("other"), Action::Create, Vec::new()),
        ]),
        &inputs(),
    );
    assert_eq!(
        moved(&saved, &both),
        [
            "table.other: it now needs to be created (no field changes), which the saved plan does not include"
        ]
    );
    let gone = PlanDocument::of(
        &plan(vec![change(
            Address::table("messages"),
            Action::Create,
            Vec::new(),
        )]),
        &inputs(),
    );
    assert_eq!(
        moved(&saved, &gone),
        ["table.messages: the saved plan would update it; it now needs to be created"]
    );
    let wider = PlanDocument::of(
        &plan(vec![change(
            Address::table("messages"),
            Action::Update,
            vec![
                diff("billing.read", Some(Val::Int(5)), Some(Val::Int(10))),
                diff("billing.write", Some(Val::Int(6)), Some(Val::Int(5))),
            ],
        )]),
        &inputs(),
    );
    assert_eq!(
        moved(&saved, &wider),
        [
            "table.messages: `billing.write` now differs (AWS has 6), which the saved plan does not change"
        ]
    );
}

/// `schemas/plan.schema.json` is what the types generate; `CRUDDUR_UPDATE_SCHEMA=1`
/// rewrites it.
#[test]
fn the_committed_plan_schema_is_fresh() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/plan.schema.json");
    let generated = schema_json();
    if std::env::var_os("CRUDDUR_UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/plan.schema.json is out of date: run `CRUDDUR_UPDATE_SCHEMA=1 cargo test --lib document` and commit it"
    );
    // It documents itself and refuses unknown fields, like the reader.
    assert!(generated.contains("\"additionalProperties\": false"));
    assert!(generated.contains("Hex SHA-256 of the live state"));
}
