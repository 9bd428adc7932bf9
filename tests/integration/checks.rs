//! The plan-time checks as a user meets them, with the real binary on the seed stack
//! changed as the bootcamp notes change it: warnings at the role's line with the exact
//! index ARN, errors before any write (the proxy counts none), `--strict`, the handler and
//! package checks, the DAX role's trust, `validate` with no endpoint and no credentials,
//! and the function's log group made with its retention before the function.

use std::path::Path;

use crate::harness::{Run, block_on, emulator, passthrough, sdk_config, start_proxy};
use crate::seed::{SeedCopy, seed_copy};

/// `cruddur-infra --stack <copy> <args…>` against the shared emulator.
fn run(copy: &SeedCopy, args: &[&str]) -> crate::harness::Output {
    run_at(copy, &emulator().url, args)
}

/// `cruddur-infra --stack <copy> <args…>` against the endpoint `url` (a proxy).
fn run_at(copy: &SeedCopy, url: &str, args: &[&str]) -> crate::harness::Output {
    let mut all = args.to_vec();
    all.extend(["--endpoint-url", url]);
    Run::new(&copy.stack, &all).run()
}

/// Rewrites the copy's stack file with `edit`, which must change it.
fn edit(copy: &SeedCopy, edit: impl Fn(&str) -> String) {
    let text = std::fs::read_to_string(&copy.stack).unwrap();
    let changed = edit(&text);
    assert_ne!(changed, text, "the edit changes the stack");
    std::fs::write(&copy.stack, changed).unwrap();
}

/// The `stack.yaml:<line>` of the first line holding `text`.
fn at(copy: &SeedCopy, text: &str) -> String {
    let file = std::fs::read_to_string(&copy.stack).unwrap();
    let line = file
        .find(text)
        .map(|i| file[..i].matches('\n').count() + 1)
        .expect("in the file");
    format!("stack.yaml:{line}:")
}

const INDEX_LINE: &str = "            - ${table.messages.arn}/index/message-group-sk-index\n";

#[test]
fn an_index_missing_from_the_policy_is_a_warning_with_its_arn_and_an_error_under_strict() {
    let copy = seed_copy("it-chk-index");
    edit(&copy, |t| t.replace(INDEX_LINE, ""));
    let plan = run(&copy, &["plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stderr.contains("warning: role `it-chk-index-role` does not allow `dynamodb:Query` on `arn:aws:dynamodb:ca-central-1:123456789012:table/it-chk-index-messages/index/message-group-sk-index`"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr
            .contains(&at(&copy, "  messaging_stream:\n    name:")),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stdout.contains("Plan: 5 to add"),
        "the plan is still shown: {}",
        plan.stdout
    );
    let strict = run(&copy, &["plan", "--strict"]);
    assert_eq!(strict.code, 1, "{strict:?}");
    assert!(
        strict
            .stderr
            .contains("error: role `it-chk-index-role` does not allow `dynamodb:Query`"),
        "{}",
        strict.stderr
    );
    assert!(
        !strict.stdout.contains("Plan:"),
        "no plan under --strict: {}",
        strict.stdout
    );

    // The index's wildcard, or every resource, grants it: no warning.
    for resources in [
        "            - ${table.messages.arn}/index/*\n",
        "            - \"*\"\n",
    ] {
        let copy = seed_copy("it-chk-index-ok");
        edit(&copy, |t| t.replace(INDEX_LINE, resources));
        let plan = run(&copy, &["plan", "--strict"]);
        assert_eq!(plan.code, 0, "{resources}: {plan:?}");
        assert!(!plan.stderr.contains("warning"), "{}", plan.stderr);
    }
}

#[test]
fn a_role_that_cannot_read_the_stream_stops_plan_and_apply_before_any_write() {
    let copy = seed_copy("it-chk-stream");
    edit(&copy, |t| {
        t.replace(
            "      - arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB\n",
            "",
        )
    });
    let proxy = start_proxy(passthrough(&emulator().url));
    for verb in [vec!["plan"], vec!["apply", "--yes"]] {
        let out = run_at(&copy, &proxy.url, &verb);
        assert_eq!(out.code, 1, "{verb:?}: {out:?}");
        for action in [
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
        ] {
            assert!(
                out.stderr.contains(action),
                "{verb:?} names {action}: {}",
                out.stderr
            );
        }
        assert!(
            out.stderr.contains("- effect: Allow\n")
                && out
                    .stderr
                    .contains("resources: [\"${table.messages.stream_arn}\"]"),
            "the statement to add, as stack-file YAML: {}",
            out.stderr
        );
        assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
    }
    let stats = proxy.stats.lock().unwrap();
    let (reads, writes) = stats.reads_writes();
    assert!(reads > 0, "the plan read AWS");
    assert_eq!(
        writes,
        0,
        "no write: {:?}",
        stats.clean().map(|c| c.op.clone()).collect::<Vec<_>>()
    );
    drop(stats);
    block_on(async {
        let tables = aws_sdk_dynamodb::Client::new(&sdk_config())
            .list_tables()
            .send()
            .await
            .unwrap();
        assert!(
            !tables
                .table_names()
                .iter()
                .any(|t| t == "it-chk-stream-messages")
        );
    });
}

#[test]
fn full_access_and_a_role_without_logs_are_warnings() {
    let copy = seed_copy("it-chk-broad");
    edit(&copy, |t| {
        t.replace(
            "      - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\n",
            "      - arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess\n",
        )
    });
    let plan = run(&copy, &["plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stderr.contains("warning: role `it-chk-broad-role` attaches `arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess`"), "{}", plan.stderr);
    assert!(
        plan.stderr.contains(&at(&copy, "AmazonDynamoDBFullAccess")),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("it will run and write no logs"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("AWSLambdaBasicExecutionRole"),
        "the fix names it: {}",
        plan.stderr
    );
}

#[test]
fn a_handler_naming_no_module_stops_at_its_line() {
    for handler in ["nope.lambda_handler", "lambda_handler"] {
        let copy = seed_copy("it-chk-handler");
        edit(&copy, |t| {
            t.replace(
                "handler: lambda_function.lambda_handler",
                &format!("handler: {handler}"),
            )
        });
        let out = run(&copy, &["apply", "--yes"]);
        assert_eq!(out.code, 1, "{handler}: {out:?}");
        assert!(
            out.stderr
                .contains(&at(&copy, &format!("handler: {handler}"))),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(if handler.contains('.') {
                "Runtime.ImportModuleError"
            } else {
                "Runtime.MalformedHandlerName"
            }),
            "{}",
            out.stderr
        );
        let validate = Run::new(&copy.stack, &["validate"]).run();
        assert_eq!(validate.code, 1, "{validate:?}");
    }
}

#[test]
fn a_source_folder_too_large_or_reaching_outside_fails_before_anything_is_zipped() {
    let copy = seed_copy("it-chk-usr");
    edit(&copy, |t| {
        t.replace(
            "source: ../lambda-artifacts/cruddur-messaging-stream",
            "source: /usr",
        )
    });
    let out = Run::new(&copy.stack, &["validate"]).run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(&at(&copy, "source: /usr")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("outside the function source folder `/usr`")
            || out.stderr.contains("250 MB unzipped"),
        "{}",
        out.stderr
    );

    // A folder of 300 MB (sparse files: nothing is written to disk) names the limit.
    let big = tempfile::tempdir().unwrap();
    std::fs::write(
        big.path().join("lambda_function.py"),
        "def lambda_handler(e, c):\n    pass\n",
    )
    .unwrap();
    for i in 0..3 {
        let f = std::fs::File::create(big.path().join(format!("blob{i}.bin"))).unwrap();
        f.set_len(100 * 1024 * 1024).unwrap();
    }
    let copy = seed_copy("it-chk-big");
    let source = big.path().display().to_string();
    edit(&copy, |t| {
        t.replace(
            "source: ../lambda-artifacts/cruddur-messaging-stream",
            &format!("source: {source}"),
        )
    });
    for args in [vec!["validate"], vec!["plan"]] {
        let out = if args == ["plan"] {
            run(&copy, &args)
        } else {
            Run::new(&copy.stack, &args).run()
        };
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert!(
            out.stderr
                .contains("more than Lambda's limit of 250 MB unzipped"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("without zipping anything"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn a_dax_role_trusting_lambda_stops_at_the_trust_line() {
    let copy = seed_copy("it-chk-dax");
    edit(&copy, |t| {
        t.replace(
            "    region: ca-central-1\n  # The bootcamp's",
            "    region: ca-central-1\n    enable: [dax_cluster.cache, role.dax]\n  # The bootcamp's",
        )
        .replace("trust: [dax.amazonaws.com]", "trust: [lambda.amazonaws.com]")
    });
    let out = run(&copy, &["apply", "--yes"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("does not trust `dax.amazonaws.com`"),
        "{}",
        out.stderr
    );
    let file = std::fs::read_to_string(&copy.stack).unwrap();
    let dax_trust = file
        .find("trust: [lambda.amazonaws.com]\n    policies:\n      cruddur-dax")
        .unwrap();
    let line = file[..dax_trust].matches('\n').count() + 1;
    assert!(
        out.stderr.contains(&format!("stack.yaml:{line}:")),
        "{}",
        out.stderr
    );
}

#[test]
fn the_seed_stack_has_no_finding_and_validates_with_no_endpoint_and_no_credentials() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A proxy that would count any call, and no credentials at all.
    let proxy = start_proxy(passthrough(&emulator().url));
    let out = Run::new(
        &root.join("stacks/cruddur.yaml"),
        &[
            "validate",
            "prod",
            "--strict",
            "--endpoint-url",
            proxy.url.as_str(),
        ],
    )
    .current_dir(root)
    .env_remove("AWS_ACCESS_KEY_ID")
    .env_remove("AWS_SECRET_ACCESS_KEY")
    .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("(0 warning(s), 0 note(s); no AWS call was made)"),
        "{}",
        out.stdout
    );
    assert!(out.stderr.is_empty(), "no finding: {}", out.stderr);
    assert!(
        proxy.stats.lock().unwrap().calls.is_empty(),
        "validate made no call"
    );

    let copy = seed_copy("it-chk-seed");
    let plan = run(&copy, &["plan", "--strict"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        !plan.stderr.contains("warning") && !plan.stderr.contains("error"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stdout.contains("cost: DynamoDB capacity, 10 read and 10 write units provisioned (table `it-chk-seed-messages` 5/5, index `message-group-sk-index` 5/5), within the free tier of 25 RCU and 25 WCU"),
        "{}",
        plan.stdout
    );
}

#[test]
fn a_functions_log_group_is_made_with_its_retention_before_the_function_and_changed_in_place() {
    let copy = seed_copy("it-chk-logs");
    let proxy = start_proxy(passthrough(&emulator().url));
    let via = |args: &[&str]| run_at(&copy, &proxy.url, args);
    let apply = via(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let calls: Vec<String> = proxy
        .stats
        .lock()
        .unwrap()
        .clean()
        .map(|c| c.op.clone())
        .collect();
    let first = |op: &str| {
        calls
            .iter()
            .position(|c| c == op)
            .unwrap_or_else(|| panic!("{op} in {calls:?}"))
    };
    assert!(
        first("CreateLogGroup") < first("PutRetentionPolicy"),
        "{calls:?}"
    );
    assert!(
        first("PutRetentionPolicy") < first("CreateFunction"),
        "the group has its retention before the function exists: {calls:?}"
    );
    let group = "/aws/lambda/it-chk-logs-fn";
    let retention = || {
        block_on(async {
            let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config());
            let out = logs
                .describe_log_groups()
                .log_group_name_prefix(group)
                .send()
                .await
                .unwrap();
            let g = out
                .log_groups()
                .iter()
                .find(|g| g.log_group_name() == Some(group))
                .cloned()
                .expect("the group exists");
            let tags = logs
                .list_tags_for_resource()
                .resource_arn(g.arn().unwrap().trim_end_matches(":*"))
                .send()
                .await
                .unwrap();
            (
                g.retention_in_days(),
                tags.tags()
                    .and_then(|t| t.get("cruddur-infra:stack").cloned()),
            )
        })
    };
    assert_eq!(retention(), (Some(14), Some("it-chk-logs".to_string())));
    assert_eq!(via(&["plan", "--detailed-exitcode"]).code, 0);

    edit(&copy, |t| {
        t.replace(
            "    timeout: 10\n",
            "    timeout: 10\n    log_retention_days: 7\n",
        )
    });
    let plan = via(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    assert!(
        plan.stdout.contains("~ retention_in_days = 14 → 7 # lowering the retention deletes the log events older than 7 days"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    assert_eq!(via(&["apply", "--yes"]).code, 0);
    assert_eq!(retention().0, Some(7));
    assert_eq!(
        via(&["plan", "--detailed-exitcode"]).code,
        0,
        "the next plan is empty"
    );

    let destroy = via(&["destroy", "--yes"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert!(destroy.stdout.contains("stops costing once deleted: the stored logs of `/aws/lambda/it-chk-logs-fn` kept 7 days"), "{}", destroy.stdout);
    block_on(async {
        let out = aws_sdk_cloudwatchlogs::Client::new(&sdk_config())
            .describe_log_groups()
            .log_group_name_prefix(group)
            .send()
            .await
            .unwrap();
        assert!(
            out.log_groups()
                .iter()
                .all(|g| g.log_group_name() != Some(group)),
            "deleted with the function"
        );
    });
}

#[test]
fn a_customer_managed_policy_is_read_by_plan_and_not_checked_offline() {
    let arn = block_on(async {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
            "Resource": "*"}]});
        aws_sdk_iam::Client::new(&sdk_config())
            .create_policy()
            .policy_name("it-chk-customer-streams")
            .policy_document(doc.to_string())
            .send()
            .await
            .unwrap()
            .policy()
            .and_then(|p| p.arn())
            .unwrap()
            .to_string()
    });
    let copy = seed_copy("it-chk-customer");
    edit(&copy, |t| {
        t.replace(
            "      - arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB\n",
            &format!("      - {arn}\n"),
        )
    });
    let proxy = start_proxy(passthrough(&emulator().url));
    let plan = run_at(&copy, &proxy.url, &["plan", "--strict"]);
    assert_eq!(plan.code, 0, "the policy grants the stream: {plan:?}");
    let ops: Vec<String> = proxy
        .stats
        .lock()
        .unwrap()
        .clean()
        .map(|c| c.op.clone())
        .collect();
    assert_eq!(
        ops.iter().filter(|o| *o == "GetPolicy").count(),
        1,
        "{ops:?}"
    );
    assert_eq!(
        ops.iter().filter(|o| *o == "GetPolicyVersion").count(),
        1,
        "{ops:?}"
    );

    let validate = Run::new(&copy.stack, &["validate", "--strict"]).run();
    assert_eq!(validate.code, 0, "a note is no error: {validate:?}");
    assert!(
        validate
            .stderr
            .contains(&format!("note: `{arn}` is not checked offline")),
        "{}",
        validate.stderr
    );
    assert!(
        validate
            .stderr
            .contains("not checked: role `it-chk-customer-role` does not allow"),
        "{}",
        validate.stderr
    );

    // A policy IAM does not have is an error before any write.
    edit(&copy, |t| {
        t.replace(
            &arn,
            "arn:aws:iam::123456789012:policy/it-chk-no-such-policy",
        )
    });
    let plan = run(&copy, &["plan"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr.contains("which IAM does not have"),
        "{}",
        plan.stderr
    );
}
