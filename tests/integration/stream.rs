//! `stream tail` end to end: a put and a delete made while it runs are printed as an INSERT
//! (with its new image) and a REMOVE (with none, under `NEW_IMAGE`), on moto started through
//! the launcher with the seed stack's mapping in place, and on DynamoDB Local.

use std::io::{BufRead, BufReader, Read};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::harness::{Run, block_on, dynamodb_local, dynamodb_local_client, emulator};
use crate::seed::seed_copy;

/// Applies the seed stack in `env` at `url`, tails its table while a put and a delete are
/// made with the SDK, and returns the records printed (JSON) and the summary on stderr.
fn tail_a_put_and_a_delete(
    env: &str,
    url: &str,
    client: &aws_sdk_dynamodb::Client,
    tag: &str,
) -> (Vec<Value>, String) {
    let copy = seed_copy(tag);
    let table = format!("{tag}-messages");
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", url]);
        Run::new(&copy.stack, &all)
    };
    let apply = run(&["apply", env, "--yes"]).run();
    assert_eq!(apply.code, 0, "{apply:?}");
    assert_eq!(
        apply
            .stdout
            .contains("event_source_mapping.messages_stream will be created"),
        env == "local",
        "the mapping is in place on moto (DynamoDB Local serves tables only): {apply:?}"
    );
    let mut tail = run(&[
        "stream", "tail", env, "messages", "--json", "--max", "2", "--for", "60s",
    ])
    .spawn();
    // Wait for the reader to be positioned: writes after this line are read from `latest`.
    let mut stderr = BufReader::new(tail.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "stream tail ended before reading: {seen}"
        );
        seen.push_str(&line);
        if line.starts_with("reading stream ") {
            break;
        }
    }
    block_on(async {
        client
            .put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S("MSG#tail".into()))
            .item("sk", AttributeValue::S("2023-03-01T00:00:00".into()))
            .item("message", AttributeValue::S("hello stream".into()))
            .send()
            .await
            .unwrap();
        client
            .delete_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("MSG#tail".into()))
            .key("sk", AttributeValue::S("2023-03-01T00:00:00".into()))
            .send()
            .await
            .unwrap();
    });
    let status = tail.wait().unwrap();
    let mut out = String::new();
    tail.stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    stderr.read_to_string(&mut seen).unwrap();
    assert!(status.success(), "{seen}\n{out}");
    let records = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    // The same two records from the stream's start, as lines for people.
    let lines = run(&[
        "stream",
        "tail",
        env,
        "messages",
        "--from",
        "trim-horizon",
        "--max",
        "2",
        "--for",
        "30s",
    ])
    .run();
    assert_eq!(lines.code, 0, "{lines:?}");
    let human: Vec<&str> = lines.stdout.lines().collect();
    assert_eq!(human.len(), 2, "{lines:?}");
    assert!(
        human[0].contains("  INSERT  pk=MSG#tail sk=2023-03-01T00:00:00  new: {"),
        "{lines:?}"
    );
    assert!(
        human[0].contains(r#""message":"hello stream""#),
        "{lines:?}"
    );
    assert!(human[1].contains("  REMOVE  pk=MSG#tail sk=2023-03-01T00:00:00  (no image: a NEW_IMAGE stream carries none for a REMOVE"), "{lines:?}");
    let destroy = run(&["destroy", env, "--yes"]).run();
    assert_eq!(destroy.code, 0, "{destroy:?}");
    (records, seen)
}

fn check(records: &[Value], stderr: &str) {
    assert_eq!(records.len(), 2, "{records:?}\n{stderr}");
    let keys = serde_json::json!({"pk": "MSG#tail", "sk": "2023-03-01T00:00:00"});
    assert_eq!(records[0]["event"], "INSERT");
    assert_eq!(records[0]["keys"], keys);
    assert_eq!(records[0]["new_image"]["message"], "hello stream");
    assert!(records[0]["time"].is_string(), "{records:?}");
    assert_eq!(records[1]["event"], "REMOVE");
    assert_eq!(records[1]["keys"], keys);
    assert_eq!(
        records[1]["new_image"],
        Value::Null,
        "NEW_IMAGE carries none for a REMOVE"
    );
    assert!(stderr.contains("2 records (--max reached)"), "{stderr}");
}

#[test]
fn tail_prints_an_insert_and_a_remove_on_moto_with_the_mapping_in_place() {
    let client = aws_sdk_dynamodb::Client::new(&crate::harness::sdk_config());
    let (records, stderr) =
        tail_a_put_and_a_delete("local", &emulator().url.clone(), &client, "it-tail");
    check(&records, &stderr);
}

#[test]
fn tail_prints_an_insert_and_a_remove_on_dynamodb_local() {
    let client = dynamodb_local_client();
    let (records, stderr) = tail_a_put_and_a_delete(
        "dynamodb-local",
        &dynamodb_local().url.clone(),
        &client,
        "it-tail-ddb",
    );
    check(&records, &stderr);
}
