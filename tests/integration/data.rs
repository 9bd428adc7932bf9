//! `data seed`, `data scan` and `data query` end to end: the shipped sample conversation
//! written to the seed stack's table on moto and on DynamoDB Local, the `BatchWriteItem`
//! calls counted at a proxy, what was written read back with the SDK directly, the README's
//! two access patterns, a bad seed file that writes nothing, and numbers of 38 digits
//! written exactly (one DynamoDB cannot keep is refused before any call).

use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::harness::{
    Output, Run, block_on, dynamodb_local, dynamodb_local_client, emulator, passthrough,
    start_proxy,
};
use crate::seed::seed_copy;

/// The shipped sample.
fn sample_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/data/conversation.yaml")
}

/// The sample's items, read with a generic YAML reader (not the tool's).
fn sample() -> Vec<Value> {
    let text = std::fs::read_to_string(sample_path()).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// An SDK item as JSON (the sample holds strings only).
fn json_of(item: &std::collections::HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| {
                let v = match v {
                    AttributeValue::S(s) => Value::String(s.clone()),
                    other => panic!("the sample holds strings only, not {other:?}"),
                };
                (k.clone(), v)
            })
            .collect(),
    )
}

/// Every item of `table`, read with the SDK.
fn sdk_scan(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<Value> {
    let mut items: Vec<Value> = block_on(async {
        client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap()
    })
    .iter()
    .map(json_of)
    .collect();
    items.sort_by_key(key);
    items
}

/// An item's key, to put items in one order whatever order their fields are in.
fn key(item: &Value) -> (String, String) {
    (text(item, "pk").to_string(), text(item, "sk").to_string())
}

fn sorted(mut items: Vec<Value>) -> Vec<Value> {
    items.sort_by_key(key);
    items
}

/// The README's `data query` one-liners, as the arguments after `cargo run --`.
fn readme_queries() -> Vec<Vec<String>> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|l| l.strip_prefix("cargo run -- data query "))
        .map(|rest| {
            ["data", "query"]
                .into_iter()
                .map(String::from)
                .chain(rest.split_whitespace().map(String::from))
                .collect()
        })
        .collect()
}

/// The JSON Lines of a run's stdout.
fn lines(out: &Output) -> Vec<Value> {
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

/// Seeds, scans and queries the seed stack's table in `env`, through a proxy in front of
/// `upstream`, and checks each against the SDK's own view (`client`).
fn seed_scan_and_query(env: &str, upstream: &str, client: &aws_sdk_dynamodb::Client, tag: &str) {
    let copy = seed_copy(tag);
    let table = format!("{tag}-messages");
    let direct = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", upstream]);
        Run::new(&copy.stack, &all).run()
    };
    let apply = direct(&["apply", env, "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let proxy = start_proxy(passthrough(upstream));
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", proxy.url.as_str()]);
        Run::new(&copy.stack, &all).run()
    };
    let writes = || {
        proxy
            .stats
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| c.op == "BatchWriteItem")
            .count()
    };
    let sample_file = sample_path();
    let sample_file = sample_file.to_str().unwrap();

    // Acceptance 1: every item, in ⌈N/25⌉ BatchWriteItem calls.
    let expected = sample();
    let n = expected.len();
    let seeded = run(&["data", "seed", env, "messages", sample_file]);
    assert_eq!(seeded.code, 0, "{seeded:?}");
    assert_eq!(writes(), n.div_ceil(25), "{seeded:?}");
    assert!(
        seeded.stdout.contains(&format!(
            "Wrote {n} items to `{table}` in {} BatchWriteItem calls",
            n.div_ceil(25)
        )),
        "{seeded:?}"
    );
    assert_eq!(sdk_scan(client, &table), sorted(expected.clone()));
    let scan = run(&["data", "scan", env, "messages", "--json"]);
    assert_eq!(scan.code, 0, "{scan:?}");
    assert_eq!(sorted(lines(&scan)), sorted(expected.clone()));
    // By its AWS name too, and as a table for people.
    let table_view = run(&["data", "scan", env, &table, "--limit", "3"]);
    assert_eq!(table_view.code, 0, "{table_view:?}");
    assert_eq!(table_view.stdout.lines().count(), 2 + 3, "{table_view:?}");
    assert!(table_view.stdout.starts_with("pk "), "{table_view:?}");

    // Seeding again writes nothing: every item is there unchanged.
    let again = run(&["data", "seed", env, "messages", sample_file]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        again.stdout.contains(&format!("all {n} items")),
        "{again:?}"
    );
    assert_eq!(writes(), n.div_ceil(25), "no write the second time");

    // Acceptance 2: the README's two access patterns, run as its one-liners write them
    // (in `env`, with `--json`), and pattern A for the other user too.
    let readme = readme_queries();
    assert_eq!(
        readme.len(),
        2,
        "the README shows two query one-liners: {readme:?}"
    );
    let pattern = |line: &[String], key: Option<&str>| {
        let mut args: Vec<&str> = line.iter().map(String::as_str).collect();
        args[2] = env;
        if let Some(key) = key {
            let at = args.iter().position(|a| *a == "--key").unwrap() + 1;
            args[at] = key;
        }
        args.push("--json");
        run(&args)
    };
    let groups: Vec<&Value> = expected
        .iter()
        .filter(|i| text(i, "pk").starts_with("GRP#"))
        .collect();
    assert_eq!(groups.len(), 2);
    assert!(
        readme[0].contains(&format!("pk={}", text(groups[0], "pk"))),
        "pattern A names the sample's first user: {:?}",
        readme[0]
    );
    for (i, group) in groups.iter().enumerate() {
        let user = &text(group, "pk")["GRP#".len()..];
        let key = format!("pk=GRP#{user}");
        let out = pattern(&readme[0], (i > 0).then_some(key.as_str()));
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(
            lines(&out),
            [(*group).clone()],
            "{user}'s conversation list"
        );
        assert_ne!(
            text(group, "user_uuid"),
            user,
            "the row names the other user"
        );
    }
    let group_uuid = text(groups[0], "message_group_uuid");
    let mut messages: Vec<Value> = expected
        .iter()
        .filter(|i| text(i, "pk") == format!("MSG#{group_uuid}"))
        .cloned()
        .collect();
    messages.sort_by(|a, b| text(b, "sk").cmp(text(a, "sk")));
    assert!(messages.len() > 20, "the sample has more than a page of 20");
    assert!(
        readme[1].contains(&format!("pk=MSG#{group_uuid}")),
        "{:?}",
        readme[1]
    );
    let out = pattern(&readme[1], None);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(lines(&out), messages[..20], "the 20 newest, newest first");

    // Acceptance 4: an item without its sort key writes nothing and names file:line.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "- {pk: 'GRP#new', sk: '2024-01-01', message: fine}\n- pk: 'MSG#new'\n  message: no sort key\n",
    )
    .unwrap();
    let before = sdk_scan(client, &table).len();
    let refused = run(&["data", "seed", env, "messages", bad.to_str().unwrap()]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains(&format!("{}:2:", bad.display())),
        "names file:line: {refused:?}"
    );
    assert!(refused.stderr.contains("has no `sk`"), "{refused:?}");
    assert!(
        refused.stderr.contains("nothing was written"),
        "{refused:?}"
    );
    assert_eq!(
        sdk_scan(client, &table).len(),
        before,
        "the item count is unchanged"
    );
    assert_eq!(writes(), n.div_ceil(25), "no BatchWriteItem for a bad file");

    // A number DynamoDB cannot keep is refused before any call at all (the file is read
    // first), naming file:line and the fix.
    let calls = || proxy.stats.lock().unwrap().calls.len();
    let calls_before = calls();
    let out_of_range = dir.path().join("out-of-range.yaml");
    std::fs::write(
        &out_of_range,
        "- {pk: 'NUM#1', sk: a, n: 1}\n- {pk: 'NUM#1', sk: b, n: 1E126}\n",
    )
    .unwrap();
    let refused = run(&[
        "data",
        "seed",
        env,
        "messages",
        out_of_range.to_str().unwrap(),
    ]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains(&format!("{}:2:", out_of_range.display())),
        "names file:line: {refused:?}"
    );
    assert!(
        refused
            .stderr
            .contains("larger in magnitude than DynamoDB's largest number"),
        "{refused:?}"
    );
    assert!(
        refused
            .stderr
            .contains("quote the value to keep it as a string"),
        "the fix: {refused:?}"
    );
    assert_eq!(calls(), calls_before, "no AWS call for a refused number");

    // 38 significant digits arrive exactly, and a second seed finds them unchanged (the
    // file's `1.50` is written as the table keeps it, `1.5`).
    let exact = dir.path().join("exact.yaml");
    std::fs::write(
        &exact,
        "- pk: 'NUM#2'\n  sk: a\n  whole: 12345678901234567890123456789012345678\n  fraction: 0.12345678901234567890123456789012345678\n  price: 1.50\n",
    )
    .unwrap();
    let seeded = run(&["data", "seed", env, "messages", exact.to_str().unwrap()]);
    assert_eq!(seeded.code, 0, "{seeded:?}");
    let item = block_on(async {
        client
            .get_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("NUM#2".into()))
            .key("sk", AttributeValue::S("a".into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap()
    });
    for (attr, text) in [
        ("whole", "12345678901234567890123456789012345678"),
        ("fraction", "0.12345678901234567890123456789012345678"),
        ("price", "1.5"),
    ] {
        assert_eq!(
            item.get(attr),
            Some(&AttributeValue::N(text.into())),
            "{attr}: {item:?}"
        );
    }
    let again = run(&["data", "seed", env, "messages", exact.to_str().unwrap()]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("all 1 items"), "{again:?}");

    let destroy = direct(&["destroy", env, "--yes", "--allow-data-loss"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
}

#[test]
fn the_sample_conversation_is_seeded_scanned_and_queried_on_moto() {
    let client = aws_sdk_dynamodb::Client::new(&crate::harness::sdk_config());
    seed_scan_and_query("local", &emulator().url.clone(), &client, "it-data");
}

#[test]
fn the_same_commands_work_on_dynamodb_local() {
    let client = dynamodb_local_client();
    seed_scan_and_query(
        "dynamodb-local",
        &dynamodb_local().url.clone(),
        &client,
        "it-data-ddb",
    );
}

#[test]
fn a_table_the_stack_does_not_declare_or_an_environment_in_its_place_is_a_clear_error() {
    let copy = seed_copy("it-data-names");
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", emulator().url.as_str()]);
        Run::new(&copy.stack, &all).run()
    };
    for (args, says) in [
        (
            ["data", "scan", "local"],
            "`local` is an environment; name the table after it, like `local messages`",
        ),
        (
            ["data", "scan", "nope"],
            "the stack's tables: `messages` (`it-data-names-messages`)",
        ),
        // Declared, but not made yet.
        (
            ["data", "scan", "messages"],
            "does not exist in environment `local`",
        ),
        (["data", "scan", "messages"], "cruddur-infra apply local"),
    ] {
        let out = run(&args);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(
            out.stderr.contains(says),
            "{args:?} should say {says}: {out:?}"
        );
    }
}
