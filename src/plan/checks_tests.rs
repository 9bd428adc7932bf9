//! The plan-time checks on the seed stack, changed as the bootcamp notes change it: each
//! finding's severity, place and text, and the seed stack as shipped finding nothing.

use std::path::{Path, PathBuf};

use super::super::{Context, Date, LiveState, check};
use crate::stack::{Diagnostic, Severity};

/// The seed stack with `edit` applied, in a folder of its own with the Lambda source.
struct Seed {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn seed(edit: impl Fn(String) -> String) -> Seed {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("stacks")).unwrap();
    let src = dir.path().join("lambda-artifacts/cruddur-messaging-stream");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(
        root.join("lambda-artifacts/cruddur-messaging-stream/lambda_function.py"),
        src.join("lambda_function.py"),
    )
    .unwrap();
    let text = std::fs::read_to_string(root.join("stacks/cruddur.yaml")).unwrap();
    let path = dir.path().join("stacks/cruddur.yaml");
    std::fs::write(&path, edit(text)).unwrap();
    Seed { _dir: dir, path }
}

/// The findings for environment `env` of `s`, as `plan` (account known) or `validate`
/// (`offline`) sees them, on `today`.
fn findings_on(s: &Seed, env: &str, offline: bool, today: Date) -> Vec<Diagnostic> {
    let mut stack = crate::stack::load(&s.path).expect("the edited stack loads");
    stack.select(env).expect("the environment fits");
    let mut live = LiveState::default();
    for f in &stack.functions {
        live.artifacts.insert(
            f.address.clone(),
            crate::artifact::build(&f.spec.source).expect("the package builds"),
        );
    }
    let ctx = Context {
        account: if offline {
            crate::resources::policy::eval::UNKNOWN_ACCOUNT.into()
        } else {
            "123456789012".into()
        },
        region: "ca-central-1".into(),
        environment: env.into(),
        today,
        offline,
    };
    check(&stack, &live, &ctx)
}

fn findings(s: &Seed) -> Vec<Diagnostic> {
    findings_on(s, "local", false, Date::new(2026, 12, 3))
}

/// The line of the stack file a finding points at.
fn line(d: &Diagnostic) -> u64 {
    d.loc.expect("a finding has a place").line
}

/// The line of the first line of `s`'s file that contains `text`.
fn line_of(s: &Seed, text: &str) -> u64 {
    let file = std::fs::read_to_string(&s.path).unwrap();
    let at = file.find(text).expect("the text is in the file");
    file[..at].matches('\n').count() as u64 + 1
}

const INDEX_LINE: &str = "            - ${table.messages.arn}/index/message-group-sk-index\n";
const INDEX_ARN: &str = "arn:aws:dynamodb:ca-central-1:123456789012:table/cruddur-messages/index/message-group-sk-index";

#[test]
fn the_seed_stack_as_shipped_has_no_finding_online_or_offline_with_or_without_dax() {
    let s = seed(|t| t);
    assert_eq!(findings(&s), vec![]);
    assert_eq!(
        findings_on(&s, "local", true, Date::new(2026, 12, 3)),
        vec![]
    );
    let dax = seed(|t| {
        t.replace(
            "    region: ca-central-1\n  # The bootcamp's",
            "    region: ca-central-1\n    enable: [dax_cluster.cache, role.dax]\n  # The bootcamp's",
        )
    });
    assert_eq!(findings(&dax), vec![]);
}

#[test]
fn a_missing_index_arn_is_a_warning_with_the_exact_arn_at_the_roles_line() {
    let s = seed(|t| t.replace(INDEX_LINE, ""));
    let f = findings(&s);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Warning);
    assert!(f[0].message.contains(INDEX_ARN), "{}", f[0].message);
    assert!(
        f[0].message.contains("`dynamodb:Query`"),
        "{}",
        f[0].message
    );
    assert!(f[0].help.as_deref().unwrap().contains(INDEX_ARN));
    assert_eq!(line(&f[0]), line_of(&s, "  messaging_stream:\n"));
    // Offline the account is unknown, and the ARN says so.
    let offline = findings_on(&s, "local", true, Date::new(2026, 12, 3));
    assert!(offline[0].message.contains(
        "arn:aws:dynamodb:ca-central-1:<account>:table/cruddur-messages/index/message-group-sk-index"
    ));
}

#[test]
fn an_index_wildcard_or_every_resource_grants_the_index() {
    for resources in [
        "            - ${table.messages.arn}/index/*\n",
        "            - \"*\"\n",
    ] {
        let s = seed(|t| t.replace(INDEX_LINE, resources));
        assert_eq!(findings(&s), vec![], "{resources}");
    }
}

#[test]
fn an_index_named_in_no_environment_variable_needs_no_grant() {
    let s = seed(|t| {
        t.replace(INDEX_LINE, "")
            .replace("      INDEX_NAME: message-group-sk-index\n", "")
    });
    assert_eq!(findings(&s), vec![]);
}

#[test]
fn without_the_stream_policy_the_mapping_is_an_error_naming_the_four_actions_and_the_fix() {
    let s = seed(|t| {
        t.replace(
            "      - arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB\n",
            "",
        )
    });
    let f = findings(&s);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Error);
    for action in [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    ] {
        assert!(f[0].message.contains(action), "{action}: {}", f[0].message);
    }
    // The stream is new: its ARN is checked in the shape AWS will give it.
    assert!(f[0].message.contains(
        "arn:aws:dynamodb:ca-central-1:123456789012:table/cruddur-messages/stream/(known after apply)"
    ));
    let help = f[0].help.as_deref().unwrap();
    assert!(
        help.contains("resources: [\"${table.messages.stream_arn}\"]"),
        "{help}"
    );
    assert!(
        help.contains("actions: [dynamodb:ListStreams]\n        resources: [\"*\"]"),
        "{help}"
    );
    // The statement the help prints, added as written, satisfies the check.
    let fixed = seed(|t| {
        t.replace("      - arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB\n", "")
            .replace(
                INDEX_LINE,
                &format!("{INDEX_LINE}        - effect: Allow\n          actions: [dynamodb:DescribeStream, dynamodb:GetRecords, dynamodb:GetShardIterator]\n          resources: [\"${{table.messages.stream_arn}}\"]\n        - effect: Allow\n          actions: [dynamodb:ListStreams]\n          resources: [\"*\"]\n"),
            )
    });
    assert_eq!(findings(&fixed), vec![]);
    // A grant on the stream ARNs by wildcard covers a stream made by this apply too.
    let wildcard = seed(|t| {
        t.replace("      - arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB\n", "")
            .replace(
                INDEX_LINE,
                &format!("{INDEX_LINE}        - effect: Allow\n          actions: [dynamodb:DescribeStream, dynamodb:GetRecords, dynamodb:GetShardIterator]\n          resources: [\"${{table.messages.arn}}/stream/*\"]\n        - effect: Allow\n          actions: [dynamodb:ListStreams]\n          resources: [\"*\"]\n"),
            )
    });
    assert_eq!(findings(&wildcard), vec![]);
}

#[test]
fn full_access_is_an_over_broad_warning_and_no_logs_a_warning_of_its_own() {
    let s = seed(|t| {
        t.replace(
            "      - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\n",
            "      - arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess\n",
        )
    });
    let f = findings(&s);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert!(f.iter().all(|d| d.severity == Severity::Warning));
    let broad = f
        .iter()
        .find(|d| d.message.contains("AmazonDynamoDBFullAccess"))
        .unwrap();
    assert_eq!(line(broad), line_of(&s, "AmazonDynamoDBFullAccess"));
    let logs = f
        .iter()
        .find(|d| d.message.contains("write no logs"))
        .unwrap();
    assert!(
        logs.message.contains("logs:PutLogEvents"),
        "{}",
        logs.message
    );
}

#[test]
fn logs_granted_on_the_groups_streams_are_enough_and_on_the_bare_group_are_not() {
    let logs = |resource: &str| {
        let resource = resource.to_string();
        seed(move |t| {
            t.replace(
                "      - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\n",
                "",
            )
            .replace(
                INDEX_LINE,
                &format!("{INDEX_LINE}        - effect: Allow\n          actions: [logs:CreateLogStream, logs:PutLogEvents]\n          resources: [\"{resource}\"]\n"),
            )
        })
    };
    let streams =
        logs("arn:aws:logs:${region}:${account}:log-group:/aws/lambda/cruddur-messaging-stream:*");
    assert_eq!(findings(&streams), vec![]);
    let bare =
        logs("arn:aws:logs:${region}:${account}:log-group:/aws/lambda/cruddur-messaging-stream");
    let f = findings(&bare);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message.contains("write no logs"), "{}", f[0].message);
    // The fix names every stream of the group, as written in a stack file.
    assert!(
        f[0].help.as_deref().unwrap().contains("resources: [\"arn:aws:logs:${region}:${account}:log-group:/aws/lambda/cruddur-messaging-stream:*\"]"),
        "{:?}",
        f[0].help
    );
}

#[test]
fn a_known_deny_is_reported_even_beside_a_policy_not_read() {
    let s = seed(|t| {
        t.replace(
            "      - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\n",
            "      - arn:aws:iam::123456789012:policy/cruddur-extra\n",
        )
        .replace(
            INDEX_LINE,
            &format!("{INDEX_LINE}        - effect: Deny\n          actions: [\"dynamodb:GetRecords\"]\n          resources: [\"*\"]\n"),
        )
    });
    let f = findings_on(&s, "local", true, Date::new(2026, 12, 3));
    let stream = f
        .iter()
        .find(|d| d.message.contains("dynamodb:GetRecords"))
        .expect("the deny is found");
    assert_eq!(stream.severity, Severity::Error, "{stream:#?}");
    assert!(
        stream.message.contains("is denied by inline policy"),
        "{}",
        stream.message
    );
}

#[test]
fn an_inline_star_on_every_resource_is_over_broad_and_aws_service_role_policies_are_not() {
    let s = seed(|t| {
        t.replace(
            "          actions: [dynamodb:PutItem, dynamodb:DeleteItem, dynamodb:Query]",
            "          actions: [\"dynamodb:*\"]",
        )
        .replace(INDEX_LINE, "            - \"*\"\n")
        .replace(
            "            - ${table.messages.arn}\n            # Query",
            "            # Query",
        )
    });
    let f = findings(&s);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Warning);
    assert!(f[0].message.contains("`dynamodb:*`"), "{}", f[0].message);
    // At the statement's line, not the role's.
    assert_eq!(line(&f[0]), line_of(&s, "        - effect: Allow"));
}

#[test]
fn a_dax_role_trusting_lambda_is_an_error_at_the_trust_line() {
    let s = seed(|t| {
        t.replace(
            "    region: ca-central-1\n  # The bootcamp's",
            "    region: ca-central-1\n    enable: [dax_cluster.cache, role.dax]\n  # The bootcamp's",
        )
        .replace("trust: [dax.amazonaws.com]", "trust: [lambda.amazonaws.com]")
    });
    let f = findings(&s);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Error);
    assert!(f[0].message.contains("does not trust `dax.amazonaws.com`"));
    assert_eq!(
        line(&f[0]),
        line_of(
            &s,
            "trust: [lambda.amazonaws.com]\n    policies:\n      cruddur-dax"
        )
    );
    // Disabled (as shipped), the same role is not checked.
    let off = seed(|t| {
        t.replace(
            "trust: [dax.amazonaws.com]",
            "trust: [lambda.amazonaws.com]",
        )
    });
    assert_eq!(findings(&off), vec![]);
}

#[test]
fn a_dax_role_without_the_item_actions_on_any_table_is_an_error() {
    let s = seed(|t| {
        t.replace(
            "    region: ca-central-1\n  # The bootcamp's",
            "    region: ca-central-1\n    enable: [dax_cluster.cache, role.dax]\n  # The bootcamp's",
        )
        .replace("            - dynamodb:ConditionCheckItem\n", "")
    });
    let f = findings(&s);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Error);
    assert!(
        f[0].message.contains("`dynamodb:ConditionCheckItem`"),
        "{}",
        f[0].message
    );
}

#[test]
fn a_vpc_function_needs_the_interface_actions_on_every_resource() {
    let vpc = "    vpc: {subnets: [subnet-1], security_groups: [sg-1]}\n    environment:";
    let s = seed(|t| t.replacen("    environment:", vpc, 1));
    let f = findings(&s);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Error);
    assert!(
        f[0].message.contains("ec2:DescribeNetworkInterfaces"),
        "{}",
        f[0].message
    );
    assert!(
        f[0].help
            .as_deref()
            .unwrap()
            .contains("AWSLambdaVPCAccessExecutionRole")
    );
    // Scoped to interface ARNs, `DescribeNetworkInterfaces` is still not granted.
    let scoped = seed(|t| {
        t.replacen("    environment:", vpc, 1).replace(
            INDEX_LINE,
            &format!("{INDEX_LINE}        - effect: Allow\n          actions: [ec2:CreateNetworkInterface, ec2:DescribeNetworkInterfaces, ec2:DeleteNetworkInterface]\n          resources: [\"arn:aws:ec2:*:*:network-interface/*\"]\n"),
        )
    });
    let f = findings(&scoped);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(
        f[0].message
            .contains("does not allow `ec2:DescribeNetworkInterfaces` on `*`, which"),
        "only the action without resource-level permissions is missing: {}",
        f[0].message
    );
    let granted = seed(|t| {
        t.replacen("    environment:", vpc, 1).replace(
            "      - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\n",
            "      - arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole\n",
        )
    });
    assert_eq!(findings(&granted), vec![]);
}

#[test]
fn a_function_role_trusting_another_service_is_an_error() {
    let s = seed(|t| {
        t.replace(
            "trust: [lambda.amazonaws.com]",
            "trust: [dax.amazonaws.com]",
        )
    });
    let f = findings(&s);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(
        f[0].message
            .contains("does not trust `lambda.amazonaws.com`")
    );
}

#[test]
fn a_finding_resting_on_a_condition_says_so_and_is_at_most_a_warning() {
    let s = seed(|t| {
        t.replace("      - arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB\n", "").replace(
            INDEX_LINE,
            &format!("{INDEX_LINE}        - effect: Allow\n          actions: [dynamodb:DescribeStream, dynamodb:GetRecords, dynamodb:GetShardIterator, dynamodb:ListStreams]\n          resources: [\"*\"]\n          conditions: {{Bool: {{aws:SecureTransport: \"true\"}}}}\n"),
        )
    });
    let f = findings(&s);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Warning);
    assert!(
        f[0].message.contains("allowed only when the condition of"),
        "{}",
        f[0].message
    );
}

#[test]
fn a_customer_policy_is_not_checked_offline_and_never_read_as_empty() {
    let s = seed(|t| {
        t.replace(
            "      - arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB\n",
            "      - arn:aws:iam::123456789012:policy/cruddur-streams\n",
        )
    });
    let f = findings_on(&s, "local", true, Date::new(2026, 12, 3));
    assert!(!f.is_empty());
    assert!(f.iter().all(|d| d.severity == Severity::Note), "{f:#?}");
    assert!(
        f.iter()
            .any(|d| d.message.contains("is not checked offline")),
        "{f:#?}"
    );
    assert!(
        f.iter().any(|d| d.message.starts_with("not checked:")),
        "{f:#?}"
    );
}

#[test]
fn handlers_are_checked_against_the_package_at_their_line() {
    for handler in ["nope.lambda_handler", "lambda_handler"] {
        let s = seed(|t| {
            t.replace(
                "handler: lambda_function.lambda_handler",
                &format!("handler: {handler}"),
            )
        });
        let f = findings(&s);
        assert_eq!(f.len(), 1, "{handler}: {f:#?}");
        assert_eq!(f[0].severity, Severity::Error);
        assert_eq!(line(&f[0]), line_of(&s, &format!("handler: {handler}")));
    }
    let s = seed(|t| {
        t.replace(
            "handler: lambda_function.lambda_handler",
            "handler: nope.lambda_handler",
        )
    });
    let f = findings(&s);
    assert!(
        f[0].message.contains("`nope.py` or `nope/__init__.py`"),
        "{}",
        f[0].message
    );
}

#[test]
fn runtime_dates_warn_from_deprecation_and_refuse_new_functions_once_blocked() {
    let s = seed(|t| t.replace("runtime: python3.12", "runtime: python3.9"));
    let f = findings(&s);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Warning);
    assert!(
        f[0].message.contains("deprecated since 2025-12-15"),
        "{}",
        f[0].message
    );
    assert!(f[0].help.as_deref().unwrap().contains("python3.14"));
    // From AWS's block-create date, a new function on it is refused.
    let f = findings_on(&s, "local", false, Date::new(2027, 2, 1));
    assert_eq!(f[0].severity, Severity::Error);
    assert_eq!(line(&f[0]), line_of(&s, "runtime: python3.9"));
}
