//! Ownership, adoption, data-loss guards and the apply lock, end to end.

use std::process::{Command, Stdio};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::harness::proxy::ProxyConfig;
use crate::harness::{StackFile, block_on, dynamodb, emulator, one_table_stack, start_proxy};
use crate::tables::{describe, tags};

pub(crate) const ON_DEMAND: &str =
    "    attributes: {pk: S}\n    key: {hash: pk}\n    billing: {mode: PAY_PER_REQUEST}\n";

#[test]
fn a_hand_made_table_stops_plan_survives_destroy_and_can_be_adopted() {
    let name = "it-adopt-messages";
    block_on(async { crate::harness::hand_made_table(&dynamodb(), name).await });
    let file = StackFile::new(&one_table_stack(
        "adopt",
        name,
        &format!("{ON_DEMAND}    tags: {{app: cruddur}}\n"),
    ));
    let plan = file.run(&["plan"]);
    assert_eq!(plan.code, 1);
    assert!(
        plan.stderr
            .contains(&format!("`{name}` already exists and is owned by no stack")),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr
            .contains("cruddur-infra adopt <env> table.messages"),
        "{}",
        plan.stderr
    );
    assert_eq!(file.run(&["destroy", "--yes"]).code, 0);
    assert!(
        block_on(describe(name)).is_some(),
        "destroy left the unowned table alone"
    );

    let adopt = file.run(&["adopt", "table.messages"]);
    assert_eq!(adopt.code, 1, "no terminal and no --yes: refused");
    let adopt = file.run(&["adopt", "local", "table.messages", "--yes"]);
    assert_eq!(adopt.code, 0, "{adopt:?}");
    assert!(
        adopt.stdout.contains("+ tags[\"app\"]"),
        "adopt shows what the next apply changes: {}",
        adopt.stdout
    );
    let arn = block_on(describe(name))
        .unwrap()
        .table_arn()
        .unwrap()
        .to_string();
    assert!(block_on(tags(&arn)).contains(&("cruddur-infra:stack".into(), "adopt".into())));
    assert!(
        file.run(&["adopt", "table.messages", "--yes"])
            .stdout
            .contains("already owned")
    );
    assert_eq!(file.run(&["apply", "--yes"]).code, 0);
    assert_eq!(file.run(&["plan", "--detailed-exitcode"]).code, 0);
    assert_eq!(file.run(&["destroy", "--yes"]).code, 0);
    assert!(block_on(describe(name)).is_none());
}

#[test]
fn a_disabled_address_is_never_adopted_so_the_next_apply_cannot_delete_a_hand_made_table() {
    // Guards issue 21: adopting a disabled entry tagged the table as the stack's, and the
    // next apply deleted it as owned but unwanted in this environment.
    let name = "it-adopt-disabled";
    block_on(async { crate::harness::hand_made_table(&dynamodb(), name).await });
    let file = StackFile::new(&one_table_stack(
        "adoptoff",
        name,
        &format!("{ON_DEMAND}    enabled: false\n"),
    ));
    let adopt = file.run(&["adopt", "local", "table.messages", "--yes"]);
    assert_eq!(adopt.code, 1, "{adopt:?}");
    assert!(
        adopt
            .stderr
            .contains("table.messages is disabled in environment `local`, so adopting it would let the next `apply` delete it"),
        "{}",
        adopt.stderr
    );
    let arn = block_on(describe(name))
        .unwrap()
        .table_arn()
        .unwrap()
        .to_string();
    assert!(block_on(tags(&arn)).is_empty(), "not tagged");
    assert_eq!(file.run(&["apply", "--yes"]).code, 0);
    assert!(
        block_on(describe(name)).is_some(),
        "the hand-made table stays"
    );
    block_on(async {
        dynamodb()
            .delete_table()
            .table_name(name)
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn a_table_with_items_is_destroyed_only_with_allow_data_loss_and_backup_keeps_a_copy() {
    let name = "it-dataloss-messages";
    let file = StackFile::new(&one_table_stack("dataloss", name, ON_DEMAND));
    assert_eq!(file.run(&["apply", "--yes"]).code, 0);
    block_on(async {
        dynamodb()
            .put_item()
            .table_name(name)
            .item("pk", AttributeValue::S("MSG#1".into()))
            .send()
            .await
            .unwrap()
    });
    let refused = file.run(&["destroy", "--yes"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("deletes tables that hold items"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--allow-data-loss"));
    assert!(block_on(describe(name)).is_some(), "nothing was deleted");
    let done = file.run(&["destroy", "--yes", "--allow-data-loss", "--backup"]);
    assert_eq!(done.code, 0, "{done:?}");
    let line = done
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("Backup of `{name}`: arn:aws:dynamodb:")))
        .expect("backup ARN printed");
    let arn = line.rsplit(' ').next().unwrap();
    let backup = block_on(async { dynamodb().describe_backup().backup_arn(arn).send().await });
    assert!(backup.is_ok(), "the backup exists: {backup:?}");
    assert!(block_on(describe(name)).is_none());
}

/// Spawns the binary through the proxy; `app` names the run in its User-Agent, so the proxy
/// tells the calls of concurrent runs apart.
fn spawn(file: &StackFile, proxy_url: &str, app: &str, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_cruddur-infra"))
        .arg("--stack")
        .arg(&file.path)
        .args(args)
        .args(["--endpoint-url", proxy_url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/cruddur-infra-tests")
        .env("NO_COLOR", "1")
        .env("CRUDDUR_INFRA_LOCK_LEASE_SECONDS", "3")
        .env("AWS_SDK_UA_APP_ID", app)
        .spawn()
        .unwrap()
}

#[test]
fn two_concurrent_applies_never_interleave_and_the_end_state_is_right() {
    let name = "it-lock-messages";
    let file = StackFile::new(&one_table_stack("lock", name, ON_DEMAND));
    // Latency makes the two runs overlap.
    let proxy = start_proxy(ProxyConfig {
        upstream: emulator().url.clone(),
        latency: Duration::from_millis(40),
        fault_rate: 0.0,
        lost_write_rate: 0.0,
        seed: 1,
    });
    let a = spawn(&file, &proxy.url, "run-a", &["apply", "--yes"]);
    let b = spawn(&file, &proxy.url, "run-b", &["apply", "--yes"]);
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let codes: Vec<i32> = outs.iter().map(|o| o.status.code().unwrap_or(-1)).collect();
    assert!(codes.contains(&0), "one apply succeeds: {outs:?}");
    for o in outs.iter().filter(|o| o.status.code() != Some(0)) {
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains("is locked by") || e.contains("AWS changed while this run waited"),
            "the other one names the lock: {e}"
        );
    }
    // The stack's write calls of the two runs never overlap: each run's writes (the lock
    // table's aside) span one window, and the windows are disjoint.
    let stats = proxy.stats.lock().unwrap();
    let window = |app: &str| {
        let writes: Vec<_> = stats
            .calls
            .iter()
            .filter(|c| c.app == app && c.write && !c.excerpt.contains("cruddur-infra-locks"))
            .collect();
        let first = writes.iter().map(|c| c.start).min();
        let last = writes.iter().map(|c| c.end).max();
        first.zip(last)
    };
    assert!(
        stats
            .calls
            .iter()
            .all(|c| c.app == "run-a" || c.app == "run-b"),
        "every call names its run"
    );
    let windows: Vec<_> = ["run-a", "run-b"].into_iter().filter_map(window).collect();
    assert!(!windows.is_empty(), "the winner wrote");
    if let [a, b] = windows.as_slice() {
        assert!(
            a.1 <= b.0 || b.1 <= a.0,
            "the two runs wrote at the same time: {a:?} and {b:?}"
        );
    }
    drop(stats);
    let tables = block_on(async { dynamodb().list_tables().send().await.unwrap() });
    assert_eq!(
        tables.table_names().iter().filter(|t| *t == name).count(),
        1
    );
    assert_eq!(file.run(&["plan", "--detailed-exitcode"]).code, 0);
    assert_eq!(file.run(&["destroy", "--yes"]).code, 0);
}

#[test]
fn resources_the_stack_owns_but_no_longer_declares_are_planned_for_deletion() {
    let copy = crate::seed::seed_copy("it-orphan");
    let url = emulator().url.clone();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", url.as_str()]);
        crate::harness::Run::new(&copy.stack, &all).run()
    };
    assert_eq!(run(&["apply", "--yes"]).code, 0);
    // Drop the function and its mapping from the file.
    let text = std::fs::read_to_string(&copy.stack).unwrap();
    let kept = text.split("\nfunctions:").next().unwrap().to_string();
    std::fs::write(&copy.stack, kept).unwrap();
    let plan = run(&["plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("# function.it-orphan-fn will be destroyed: no longer declared"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 1 to destroy."),
        "{}",
        plan.stdout
    );
    assert_eq!(run(&["apply", "--yes"]).code, 0);
    block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&crate::harness::sdk_config());
        assert!(
            lambda
                .get_function()
                .function_name("it-orphan-fn")
                .send()
                .await
                .is_err(),
            "function deleted"
        );
        let arn = "arn:aws:lambda:ca-central-1:123456789012:function:it-orphan-fn";
        let mappings = lambda.list_event_source_mappings().send().await.unwrap();
        assert!(
            !mappings
                .event_source_mappings()
                .iter()
                .any(|m| m.function_arn() == Some(arn)),
            "its mapping went with it"
        );
    });
    assert_eq!(run(&["plan", "--detailed-exitcode"]).code, 0);
    assert_eq!(run(&["destroy", "--yes"]).code, 0);
}

/// Puts one item into `table` straight through the SDK.
fn put_one(table: &str) {
    block_on(async {
        dynamodb()
            .put_item()
            .table_name(table)
            .item("pk", AttributeValue::S("MSG#1".into()))
            .item("sk", AttributeValue::S("2026-11-22".into()))
            .send()
            .await
            .unwrap()
    });
}

/// The backup ARN a run printed for `table`, checked to exist and to be of that table.
fn backup_of(stdout: &str, table: &str) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("Backup of `{table}`: arn:aws:dynamodb:")))
        .unwrap_or_else(|| panic!("backup ARN of {table} printed: {stdout}"));
    let arn = line.rsplit(' ').next().unwrap();
    let backup = block_on(async { dynamodb().describe_backup().backup_arn(arn).send().await })
        .expect("the backup exists");
    let details = backup
        .backup_description()
        .and_then(|d| d.source_table_details());
    assert_eq!(
        details.map(aws_sdk_dynamodb::types::SourceTableDetails::table_name),
        Some(table)
    );
}

#[test]
fn renaming_a_table_with_items_is_refused_unless_data_loss_is_allowed_and_backup_keeps_it() {
    // Guards issue 8.1: renaming the table made the old one a "no longer declared" stray,
    // which apply deleted with its items without asking.
    let copy = crate::seed::seed_copy("it-rename");
    let url = emulator().url.clone();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", url.as_str()]);
        crate::harness::Run::new(&copy.stack, &all).run()
    };
    assert_eq!(run(&["apply", "prod", "--yes"]).code, 0);
    put_one("it-rename-messages");
    let text = std::fs::read_to_string(&copy.stack).unwrap();
    std::fs::write(
        &copy.stack,
        text.replace(
            "name: it-rename-messages\n",
            "name: it-rename-messages-v2\n",
        ),
    )
    .unwrap();
    let refused = run(&["apply", "prod", "--yes"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains(
            "deletes tables that hold items: table.it-rename-messages (`it-rename-messages`)"
        ),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--allow-data-loss"),
        "{}",
        refused.stderr
    );
    assert!(
        block_on(describe("it-rename-messages")).is_some(),
        "the old table is still there"
    );
    assert!(
        block_on(describe("it-rename-messages-v2")).is_none(),
        "nothing was changed: the new table was not created either"
    );
    let done = run(&["apply", "prod", "--yes", "--allow-data-loss", "--backup"]);
    assert_eq!(done.code, 0, "{done:?}");
    backup_of(&done.stdout, "it-rename-messages");
    assert!(block_on(describe("it-rename-messages")).is_none());
    assert!(block_on(describe("it-rename-messages-v2")).is_some());
    assert_eq!(run(&["plan", "prod", "--detailed-exitcode"]).code, 0);
    assert_eq!(run(&["destroy", "prod", "--yes"]).code, 0);
}

#[test]
fn removing_a_table_with_items_from_the_file_is_refused_unless_data_loss_is_allowed() {
    // Guards issue 8.1: a table removed from the file goes through the same guard and the
    // same backup as one destroyed or replaced.
    let two = format!(
        "{}  archive:\n    name: it-removed-archive\n{ON_DEMAND}",
        one_table_stack("removed", "it-removed-messages", ON_DEMAND)
    );
    let file = StackFile::new(&two);
    assert_eq!(file.run(&["apply", "--yes"]).code, 0);
    put_one("it-removed-archive");
    file.rewrite(&one_table_stack(
        "removed",
        "it-removed-messages",
        ON_DEMAND,
    ));
    let plan = file.run(&["plan"]);
    assert!(
        plan.stdout
            .contains("table.it-removed-archive: deleting `it-removed-archive` loses its items")
            || plan.stdout.contains("no longer declared"),
        "{}",
        plan.stdout
    );
    let refused = file.run(&["apply", "--yes"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("`it-removed-archive`"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--allow-data-loss"),
        "{}",
        refused.stderr
    );
    assert!(
        block_on(describe("it-removed-archive")).is_some(),
        "nothing was deleted"
    );
    let done = file.run(&["apply", "--yes", "--allow-data-loss", "--backup"]);
    assert_eq!(done.code, 0, "{done:?}");
    backup_of(&done.stdout, "it-removed-archive");
    assert!(block_on(describe("it-removed-archive")).is_none());
    assert_eq!(file.run(&["plan", "--detailed-exitcode"]).code, 0);
    assert_eq!(file.run(&["destroy", "--yes"]).code, 0);
}

#[test]
fn a_stray_the_tagging_api_still_lists_after_it_was_deleted_is_not_planned() {
    // Guards issue 8.10: the Resource Groups Tagging API lists deleted resources for a
    // while; a listed stray that does not exist is nothing to delete. The proxy plays
    // AWS's stale listing (moto's is always current).
    let proxy = start_proxy(crate::harness::passthrough(&emulator().url));
    let file = StackFile::new(&one_table_stack("stale", "it-stale-messages", ON_DEMAND));
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", proxy.url.as_str()]);
        crate::harness::Run::new(&file.path, &all).run()
    };
    assert_eq!(run(&["apply", "--yes"]).code, 0);
    proxy.stale_tagged.lock().unwrap().extend([
        (
            "arn:aws:dynamodb:ca-central-1:123456789012:table/it-stale-gone".to_string(),
            "stale".to_string(),
        ),
        (
            "arn:aws:lambda:ca-central-1:123456789012:function:it-stale-gone-fn".to_string(),
            "stale".to_string(),
        ),
    ]);
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        !plan.stdout.contains("no longer declared"),
        "{}",
        plan.stdout
    );
    let listed = proxy
        .stats
        .lock()
        .unwrap()
        .clean()
        .filter(|c| c.op == "GetResources")
        .count();
    assert!(listed >= 1, "the stale listing was served");
    assert_eq!(run(&["destroy", "--yes"]).code, 0);
}

#[test]
fn a_table_the_tagging_api_does_not_list_yet_is_still_owned_through_its_own_tag_read() {
    // Issue 23: the tables' tags come from the stack's one Tagging API listing, which lags
    // behind a table created minutes ago. A table it does not list is read on its own:
    // still owned, so the plan is empty, neither refused nor a change.
    let proxy = start_proxy(crate::harness::passthrough(&emulator().url));
    let file = StackFile::new(&one_table_stack(
        "lagging",
        "it-lagging-messages",
        ON_DEMAND,
    ));
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", proxy.url.as_str()]);
        crate::harness::Run::new(&file.path, &all).run()
    };
    assert_eq!(run(&["apply", "--yes"]).code, 0);
    let tag_reads = || {
        proxy
            .stats
            .lock()
            .unwrap()
            .clean()
            .filter(|c| c.op == "ListTagsOfResource")
            .count()
    };
    let before = tag_reads();
    let listed = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    assert_eq!(tag_reads(), before, "listed: no tag read of its own");
    proxy
        .lagging_tagged
        .lock()
        .unwrap()
        .push("arn:aws:dynamodb:ca-central-1:123456789012:table/it-lagging-messages".into());
    let lagging = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(lagging.code, 0, "{lagging:?}");
    assert_eq!(tag_reads(), before + 1, "not listed: its own tag read");
    assert_eq!(run(&["destroy", "--yes"]).code, 0);
}

#[test]
fn a_lagging_listing_that_still_names_the_stack_never_lets_it_change_or_delete_a_hand_made_table() {
    // The Tagging API may still list a table of the stack that was deleted and made again
    // by hand under the same name (so the same ARN). The listing may spare a plan a tag
    // read, never prove ownership for a write: the re-read under the lock and every
    // deletion read the table's own tags.
    let name = "it-relisted-messages";
    block_on(async { crate::harness::hand_made_table(&dynamodb(), name).await });
    let proxy = start_proxy(crate::harness::passthrough(&emulator().url));
    proxy.stale_tagged.lock().unwrap().push((
        format!("arn:aws:dynamodb:ca-central-1:123456789012:table/{name}"),
        "relisted".to_string(),
    ));
    let body = "    attributes: {pk: S}\n    key: {hash: pk}\n    billing: {mode: PROVISIONED, read: 2, write: 2}\n";
    let file = StackFile::new(&one_table_stack("relisted", name, body));
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", proxy.url.as_str()]);
        crate::harness::Run::new(&file.path, &all).run()
    };
    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 1, "{apply:?}");
    assert!(
        apply
            .stderr
            .contains("is owned by no stack, not by this stack"),
        "{apply:?}"
    );
    let destroy = run(&["destroy", "--yes"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert!(
        destroy
            .stdout
            .contains("is not owned by stack `relisted`; left in place"),
        "{destroy:?}"
    );
    let table = block_on(describe(name)).expect("the hand-made table is still there");
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str().to_string()),
        Some("PAY_PER_REQUEST".to_string()),
        "and unchanged"
    );
    block_on(async {
        dynamodb()
            .delete_table()
            .table_name(name)
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn a_renamed_role_is_deleted_as_a_stray_with_its_policies_and_a_role_made_by_hand_is_not() {
    // Guards issue 21: roles were never found as strays, so a role renamed in the file
    // stayed in the account forever, with its trust policy and permissions.
    let copy = crate::seed::seed_copy("it-rolestray");
    let url = emulator().url.clone();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", url.as_str()]);
        crate::harness::Run::new(&copy.stack, &all).run()
    };
    let iam = aws_sdk_iam::Client::new(&crate::harness::sdk_config());
    let exists =
        |name: &str| block_on(async { iam.get_role().role_name(name).send().await.is_ok() });
    // A role made by hand with the name a stack could use: never a stray of it.
    block_on(async {
        iam.create_role()
            .role_name("it-rolestray-by-hand")
            .assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            )
            .send()
            .await
            .unwrap()
    });
    assert_eq!(run(&["apply", "--yes"]).code, 0);
    assert!(exists("it-rolestray-role"));
    // A role created before records were kept has its tag only: `adopt` writes its record.
    let record = || {
        block_on(async {
            dynamodb()
                .get_item()
                .table_name("cruddur-infra-locks")
                .key(
                    "pk",
                    AttributeValue::S("owner#role#it-rolestray-role".into()),
                )
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item
                .is_some()
        })
    };
    assert!(record(), "written before CreateRole");
    block_on(async {
        dynamodb()
            .delete_item()
            .table_name("cruddur-infra-locks")
            .key(
                "pk",
                AttributeValue::S("owner#role#it-rolestray-role".into()),
            )
            .send()
            .await
            .unwrap()
    });
    let adopted = run(&["adopt", "role.messaging_stream", "--yes"]);
    assert_eq!(adopted.code, 0, "{adopted:?}");
    assert!(
        adopted
            .stdout
            .contains("already owned by stack `it-rolestray`; its ownership record"),
        "{}",
        adopted.stdout
    );
    assert!(record(), "written by adopt");
    let text = std::fs::read_to_string(&copy.stack).unwrap();
    std::fs::write(
        &copy.stack,
        text.replace("name: it-rolestray-role\n", "name: it-rolestray-role-v2\n"),
    )
    .unwrap();
    let plan = run(&["plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("# role.it-rolestray-role will be destroyed: no longer declared"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("by-hand"), "{}", plan.stdout);
    assert_eq!(run(&["apply", "--yes"]).code, 0);
    assert!(!exists("it-rolestray-role"), "the renamed role is gone");
    assert!(exists("it-rolestray-role-v2"));
    assert!(exists("it-rolestray-by-hand"), "the hand-made role stays");
    assert_eq!(run(&["plan", "--detailed-exitcode"]).code, 0);
    assert_eq!(run(&["destroy", "--yes", "--allow-data-loss"]).code, 0);
    assert!(!exists("it-rolestray-role-v2"));
    assert!(exists("it-rolestray-by-hand"));
    block_on(async {
        iam.delete_role()
            .role_name("it-rolestray-by-hand")
            .send()
            .await
            .unwrap()
    });
}
