//! Rendering tests: snapshots of the plan text and progress lines, without colour.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::events::Event;
use crate::plan::{Action, LiveState, Mode, plan};
use crate::resources::Address;
use crate::resources::dynamodb_table::tests::{live, seed};
use crate::resources::dynamodb_table::{Billing, Projection, ScalarType, StreamView, Throughput};
use crate::stack::{Declared, Stack};

fn rendered(
    wanted: crate::resources::dynamodb_table::TableSpec,
    have: Option<crate::resources::dynamodb_table::TableLive>,
    mode: Mode,
) -> String {
    let plan = planned(wanted, have, mode);
    let mut out = Vec::new();
    human::plan(&mut out, &plan, Palette::new(false)).unwrap();
    String::from_utf8(out).unwrap()
}

/// The plan for one table, `messages`, from `wanted` and `have`.
fn planned(
    wanted: crate::resources::dynamodb_table::TableSpec,
    have: Option<crate::resources::dynamodb_table::TableLive>,
    mode: Mode,
) -> crate::plan::Plan {
    let stack = Stack {
        name: "cruddur".into(),
        path: Path::new("stack.yaml").into(),
        source_sha256: String::new(),
        environments: BTreeMap::new(),
        environments_loc: None,
        tables: vec![Declared {
            address: Address::table("messages"),
            spec: wanted,
            loc: None,
            enabled: true,
        }],
        roles: vec![],
        functions: vec![],
        mappings: vec![],
        endpoints: vec![],
        dax_clusters: vec![],
        uses: vec![],
    };
    let live = LiveState {
        tables: BTreeMap::from([(Address::table("messages"), have)]),
        ..LiveState::default()
    };
    let ctx = crate::plan::Context {
        account: "123456789012".into(),
        region: "ca-central-1".into(),
        environment: "local".into(),
        today: crate::plan::Date::new(2026, 12, 3),
        offline: false,
    };
    plan(&stack, &live, &ctx, mode).expect("plan")
}

#[test]
fn create_lists_every_field_and_unknowns() {
    insta::assert_snapshot!(rendered(seed(), None, Mode::Converge));
}

#[test]
fn drift_shows_only_the_changed_field() {
    let mut have = seed();
    have.billing = Billing::Provisioned(Throughput { read: 10, write: 5 });
    insta::assert_snapshot!(rendered(seed(), Some(live(have)), Mode::Converge));
}

#[test]
fn index_and_stream_changes_say_what_they_cost() {
    let mut wanted = seed();
    wanted.indexes[0].projection = Projection::KeysOnly;
    wanted.stream = Some(StreamView::NewAndOldImages);
    wanted.tags.insert("env".into(), "prod".into());
    insta::assert_snapshot!(rendered(wanted, Some(live(seed())), Mode::Converge));
}

#[test]
fn key_change_is_a_replacement_with_its_reason() {
    let mut wanted = seed();
    wanted.attributes.insert("created_at".into(), ScalarType::N);
    wanted.key.range = Some("created_at".into());
    let out = rendered(wanted, Some(live(seed())), Mode::Converge);
    insta::assert_snapshot!(out);
    assert!(out.contains("-/+ table.messages"));
    assert!(out.contains("# forces replacement"));
    assert!(out.contains("Plan: 1 to add, 0 to change, 1 to destroy."));
}

#[test]
fn destroy_and_no_changes() {
    insta::assert_snapshot!(rendered(seed(), Some(live(seed())), Mode::Destroy));
    // A converged plan still ends with what the stack costs while it exists.
    let converged = rendered(seed(), Some(live(seed())), Mode::Converge);
    assert!(
        converged.starts_with("\nNo changes. AWS matches the stack file.\n\ncost: DynamoDB capacity, 10 read and 10 write units"),
        "{converged}"
    );
    assert_eq!(converged.lines().count(), 4, "{converged}");
}

#[test]
fn colour_is_only_used_when_asked() {
    let mut plain = Vec::new();
    human::header(&mut plain, &header(), Palette::new(false)).unwrap();
    assert!(!String::from_utf8(plain).unwrap().contains('\u{1b}'));
    let mut coloured = Vec::new();
    human::header(&mut coloured, &header(), Palette::new(true)).unwrap();
    assert!(String::from_utf8(coloured).unwrap().contains('\u{1b}'));
    assert!(!use_color(true, true), "--no-color wins");
    assert!(!use_color(false, false), "no colour off a terminal");
}

fn header() -> Header {
    Header {
        stack: "cruddur".into(),
        environment: "local".into(),
        account: "123456789012".into(),
        region: "ca-central-1".into(),
        endpoint: Some("http://127.0.0.1:4566".into()),
        notes: Vec::new(),
    }
}

#[test]
fn header_names_stack_environment_account_region_and_endpoint() {
    let mut out = Vec::new();
    human::header(&mut out, &header(), Palette::new(false)).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "stack cruddur · environment local · account 123456789012 · region ca-central-1 · endpoint http://127.0.0.1:4566\n"
    );
}

#[test]
fn the_engines_notes_follow_the_header_line_one_each() {
    let mut h = header();
    h.notes = vec!["only tables are managed here".into(), "no tags".into()];
    let mut out = Vec::new();
    human::header(&mut out, &h, Palette::new(false)).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[1..],
        ["note: only tables are managed here", "note: no tags"]
    );
}

#[test]
fn progress_lines() {
    let a = Address::table("messages");
    let events = [
        Event::Started {
            address: a.clone(),
            action: Action::Create,
        },
        Event::Waiting {
            address: a.clone(),
            what: "creating".into(),
            elapsed: Duration::from_secs(20),
            state: "CREATING".into(),
        },
        Event::Step {
            address: a.clone(),
            message: "creating index \"x\" (backfill)".into(),
        },
        Event::Finished {
            address: a.clone(),
            action: Action::Create,
            elapsed: Duration::from_secs(23),
        },
        Event::Failed {
            address: a,
            action: Action::Delete,
            error: "failed to DeleteTable for cruddur-messages: boom".into(),
        },
    ];
    let mut out = Vec::new();
    for e in &events {
        human::event(&mut out, e, Palette::new(false)).unwrap();
    }
    insta::assert_snapshot!(String::from_utf8(out).unwrap(), @r#"
    table.messages: Creating…
    table.messages: still creating… 20s (CREATING)
    table.messages: creating index "x" (backfill)…
    table.messages: Creation complete after 23s
    table.messages: Destruction failed: failed to DeleteTable for cruddur-messages: boom
    "#);
}

#[test]
fn the_summary_ends_with_how_long_the_changes_took() {
    let summary = |mode, failed| {
        let mut out = Vec::new();
        let plan = planned(seed(), None, mode);
        human::summary(
            &mut out,
            &plan,
            failed,
            Duration::from_millis(12_700),
            Palette::new(false),
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    };
    insta::assert_snapshot!(summary(Mode::Converge, 0), @r"
    Apply complete! Resources: 1 added, 0 changed, 0 destroyed.
    Elapsed: 12s
    ");
    insta::assert_snapshot!(summary(Mode::Converge, 1), @r"
    Apply failed: 1 of 1 changes did not complete (see the errors above).
    Elapsed: 12s
    ");
}
