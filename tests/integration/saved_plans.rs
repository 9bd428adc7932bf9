//! Saved plans, JSON plans and `--target`, through the binary on moto: `plan --out` then
//! `apply --plan` with no prompt; refusals naming what moved (capacity out of band, the
//! stack file, the handler); `plan --json` against `schemas/plan.schema.json` for every
//! action, with no secret written; targets on plan and destroy.

use std::path::Path;

use serde_json::Value;

use crate::harness::{Output, Run, block_on, dynamodb, emulator, private_emulator, sdk_config_for};
use crate::seed::{SeedCopy, seed_copy};

fn run(copy: &SeedCopy, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    let url = &emulator().url;
    all.extend(["--endpoint-url", url.as_str()]);
    Run::new(&copy.stack, &all).run()
}

fn read_capacity(table: &str) -> i64 {
    block_on(async {
        dynamodb()
            .describe_table()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .table
            .unwrap()
            .provisioned_throughput
            .unwrap()
            .read_capacity_units
            .unwrap()
    })
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} is not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// The table's billing block as the seed stack writes it, and the same with `read`.
const CAPACITY_5: &str = "      mode: PROVISIONED\n      read: 5\n";
fn capacity(read: i64) -> String {
    format!("      mode: PROVISIONED\n      read: {read}\n")
}

#[test]
fn a_saved_plan_applies_without_asking_and_is_refused_when_aws_the_stack_or_the_handler_moved() {
    let copy = seed_copy("it-saved");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p");
    let p = p.to_str().unwrap();

    let plan = run(&copy, &["plan", "--out", p]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout.contains(&format!(
            "Saved the plan to {p}. To apply exactly this plan, run:\n    cruddur-infra apply --plan {p}"
        )),
        "{plan:?}"
    );
    let show = Run::new(&copy.stack, &["show", p]).run();
    assert_eq!(show.code, 0, "{show:?}");
    assert!(
        show.stdout.contains("Saved plan (converge)") && show.stdout.contains("Plan: 5 to add"),
        "{show:?}"
    );
    // No `--yes`, no terminal: only a saved plan applies without asking.
    let apply = run(&copy, &["apply", "--plan", p]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(apply.stdout.contains("Apply complete!"), "{apply:?}");
    assert_eq!(run(&copy, &["plan", "--detailed-exitcode"]).code, 0);

    // A capacity change planned, then made otherwise out of band before the apply.
    edit(&copy.stack, CAPACITY_5, &capacity(10));
    let plan = run(&copy, &["plan", "--out", p]);
    assert_eq!(plan.code, 0, "{plan:?}");
    crate::harness::set_capacity(&emulator().url, "it-saved-messages", 7, 5);
    let refused = run(&copy, &["apply", "--plan", p]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("table.messages: `billing.read` was 5 when the plan was made; AWS now has 7")
            && refused.stderr.contains("nothing was changed"),
        "{refused:?}"
    );
    assert_eq!(read_capacity("it-saved-messages"), 7);

    // The stack file edited after the plan.
    let plan = run(&copy, &["plan", "--out", p]);
    assert_eq!(plan.code, 0, "{plan:?}");
    edit(&copy.stack, &capacity(10), &capacity(11));
    let refused = run(&copy, &["apply", "--plan", p]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("was edited since the plan was made"),
        "{refused:?}"
    );
    assert_eq!(read_capacity("it-saved-messages"), 7);

    // The handler edited after the plan.
    let plan = run(&copy, &["plan", "--out", p]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let handler = std::fs::read_to_string(&copy.handler).unwrap();
    std::fs::write(&copy.handler, format!("{handler}\n# edited\n")).unwrap();
    let refused = run(&copy, &["apply", "--plan", p]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("the package of function.messaging_stream")
            && refused.stderr.contains("changed since the plan was made"),
        "{refused:?}"
    );
    assert_eq!(read_capacity("it-saved-messages"), 7);

    // Put back, the same saved plan applies: exactly it, and the next plan is empty.
    std::fs::write(&copy.handler, handler).unwrap();
    let apply = run(&copy, &["apply", "--plan", p]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert_eq!(read_capacity("it-saved-messages"), 11);
    assert_eq!(run(&copy, &["plan", "--detailed-exitcode"]).code, 0);
    assert_eq!(run(&copy, &["destroy", "--yes"]).code, 0);
}

/// Validates `doc` against `schemas/plan.schema.json` with Python's `jsonschema` (the
/// project's venv), answering the validator's complaint, if any.
fn schema_errors(doc: &str) -> Option<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "the venv with jsonschema is missing ({}): run `scripts/test`",
        python.display()
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), doc).unwrap();
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft202012Validator.check_schema(schema)\n\
             jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))",
        ])
        .arg(root.join("schemas/plan.schema.json"))
        .arg(file.path())
        .output()
        .expect("run python");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "jsonschema is not installed in the venv: run `scripts/test`\n{stderr}"
    );
    (!out.status.success()).then_some(stderr)
}

fn actions(doc: &Value) -> Vec<(String, String)> {
    doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn json_plans_of_every_action_validate_against_the_committed_schema_and_hold_no_secret() {
    let copy = seed_copy("it-json");
    let secret = "tok-3f9a-never-written";
    edit(
        &copy.stack,
        "    timeout: 10\n",
        &format!("    timeout: 10\n    secret_environment:\n      API_TOKEN: {secret}\n"),
    );
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("p");
    let saved_arg = saved.to_str().unwrap();
    let check = |args: &[&str], want: &[(&str, &str)]| -> Value {
        let mut all = vec!["plan", "--json", "--out", saved_arg];
        all.extend(args);
        let out = run(&copy, &all);
        assert_eq!(out.code, 0, "{out:?}");
        assert!(!out.stdout.contains(secret), "{}", out.stdout);
        let file = std::fs::read_to_string(&saved).unwrap();
        assert!(!file.contains(secret), "{file}");
        assert_eq!(file, out.stdout, "the saved plan is the JSON printed");
        assert_eq!(schema_errors(&out.stdout), None);
        let doc: Value = serde_json::from_str(&out.stdout).unwrap();
        let got = actions(&doc);
        for (address, action) in want {
            assert!(
                got.iter().any(|(a, b)| a == address && b == action),
                "{address} {action} not in {got:?}"
            );
        }
        let show = Run::new(&copy.stack, &["show", saved_arg, "--json"]).run();
        assert_eq!(show.stdout, out.stdout, "{show:?}");
        doc
    };

    let create = check(
        &[],
        &[
            ("table.messages", "create"),
            ("function.messaging_stream", "create"),
        ],
    );
    let env = create["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "function.messaging_stream")
        .unwrap()["diffs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"].as_str().unwrap().contains("API_TOKEN"))
        .cloned()
        .expect("the secret's field is planned");
    assert_eq!(
        env["new"],
        serde_json::json!({"type": "sensitive"}),
        "{env}"
    );
    // The new stream's ARN is not known before apply: marked, not guessed.
    assert!(
        create.to_string().contains(r#"{"type":"unknown"}"#),
        "{create}"
    );
    assert_eq!(run(&copy, &["apply", "--yes"]).code, 0);

    // Update: a capacity and the secret itself.
    edit(&copy.stack, CAPACITY_5, &capacity(6));
    edit(&copy.stack, secret, &format!("{secret}-2"));
    check(
        &[],
        &[
            ("table.messages", "update"),
            ("function.messaging_stream", "update"),
        ],
    );
    // A secret taken out of the file is still a secret in AWS: its live value stays out.
    edit(
        &copy.stack,
        &format!("    secret_environment:\n      API_TOKEN: {secret}-2\n"),
        "",
    );
    check(&[], &[("function.messaging_stream", "update")]);
    // Replace: the table's sort key goes.
    edit(
        &copy.stack,
        "      hash: pk\n      range: sk\n",
        "      hash: pk\n",
    );
    let replace = check(&[], &[("table.messages", "replace")]);
    let table = &replace["changes"][0];
    assert_eq!(
        table["replace_reasons"],
        serde_json::json!(["key.range"]),
        "{table}"
    );
    // Destroy.
    check(
        &["--destroy"],
        &[
            ("table.messages", "delete"),
            ("function.messaging_stream", "delete"),
        ],
    );
    assert_eq!(run(&copy, &["destroy", "--yes"]).code, 0);

    // The validator does reject what breaks the schema.
    let mut bad = replace.clone();
    bad["changes"][0]["action"] = "explode".into();
    let why = schema_errors(&bad.to_string()).expect("an unknown action is refused");
    assert!(
        why.contains("ValidationError") && why.contains("'explode'"),
        "{why}"
    );
    let mut bad = replace;
    bad["changes"][0]["diffs"][0]["old"] = serde_json::json!({"type": "sensitive", "value": "x"});
    let why = schema_errors(&bad.to_string()).expect("a secret's value is refused");
    assert!(
        why.contains("ValidationError") && why.contains("'x'"),
        "{why}"
    );
}

#[test]
fn a_target_plans_only_its_resource_and_a_targeted_destroy_takes_what_depends_on_it() {
    let copy = seed_copy("it-target");
    let plan = run(&copy, &["plan", "--json", "--target", "table.messages"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stderr.contains("warning: --target"), "{plan:?}");
    let doc: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(
        actions(&doc),
        [("table.messages".to_string(), "create".to_string())]
    );

    let unknown = run(&copy, &["plan", "--target", "table.mesages"]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(
        unknown.stderr.contains("did you mean `table.messages`?")
            && unknown.stderr.contains("function.messaging_stream"),
        "{unknown:?}"
    );

    assert_eq!(run(&copy, &["apply", "--yes"]).code, 0);
    let destroy = run(
        &copy,
        &["destroy", "--yes", "--target", "function.messaging_stream"],
    );
    assert_eq!(destroy.code, 0, "{destroy:?}");
    // What is left to create again is exactly what went: the function, its log group and
    // the mapping on it; the table and the role stayed.
    let after = run(&copy, &["plan", "--json"]);
    let doc: Value = serde_json::from_str(&after.stdout).unwrap();
    let mut got = actions(&doc);
    got.sort();
    assert_eq!(
        got,
        [
            (
                "event_source_mapping.messages_stream".into(),
                "create".into()
            ),
            ("function.messaging_stream".into(), "create".into()),
            ("log_group.messaging_stream".into(), "create".into()),
        ]
    );
    assert_eq!(run(&copy, &["destroy", "--yes"]).code, 0);
}

#[test]
fn a_saved_plan_keeps_its_targets_its_verb_and_its_place() {
    let copy = seed_copy("it-saved-where");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p");
    let p = p.to_str().unwrap();

    // Made for one emulator, applied against another: refused before the lock, which
    // would write (the lock table), so that emulator is left untouched.
    let plan = run(&copy, &["plan", "--target", "table.messages", "--out", p]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let elsewhere = private_emulator();
    let refused = Run::new(
        &copy.stack,
        &["apply", "--plan", p, "--endpoint-url", &elsewhere.url],
    )
    .run();
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("this run points at account")
            && refused.stderr.contains(&elsewhere.url)
            && refused.stderr.contains("--target table.messages --out"),
        "{refused:?}"
    );
    let tables = block_on(async {
        aws_sdk_dynamodb::Client::new(&sdk_config_for(&elsewhere.url))
            .list_tables()
            .send()
            .await
            .unwrap()
            .table_names
            .unwrap_or_default()
    });
    assert!(tables.is_empty(), "nothing written elsewhere: {tables:?}");

    // Applied where it was made, the targeted plan changes the table alone.
    let apply = run(&copy, &["apply", "--plan", p]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 1 added, 0 changed, 0 destroyed."),
        "{apply:?}"
    );
    let after = run(&copy, &["plan", "--json"]);
    let doc: Value = serde_json::from_str(&after.stdout).unwrap();
    assert!(
        !actions(&doc).iter().any(|(a, _)| a == "table.messages"),
        "{doc}"
    );

    // A destroy plan is applied by `destroy --plan` only.
    let plan = run(&copy, &["plan", "--destroy", "--out", p]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let refused = run(&copy, &["apply", "--plan", p]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("it destroys the stack; run `destroy --plan`"),
        "{refused:?}"
    );
    let destroy = run(&copy, &["destroy", "--plan", p]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    let after = run(&copy, &["plan", "--destroy", "--detailed-exitcode"]);
    assert_eq!(after.code, 0, "{after:?}");
}
