//! `outputs`: after the seed stack is applied on moto, `--json` gives the live stream ARN,
//! equal to the `LatestStreamArn` of a `DescribeTable` made here with the SDK (and the
//! role's and function's ARNs as IAM and Lambda report them); `ADDRESS.ATTR` prints that
//! value bare for `$(…)`; an undeclared address or an attribute the resource lacks fails
//! with exit 1 and says what there is.

use serde_json::Value;

use crate::harness::{Run, block_on, dynamodb, emulator, sdk_config};
use crate::seed::seed_copy;

#[test]
fn outputs_give_the_live_stream_arn_as_json_and_bare_and_name_what_exists_when_asked_wrongly() {
    let copy = seed_copy("it-outputs");
    let url = emulator().url.clone();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", url.as_str()]);
        Run::new(&copy.stack, &all).run()
    };

    // Nothing applied yet: the one value cannot be printed, and the error says why.
    let before = run(&["outputs", "local", "table.messages.stream_arn"]);
    assert_eq!(before.code, 1, "{before:?}");
    assert!(before.stdout.is_empty(), "{before:?}");
    assert!(
        before
            .stderr
            .contains("run `cruddur-infra apply local` first"),
        "{before:?}"
    );

    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");

    let (stream_arn, table_arn) = block_on(async {
        let out = dynamodb()
            .describe_table()
            .table_name("it-outputs-messages")
            .send()
            .await
            .expect("DescribeTable");
        let table = out.table().expect("a table description");
        (
            table
                .latest_stream_arn()
                .expect("the stream is on")
                .to_string(),
            table.table_arn().expect("a table ARN").to_string(),
        )
    });
    let role_arn = block_on(async {
        aws_sdk_iam::Client::new(&sdk_config())
            .get_role()
            .role_name("it-outputs-role")
            .send()
            .await
            .expect("GetRole")
            .role()
            .expect("a role")
            .arn()
            .to_string()
    });
    let function_arn = block_on(async {
        aws_sdk_lambda::Client::new(&sdk_config())
            .get_function()
            .function_name("it-outputs-fn")
            .send()
            .await
            .expect("GetFunction")
            .configuration()
            .and_then(|c| c.function_arn())
            .expect("a function ARN")
            .to_string()
    });

    let json = run(&["outputs", "local", "--json"]);
    assert_eq!(json.code, 0, "{json:?}");
    let doc: Value = serde_json::from_str(&json.stdout).expect("--json parses");
    assert_eq!(doc["environment"], "local", "{doc}");
    assert_eq!(doc["stack"], "it-outputs", "{doc}");
    let table = &doc["outputs"]["table.messages"];
    assert_eq!(table["stream_arn"], stream_arn.as_str(), "{doc}");
    assert_eq!(table["arn"], table_arn.as_str(), "{doc}");
    assert_eq!(table["name"], "it-outputs-messages", "{doc}");
    assert_eq!(table["indexes"], "message-group-sk-index", "{doc}");
    assert_eq!(
        doc["outputs"]["role.messaging_stream"]["arn"],
        role_arn.as_str(),
        "{doc}"
    );
    let function = &doc["outputs"]["function.messaging_stream"];
    assert_eq!(function["arn"], function_arn.as_str(), "{doc}");
    assert_eq!(function["log_group"], "/aws/lambda/it-outputs-fn", "{doc}");
    assert!(
        doc["outputs"]["event_source_mapping.messages_stream"]["uuid"].is_string(),
        "{doc}"
    );
    assert_eq!(
        doc["disabled"],
        serde_json::json!(["role.dax", "dax_cluster.cache"]),
        "{doc}"
    );
    assert_eq!(doc["missing"], serde_json::json!([]), "{doc}");

    // Bare, for `export DDB_STREAM=$(…)`: the value and a newline, nothing else on stdout;
    // `local` is the environment when only the value is named.
    for args in [
        &["outputs", "local", "table.messages.stream_arn"][..],
        &["outputs", "table.messages.stream_arn"][..],
    ] {
        let bare = run(args);
        assert_eq!(bare.code, 0, "{bare:?}");
        assert_eq!(bare.stdout, format!("{stream_arn}\n"), "{bare:?}");
    }

    // The table for people: the stream ARN on the table's lines, the disabled cluster said so.
    let text = run(&["outputs"]);
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.stdout
            .lines()
            .any(|l| l.contains("stream_arn") && l.ends_with(&stream_arn)),
        "{text:?}"
    );
    assert!(
        text.stdout
            .lines()
            .any(|l| l.starts_with("dax_cluster.cache") && l.contains("(disabled in `local`)")),
        "{text:?}"
    );

    let unknown = run(&["outputs", "local", "table.nope.arn"]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(unknown.stdout.is_empty(), "{unknown:?}");
    assert!(
        unknown
            .stderr
            .contains("the stack declares no `table.nope`"),
        "{unknown:?}"
    );
    for declared in [
        "table.messages",
        "role.messaging_stream",
        "function.messaging_stream",
        "event_source_mapping.messages_stream",
    ] {
        assert!(unknown.stderr.contains(declared), "{declared}: {unknown:?}");
    }

    let attr = run(&["outputs", "local", "table.messages.endpoint"]);
    assert_eq!(attr.code, 1, "{attr:?}");
    assert!(
        attr.stderr
            .contains("its outputs: name, arn, stream_arn, indexes"),
        "{attr:?}"
    );

    let destroy = run(&["destroy", "--yes"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
}
