//! The whole seed stack, end to end: what `apply` makes (checked with each service's SDK),
//! an empty plan after, edits planned precisely, out-of-band deletion repaired, and a
//! destroy that leaves nothing billable, log group included.

use std::path::{Path, PathBuf};

use crate::harness::{Run, block_on, emulator, sdk_config};
use crate::tables::{describe_table, tags};

const ACCOUNT: &str = "123456789012";

fn iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk_config())
}
fn lambda() -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::new(&sdk_config())
}
fn ec2() -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&sdk_config())
}
fn logs() -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&sdk_config())
}

fn decode(doc: &str) -> serde_json::Value {
    let text = percent_encoding::percent_decode_str(doc)
        .decode_utf8()
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        serde_json::Value::String(s) => vec![s.clone()],
        _ => vec![],
    }
}

/// Live endpoints for `DynamoDB` that are not deleted.
async fn dynamodb_endpoints() -> Vec<aws_sdk_ec2::types::VpcEndpoint> {
    let out = ec2().describe_vpc_endpoints().send().await.unwrap();
    out.vpc_endpoints()
        .iter()
        .filter(|e| e.service_name() == Some("com.amazonaws.ca-central-1.dynamodb"))
        .filter(|e| e.state().map(|s| s.as_str().to_ascii_lowercase()) != Some("deleted".into()))
        .cloned()
        .collect()
}

async fn mappings_of(
    function_arn: &str,
) -> Vec<aws_sdk_lambda::types::EventSourceMappingConfiguration> {
    let out = lambda().list_event_source_mappings().send().await.unwrap();
    out.event_source_mappings()
        .iter()
        .filter(|m| m.function_arn() == Some(function_arn))
        .cloned()
        .collect()
}

#[test]
fn the_seed_stack_applies_everything_with_working_permissions_and_destroy_leaves_nothing() {
    let stack = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/cruddur.yaml");
    let url = emulator().url.clone();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", url.as_str()]);
        Run::new(&stack, &all).run()
    };
    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(apply.stdout.starts_with(&format!("stack cruddur · environment local · account {ACCOUNT} · region ca-central-1 · endpoint http://127.0.0.1:")));
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 6 added, 0 changed, 0 destroyed."),
        "{}",
        apply.stdout
    );

    block_on(async {
        // The table, as the notes describe it.
        let table = describe_table("cruddur-messages").await.expect("table");
        let table_arn = format!("arn:aws:dynamodb:ca-central-1:{ACCOUNT}:table/cruddur-messages");
        assert_eq!(table.table_arn(), Some(table_arn.as_str()));
        let t = table.provisioned_throughput().unwrap();
        assert_eq!(
            (t.read_capacity_units(), t.write_capacity_units()),
            (Some(5), Some(5))
        );
        let gsi = &table.global_secondary_indexes()[0];
        assert_eq!(gsi.index_name(), Some("message-group-sk-index"));
        assert_eq!(
            table
                .stream_specification()
                .and_then(|s| s.stream_view_type())
                .map(aws_sdk_dynamodb::types::StreamViewType::as_str),
            Some("NEW_IMAGE")
        );
        assert!(
            tags(&table_arn)
                .await
                .contains(&("cruddur-infra:stack".into(), "cruddur".into()))
        );

        // The role: inline policy on the table and its index, stream reading through the
        // managed policy, trusted by Lambda, owned.
        let role = iam()
            .get_role()
            .role_name("cruddur-messaging-stream-role")
            .send()
            .await
            .unwrap()
            .role
            .unwrap();
        let trust = decode(role.assume_role_policy_document().unwrap());
        assert!(trust.to_string().contains("lambda.amazonaws.com"));
        let inline = iam()
            .get_role_policy()
            .role_name("cruddur-messaging-stream-role")
            .policy_name("cruddur-messaging-stream-dynamodb")
            .send()
            .await
            .unwrap();
        let doc = decode(inline.policy_document());
        let statement = &doc["Statement"][0];
        let mut actions = strings(&statement["Action"]);
        actions.sort();
        assert_eq!(
            actions,
            vec!["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"]
        );
        let resources = strings(&statement["Resource"]);
        assert!(resources.contains(&table_arn), "{resources:?}");
        assert!(
            resources.contains(&format!("{table_arn}/index/message-group-sk-index")),
            "{resources:?}"
        );
        let attached = iam()
            .list_attached_role_policies()
            .role_name("cruddur-messaging-stream-role")
            .send()
            .await
            .unwrap();
        let invocation = attached
            .attached_policies()
            .iter()
            .find(|p| {
                p.policy_arn() == Some("arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB")
            })
            .expect("stream-reading managed policy attached");
        let managed = iam()
            .get_policy()
            .policy_arn(invocation.policy_arn().unwrap())
            .send()
            .await
            .unwrap()
            .policy
            .unwrap();
        let version = iam()
            .get_policy_version()
            .policy_arn(invocation.policy_arn().unwrap())
            .version_id(managed.default_version_id().unwrap())
            .send()
            .await
            .unwrap();
        let managed_doc = decode(version.policy_version().unwrap().document().unwrap()).to_string();
        for action in [
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
        ] {
            assert!(
                managed_doc.contains(action),
                "the role can {action}: {managed_doc}"
            );
        }
        let role_tags = iam()
            .list_role_tags()
            .role_name("cruddur-messaging-stream-role")
            .send()
            .await
            .unwrap();
        assert!(
            role_tags
                .tags()
                .iter()
                .any(|t| t.key() == "cruddur-infra:stack" && t.value() == "cruddur")
        );

        // The function: uses the role, has the deterministic package as its code, owned.
        let f = lambda()
            .get_function()
            .function_name("cruddur-messaging-stream")
            .send()
            .await
            .unwrap();
        let c = f.configuration().unwrap();
        assert_eq!(c.role(), Some(role.arn()));
        let artifact = cruddur_infra::artifact::build(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("lambda-artifacts/cruddur-messaging-stream"),
        )
        .unwrap();
        assert_eq!(c.code_sha256(), Some(artifact.sha256.as_str()));
        assert!(c.code_size() > 0);
        assert_eq!(
            c.environment()
                .and_then(|e| e.variables())
                .and_then(|v| v.get("TABLE_NAME"))
                .map(String::as_str),
            Some("cruddur-messages")
        );
        assert_eq!(
            f.tags()
                .and_then(|t| t.get("cruddur-infra:stack"))
                .map(String::as_str),
            Some("cruddur")
        );

        // Exactly one mapping, on the table's current stream, batch size 1.
        let mappings = mappings_of(c.function_arn().unwrap()).await;
        assert_eq!(mappings.len(), 1, "{mappings:?}");
        assert_eq!(mappings[0].event_source_arn(), table.latest_stream_arn());
        assert_eq!(mappings[0].batch_size(), Some(1));

        // Exactly one DynamoDB gateway endpoint, in the default VPC, on a route table.
        let default_vpc = ec2()
            .describe_vpcs()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("is-default")
                    .values("true")
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .vpcs()[0]
            .vpc_id()
            .unwrap()
            .to_string();
        let endpoints = dynamodb_endpoints().await;
        assert_eq!(endpoints.len(), 1, "{endpoints:?}");
        let e = &endpoints[0];
        assert_eq!(e.vpc_id(), Some(default_vpc.as_str()));
        assert_eq!(
            e.vpc_endpoint_type()
                .map(|t| t.as_str().to_ascii_lowercase()),
            Some("gateway".into())
        );
        assert!(!e.route_table_ids().is_empty());
        assert!(
            e.tags()
                .iter()
                .any(|t| t.key() == Some("Name") && t.value() == Some("cruddur-ddb"))
        );
        assert!(
            e.tags()
                .iter()
                .any(|t| t.key() == Some("cruddur-infra:stack") && t.value() == Some("cruddur"))
        );
    });

    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let again = run(&["apply", "--yes"]);
    assert_eq!(again.code, 0);
    assert!(
        again.stdout.contains("No changes."),
        "a second apply makes no change: {}",
        again.stdout
    );

    // The tool made the function's log group, with the default retention (Lambda's own
    // would keep logs forever).
    block_on(async {
        let groups = logs()
            .describe_log_groups()
            .log_group_name_prefix("/aws/lambda/cruddur-messaging-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(groups.log_groups().len(), 1);
        assert_eq!(groups.log_groups()[0].retention_in_days(), Some(14));
    });
    let destroy = run(&["destroy", "--yes"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert!(
        destroy.stdout.contains("log_group.messaging_stream"),
        "{}",
        destroy.stdout
    );
    block_on(async {
        assert!(
            describe_table("cruddur-messages").await.is_none(),
            "table gone"
        );
        assert!(
            iam()
                .get_role()
                .role_name("cruddur-messaging-stream-role")
                .send()
                .await
                .is_err(),
            "role gone"
        );
        assert!(
            lambda()
                .get_function()
                .function_name("cruddur-messaging-stream")
                .send()
                .await
                .is_err(),
            "function gone"
        );
        let arn =
            format!("arn:aws:lambda:ca-central-1:{ACCOUNT}:function:cruddur-messaging-stream");
        assert!(mappings_of(&arn).await.is_empty(), "mapping gone");
        assert!(dynamodb_endpoints().await.is_empty(), "endpoint gone");
        let groups = logs()
            .describe_log_groups()
            .log_group_name_prefix("/aws/lambda/cruddur-messaging-stream")
            .send()
            .await
            .unwrap();
        assert!(groups.log_groups().is_empty(), "log group gone");
    });
}

/// A copy of the seed stack and its Lambda source in a temporary folder, with its own
/// names and without the VPC endpoint (one per VPC and service: the seed test owns it).
pub(crate) struct SeedCopy {
    _dir: tempfile::TempDir,
    pub(crate) stack: PathBuf,
    pub(crate) handler: PathBuf,
}

pub(crate) fn seed_copy(tag: &str) -> SeedCopy {
    seed_copy_with(tag, false)
}

/// A renamed copy of the seed stack; `endpoint` keeps the VPC endpoint (for tests with an
/// emulator of their own).
pub(crate) fn seed_copy_with(tag: &str, endpoint: bool) -> SeedCopy {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("stacks")).unwrap();
    let src = dir.path().join("lambda-artifacts/cruddur-messaging-stream");
    std::fs::create_dir_all(&src).unwrap();
    let handler = src.join("lambda_function.py");
    std::fs::copy(
        root.join("lambda-artifacts/cruddur-messaging-stream/lambda_function.py"),
        &handler,
    )
    .unwrap();
    let text = std::fs::read_to_string(root.join("stacks/cruddur.yaml")).unwrap();
    let text = if endpoint {
        text.replace("name: cruddur-ddb", &format!("name: {tag}-ddb"))
    } else {
        text.split("\nvpc_endpoints:").next().unwrap().to_string()
    };
    let text = text
        .replace("name: cruddur\n", &format!("name: {tag}\n"))
        .replace("cruddur-messaging-stream-role", &format!("{tag}-role"))
        .replace(
            "name: cruddur-messaging-stream\n",
            &format!("name: {tag}-fn\n"),
        )
        .replace("cruddur-messages", &format!("{tag}-messages"));
    let stack = dir.path().join("stacks/stack.yaml");
    std::fs::write(&stack, text).unwrap();
    SeedCopy {
        _dir: dir,
        stack,
        handler,
    }
}

#[test]
fn handler_and_policy_edits_plan_precisely_and_a_deleted_function_is_restored() {
    let copy = seed_copy("it-edit");
    let url = emulator().url.clone();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", url.as_str()]);
        Run::new(&copy.stack, &all).run()
    };
    assert_eq!(run(&["apply", "--yes"]).code, 0);
    assert_eq!(run(&["plan", "--detailed-exitcode"]).code, 0);

    // Editing the handler plans a code update only.
    let mut source = std::fs::read_to_string(&copy.handler).unwrap();
    source.push_str("\n# a comment is a change of code\n");
    std::fs::write(&copy.handler, source).unwrap();
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2);
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("~ code_sha256"), "{}", plan.stdout);
    let changed: Vec<&str> = plan
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with(['~', '+', '-']))
        .collect();
    assert_eq!(
        changed.len(),
        2,
        "the function header and its code hash only: {changed:?}"
    );
    let apply = run(&["apply", "--yes"]);
    assert!(
        apply.stderr.contains("uploading new code"),
        "{}",
        apply.stderr
    );
    assert_eq!(run(&["plan", "--detailed-exitcode"]).code, 0);

    // Editing the inline policy plans a policy update with a line diff.
    let text = std::fs::read_to_string(&copy.stack).unwrap();
    std::fs::write(
        &copy.stack,
        text.replace("dynamodb:Query]", "dynamodb:Query, dynamodb:GetItem]"),
    )
    .unwrap();
    let plan = run(&["plan"]);
    assert!(
        plan.stdout
            .contains("~ policy[\"cruddur-messaging-stream-dynamodb\"]:"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("+ ") && l.contains("\"dynamodb:GetItem\"")),
        "{}",
        plan.stdout
    );
    assert_eq!(run(&["apply", "--yes"]).code, 0);
    assert_eq!(run(&["plan", "--detailed-exitcode"]).code, 0);

    // A function deleted out of band is planned for creation and restored with its mapping.
    block_on(async {
        lambda()
            .delete_function()
            .function_name("it-edit-fn")
            .send()
            .await
            .unwrap()
    });
    let plan = run(&["plan"]);
    assert!(
        plan.stdout
            .contains("function.messaging_stream will be created"),
        "{}",
        plan.stdout
    );
    assert_eq!(run(&["apply", "--yes"]).code, 0);
    block_on(async {
        let f = lambda()
            .get_function()
            .function_name("it-edit-fn")
            .send()
            .await
            .expect("restored");
        let mappings = mappings_of(f.configuration().unwrap().function_arn().unwrap()).await;
        let table = describe_table("it-edit-messages").await.unwrap();
        assert_eq!(mappings.len(), 1);
        assert_eq!(mappings[0].event_source_arn(), table.latest_stream_arn());
    });
    assert_eq!(run(&["plan", "--detailed-exitcode"]).code, 0);
    assert_eq!(run(&["destroy", "--yes"]).code, 0);
}
