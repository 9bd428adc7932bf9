//! Validation tests: each rule's message, place and fix, and that problems are collected.

use std::path::Path;

use super::*;
use crate::engine::Engine;
use crate::resources::dynamodb_table::{Billing, Projection, StreamView, Throughput};

fn load_str(text: &str) -> Result<Stack, StackError> {
    parse(Path::new("stack.yaml"), text)
}

fn errors(text: &str) -> String {
    load_str(text)
        .expect_err("stack should be rejected")
        .render(false)
}

const HEADER: &str = "name: cruddur\nenvironments:\n  local:\n    endpoint_url: http://127.0.0.1:4566\n    region: ca-central-1\n";

#[test]
fn the_seed_stack_is_valid_and_complete() {
    let stack = load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/stacks/cruddur.yaml"
    )))
    .expect("seed stack loads");
    assert_eq!(stack.name, "cruddur");
    assert_eq!(
        stack.environments["local"].endpoint_url.as_deref(),
        Some("http://127.0.0.1:4566")
    );
    assert_eq!(
        stack.environments["prod"].region.as_deref(),
        Some("ca-central-1")
    );
    assert_eq!(stack.environments["prod"].endpoint_url, None);
    let table = &stack.tables[0];
    assert_eq!(table.address.to_string(), "table.messages");
    assert_eq!(table.spec.name, "cruddur-messages");
    assert_eq!(table.spec.key.hash, "pk");
    assert_eq!(table.spec.key.range.as_deref(), Some("sk"));
    assert_eq!(
        table.spec.billing,
        Billing::Provisioned(Throughput { read: 5, write: 5 })
    );
    assert_eq!(table.spec.indexes[0].name, "message-group-sk-index");
    assert_eq!(table.spec.indexes[0].projection, Projection::All);
    assert_eq!(table.spec.stream, Some(StreamView::NewImage));
    assert_eq!(stack.environments["local"].engine, Engine::Aws);
    let ddb = &stack.environments["dynamodb-local"];
    assert_eq!(ddb.engine, Engine::DynamodbLocal);
    assert_eq!(ddb.endpoint_url.as_deref(), Some("http://127.0.0.1:8000"));
}

#[test]
fn an_unknown_engine_and_dynamodb_local_without_an_endpoint_are_errors_with_places() {
    let out = errors(
        "name: cruddur\nenvironments:\n  a:\n    region: ca-central-1\n    engine: localstack\n  b:\n    region: ca-central-1\n    engine: dynamodb-local\n",
    );
    assert!(
        out.contains("engine `localstack` is not one this tool knows"),
        "{out}"
    );
    assert!(out.contains("stack.yaml:5:13"), "the engine's place: {out}");
    assert!(
        out.contains("`aws`, `dynamodb-local`"),
        "the fix lists them: {out}"
    );
    assert!(
        out.contains("environment `b` runs on DynamoDB Local but names no endpoint"),
        "{out}"
    );
    assert!(
        out.contains("stack.yaml:6:3"),
        "the environment's place: {out}"
    );
    assert!(out.contains("endpoint_url: http://127.0.0.1:8000"), "{out}");
}

#[test]
fn on_dynamodb_local_only_tables_stay_and_their_tags_and_pitr_are_set_aside() {
    let mut stack = load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/stacks/cruddur.yaml"
    )))
    .expect("seed stack loads");
    let untouched = crate::resources::fit_to_engine(&mut stack, Engine::Aws);
    assert!(untouched.is_empty());
    assert_eq!(stack.roles.len(), 2);
    stack.tables[0].spec.point_in_time_recovery = true;
    let notes = crate::resources::fit_to_engine(&mut stack, Engine::DynamodbLocal);
    assert_eq!(
        notes,
        [
            "DynamoDB Local serves tables only: 2 roles, 1 DAX cluster, 1 function, 1 event source mapping, 1 VPC endpoint declared here are not read, planned or touched in this environment",
            "DynamoDB Local cannot hold `tags` or `point_in_time_recovery`: they are not compared or set here",
        ]
    );
    assert!(stack.roles.is_empty() && stack.functions.is_empty());
    assert!(stack.mappings.is_empty() && stack.endpoints.is_empty());
    let table = &stack.tables[0].spec;
    assert!(table.tags.is_empty() && !table.point_in_time_recovery);
    assert_eq!(
        table.name, "cruddur-messages",
        "the rest of the table is kept"
    );
    assert_eq!(table.indexes.len(), 1);
}

#[test]
fn three_mistakes_are_reported_together_with_places() {
    let text = format!(
        "{HEADER}tables:\n  messages:\n    name: ab\n    attributes:\n      pk: S\n      extra: S\n    key:\n      hash: pk\n    billing:\n      mode: PROVISIONED\n      read: 0\n      write: 5\n"
    );
    let out = errors(&text);
    insta::assert_snapshot!(out);
    assert!(out.contains("stack.yaml:8:11"), "table name place: {out}");
    assert!(
        out.contains("stack.yaml:11:7"),
        "unused attribute place: {out}"
    );
    assert!(out.contains("stack.yaml:16:13"), "capacity place: {out}");
    assert!(out.contains("due to 3 previous errors"));
}

#[test]
fn unknown_key_suggests_the_closest_one() {
    let text =
        format!("{HEADER}tables:\n  messages:\n    name: cruddur-messages\n    atributes: {{}}\n");
    let out = errors(&text);
    insta::assert_snapshot!(out);
    assert!(out.contains("did you mean `attributes`?"));
}

#[test]
fn wrong_type_names_the_place() {
    let text = format!(
        "{HEADER}tables:\n  t:\n    name: abc\n    attributes: {{pk: S}}\n    key: {{hash: pk}}\n    billing: {{mode: PROVISIONED, read: five, write: 1}}\n"
    );
    let out = errors(&text);
    assert!(out.contains("stack.yaml:11:"), "{out}");
    assert!(out.contains("help:"), "{out}");
}

#[test]
fn key_attribute_must_be_defined_and_typed() {
    let text = format!(
        "{HEADER}tables:\n  t:\n    name: abc\n    attributes: {{pk: X}}\n    key: {{hash: pk, range: sk}}\n    billing: {{mode: PAY_PER_REQUEST}}\n"
    );
    let out = errors(&text);
    insta::assert_snapshot!(out);
    assert!(out.contains("`X`, which cannot be a key"));
    assert!(out.contains("attribute `sk`, which is not defined"));
}

#[test]
fn on_demand_tables_take_no_capacity_and_include_needs_attributes() {
    let text = format!(
        "{HEADER}tables:\n  t:\n    name: abc\n    attributes: {{pk: S, g: S}}\n    key: {{hash: pk}}\n    billing: {{mode: PAY_PER_REQUEST, read: 5}}\n    global_secondary_indexes:\n      - name: by-g\n        key: {{hash: g}}\n        projection: INCLUDE\n"
    );
    let out = errors(&text);
    insta::assert_snapshot!(out);
    assert!(out.contains("billed per request"));
    assert!(out.contains("names no attributes"));
}

#[test]
fn provisioned_index_needs_capacity_and_names_are_checked() {
    let text = format!(
        "{HEADER}tables:\n  t:\n    name: bad name!\n    attributes: {{pk: S, g: S}}\n    key: {{hash: pk}}\n    billing: {{mode: PROVISIONED, read: 1, write: 1}}\n    stream: SOMETIMES\n    global_secondary_indexes:\n      - name: by-g\n        key: {{hash: g}}\n        projection: ALL\n"
    );
    let out = errors(&text);
    assert!(out.contains("characters AWS does not allow"), "{out}");
    assert!(
        out.contains("index `by-g` is provisioned but has no `read` capacity"),
        "{out}"
    );
    assert!(out.contains("stream view type `SOMETIMES`"), "{out}");
}

#[test]
fn more_than_twenty_indexes_are_rejected() {
    use std::fmt::Write as _;
    let mut text = format!(
        "{HEADER}tables:\n  t:\n    name: abc\n    attributes: {{pk: S}}\n    key: {{hash: pk}}\n    billing: {{mode: PAY_PER_REQUEST}}\n    global_secondary_indexes:\n"
    );
    for i in 0..21 {
        writeln!(
            text,
            "      - {{name: index-{i}, key: {{hash: pk}}, projection: KEYS_ONLY}}"
        )
        .unwrap();
    }
    let out = errors(&text);
    assert!(
        out.contains("declares 21 global secondary indexes"),
        "{out}"
    );
}

#[test]
fn reserved_tags_and_duplicate_keys_are_rejected() {
    let out = errors(&format!(
        "{HEADER}tables:\n  t:\n    name: abc\n    attributes: {{pk: S}}\n    key: {{hash: pk}}\n    billing: {{mode: PAY_PER_REQUEST}}\n    tags: {{\"cruddur-infra:stack\": other}}\n"
    ));
    assert!(
        out.contains("tag `cruddur-infra:stack` is reserved"),
        "{out}"
    );
    let out = errors(&format!(
        "{HEADER}tables:\n  t:\n    name: abc\n    name: abd\n"
    ));
    assert!(
        out.contains("`name` appears twice in this mapping"),
        "{out}"
    );
}

#[test]
fn empty_and_missing_files_are_clear() {
    assert!(errors("  \n").contains("stack file is empty"));
    let err = load(Path::new("does/not/exist.yaml")).expect_err("missing file");
    assert!(
        err.render(false)
            .contains("cannot read stack file `does/not/exist.yaml`")
    );
}

#[test]
fn unknown_environment_lists_the_declared_ones() {
    let stack = load_str(HEADER).expect("header alone is a valid stack");
    let out = stack
        .environment("staging")
        .expect_err("not declared")
        .render(false);
    assert!(
        out.contains("environment `staging` is not declared"),
        "{out}"
    );
    assert!(out.contains("declared environments: `local`"), "{out}");
}

#[test]
fn alias_bomb_is_rejected_not_expanded() {
    use std::fmt::Write as _;
    let mut text = String::from(
        "name: cruddur\nenvironments: {local: {}}\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..12 {
        let p = i - 1;
        writeln!(
            text,
            "x{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]"
        )
        .unwrap();
    }
    // A billion `lol`s if expanded; rejected at its first key instead.
    let out = errors(&text);
    assert!(out.contains("stack.yaml:3:1"), "{out}");
    assert!(out.contains("unknown field `x0`"), "{out}");
    let nested = format!("{HEADER}tables:\n  t:\n    name: abc\n    tags: *a1\n");
    assert!(
        errors(&nested).contains("stack.yaml:"),
        "an alias to an undefined anchor is an error with a place"
    );
}

const SEED_TAIL: &str = "tables:\n  messages:\n    name: cruddur-messages\n    attributes: {pk: S}\n    key: {hash: pk}\n    billing: {mode: PAY_PER_REQUEST}\n";

#[test]
fn references_to_undeclared_resources_are_errors_with_places() {
    let text = format!(
        "{HEADER}{SEED_TAIL}roles:\n  r:\n    name: role-a\n    trust: [lambda.amazonaws.com]\n    policies:\n      p:\n        - effect: Allow\n          actions: [dynamodb:Query]\n          resources: [\"${{table.nope.arn}}\", \"${{table.messages.stream_arn}}\"]\nfunctions:\n  f:\n    name: fn-a\n    runtime: python3.12\n    handler: h.h\n    source: src\n    role: missing\n    environment:\n      AWS_REGION: x\nevent_source_mappings:\n  m:\n    table: messages\n    function: f\n    starting_position: AT_TIMESTAMP\n"
    );
    let out = errors(&text);
    insta::assert_snapshot!(out);
    assert!(
        out.contains("refers to `table.nope`, which this stack does not declare"),
        "{out}"
    );
    assert!(out.contains("`table.messages` has none"), "{out}");
    assert!(out.contains("role `missing` is not declared"), "{out}");
    assert!(out.contains("`AWS_REGION` is reserved by Lambda"), "{out}");
    assert!(
        out.contains("table `messages` has no stream to read"),
        "{out}"
    );
    assert!(
        out.contains("`AT_TIMESTAMP` is not valid for DynamoDB streams"),
        "{out}"
    );
}

#[test]
fn endpoint_and_inline_policies_check_principals() {
    let text = format!(
        "{HEADER}{SEED_TAIL}roles:\n  r:\n    name: role-a\n    trust: [lambda]\n    policies:\n      p:\n        - effect: Allow\n          principal: \"*\"\n          actions: [Query]\n          resources: [\"*\"]\nvpc_endpoints:\n  e:\n    name: ddb\n    route_tables: somewhere\n    policy:\n      - effect: Maybe\n        actions: [\"*\"]\n        resources: [\"*\"]\n"
    );
    let out = errors(&text);
    assert!(out.contains("`lambda` is not a service principal"), "{out}");
    assert!(
        out.contains("a role's inline policy cannot name a principal"),
        "{out}"
    );
    assert!(
        out.contains("action `Query` has no service prefix"),
        "{out}"
    );
    assert!(out.contains("route_tables `somewhere`"), "{out}");
    assert!(out.contains("effect `Maybe`"), "{out}");
    assert!(
        out.contains("an endpoint policy statement needs a principal"),
        "{out}"
    );
}

/// A bounded property test of the loader: thousands of mutations of the seed stack (bytes
/// flipped, ranges cut, lines repeated, junk inserted) must each load or fail with
/// diagnostics, never panic. Set `CRUDDUR_TEST_SEED` to replay.
#[test]
fn mutated_stacks_never_panic_the_loader() {
    let seed = std::env::var("CRUDDUR_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_121);
    eprintln!("random seed: {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let base = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/cruddur.yaml"))
        .unwrap();
    let junk = [
        "{",
        "}",
        "[",
        "]",
        ":",
        "- ",
        "&a ",
        "*a",
        "!!binary ",
        "\t",
        "\"",
        "'",
        "#",
        "${",
        "\u{0}",
        "é",
        "\n  ",
    ];
    let (mut ok, mut rejected) = (0, 0);
    for _ in 0..3000 {
        let mut bytes = base.clone().into_bytes();
        for _ in 0..rng.usize(1..6) {
            let at = rng.usize(0..bytes.len().max(1));
            match rng.u8(0..4) {
                0 => {
                    let i = at.min(bytes.len() - 1);
                    bytes[i] = rng.u8(..);
                }
                1 => {
                    let end = (at + rng.usize(0..40)).min(bytes.len());
                    bytes.drain(at..end);
                }
                2 => {
                    let piece = junk[rng.usize(0..junk.len())].as_bytes();
                    bytes.splice(at..at, piece.iter().copied());
                }
                _ => {
                    let line: Vec<u8> = bytes[at..]
                        .iter()
                        .take_while(|b| **b != b'\n')
                        .copied()
                        .collect();
                    bytes.splice(at..at, line);
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        match parse(Path::new("fuzz.yaml"), &text) {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(!e.diagnostics.is_empty());
                let _ = e.render(false);
                rejected += 1;
            }
        }
    }
    assert!(
        rejected > 1000 && ok > 0,
        "mutations exercised both paths: {ok} loaded, {rejected} rejected"
    );
}

#[test]
fn more_than_ten_managed_policies_on_a_role_are_rejected_at_the_eleventh() {
    // Guards issue 8.11: IAM allows 10 managed policies per role; the 11th attach would
    // fail halfway through an apply.
    let arns: Vec<String> = (0..11)
        .map(|i| format!("      - arn:aws:iam::aws:policy/P{i}"))
        .collect();
    let arns = arns.join("\n");
    let text = format!(
        "{HEADER}roles:\n  r:\n    name: r\n    trust: [lambda.amazonaws.com]\n    managed_policies:\n{arns}"
    );
    let out = errors(&text);
    assert!(out.contains("attaches 11 managed policies"), "{out}");
    assert!(out.contains("at most 10 per role"), "{out}");
    assert!(
        out.contains("stack.yaml:21:") && out.contains("- arn:aws:iam::aws:policy/P10"),
        "points at the 11th: {out}"
    );
}
