//! `permissions prod` against what the tool really calls: a loopback proxy logs every call
//! of a plan, an apply from empty, an in-place change of every kind, a second change (a
//! function renamed, so its old self goes as a stray; an endpoint tag removed; fewer DAX
//! nodes) and a destroy with `--backup` of the seed stack, with DAX enabled and disabled.
//! The policy must name every action the log shows, and no action the log never shows but
//! those its note lists as needed on AWS only; `--plan-only` must cover what `plan` calls.

use std::collections::BTreeSet;

use crate::harness::{Run, block_on, private_emulator, sdk_config_for, start_proxy};
use crate::seed::seed_copy_with;

/// Every `prefix:Operation` the proxy saw answered, as IAM names the action.
fn logged(proxy: &crate::harness::proxy::Proxy) -> BTreeSet<String> {
    proxy
        .stats
        .lock()
        .unwrap()
        .clean()
        .filter(|c| c.service != "unknown")
        .map(|c| {
            let prefix = if c.service == "tagging" {
                "tag"
            } else {
                c.service.as_str()
            };
            format!("{prefix}:{}", c.op)
        })
        .collect()
}

/// The actions of a policy document.
fn actions(policy: &serde_json::Value) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

/// The actions the note lists as needed on AWS only.
fn aws_only(stderr: &str) -> BTreeSet<String> {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("note: needed on AWS only"))
        .and_then(|l| l.split("): ").nth(1))
        .map(|l| l.split(", ").map(str::to_string).collect())
        .unwrap_or_default()
}

/// Runs the whole life of the seed stack through a proxy and returns what was logged in
/// `plan` alone, what was logged in all, and `permissions prod --backup` (and
/// `--plan-only`) with their notes.
fn life(dax: bool) {
    let emulator = private_emulator();
    // Latency and a one-second lease make every apply and destroy outlive a lease
    // renewal, which a real run of minutes always does (`dynamodb:UpdateItem` on the lock).
    let proxy = start_proxy(crate::harness::proxy::ProxyConfig {
        latency: std::time::Duration::from_millis(40),
        ..crate::harness::passthrough(&emulator.url)
    });
    let tag = if dax { "it-perm-dax" } else { "it-perm" };
    let copy = seed_copy_with(tag, true);
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", proxy.url.as_str()]);
        Run::new(&copy.stack, &all)
            .env("CRUDDUR_INFRA_LOCK_LEASE_SECONDS", "1")
            .run()
    };
    let mut text = std::fs::read_to_string(&copy.stack).unwrap();
    if dax {
        text = text.replace(
            "  prod:\n    region: ca-central-1\n",
            "  prod:\n    region: ca-central-1\n    enable: [dax_cluster.cache, role.dax]\n",
        );
        assert!(text.contains("enable: [dax_cluster.cache, role.dax]"));
    }
    std::fs::write(&copy.stack, &text).unwrap();
    let converge = |what: &str| {
        let apply = run(&["apply", "prod", "--yes"]);
        assert_eq!(apply.code, 0, "{what}: {apply:?}");
        let plan = run(&["plan", "prod", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "{what}: the next plan is empty: {plan:?}");
        apply
    };

    let plan = run(&["plan", "prod"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let planned = logged(&proxy);
    converge("apply from empty");

    // One in-place change of every kind, each touching every call its update makes.
    let subnet = block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&sdk_config_for(&emulator.url));
        let out = ec2
            .describe_subnets()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("default-for-az")
                    .values("true")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.subnets()[0].subnet_id().unwrap().to_string()
    });
    let edits: &[(&str, &str)] = &[
        // table: capacity, TTL, point-in-time recovery, a tag set and one removed
        (
            "      mode: PROVISIONED\n      read: 5",
            "      mode: PROVISIONED\n      read: 6",
        ),
        (
            "    point_in_time_recovery: false\n",
            "    point_in_time_recovery: true\n    ttl_attribute: expires_at\n",
        ),
        (
            "    tags:\n      app: cruddur\n\nroles:",
            "    tags:\n      team: messaging\n\nroles:",
        ),
        // role: description, trust, an inline policy renamed, a managed policy swapped, tags
        (
            "description: Lets the cruddur-messaging-stream function rewrite message groups",
            "description: Rewrites message groups",
        ),
        (
            "trust: [lambda.amazonaws.com]",
            "trust: [lambda.amazonaws.com, edgelambda.amazonaws.com]",
        ),
        (
            "      cruddur-messaging-stream-dynamodb:",
            "      messaging-dynamodb:",
        ),
        (
            "      - arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB\n",
            "      - arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole\n",
        ),
        (
            "    tags:\n      app: cruddur\n\n  # The role DAX",
            "    tags:\n      team: messaging\n\n  # The role DAX",
        ),
        // function: configuration, log retention, tags (its code below)
        (
            "    timeout: 10\n",
            "    timeout: 10\n    memory: 256\n    log_retention_days: 7\n",
        ),
        (
            "    tags:\n      app: cruddur\n\nevent_source_mappings:",
            "    tags:\n      team: messaging\n\nevent_source_mappings:",
        ),
        // mapping
        ("    batch_size: 1\n", "    batch_size: 2\n"),
        // endpoint: policy, a tag
        (
            "        actions: [\"*\"]",
            "        actions: [\"dynamodb:*\"]",
        ),
        (
            "    route_tables: main\n",
            "    route_tables: main\n    tags:\n      team: messaging\n",
        ),
        // DAX: description, nodes, TTL, subnets, tags
        (
            "description: Cruddur message cache",
            "description: Cruddur cache",
        ),
        ("replication_factor: 1", "replication_factor: 2"),
        ("      record_ttl: 5m", "      record_ttl: 10m"),
        ("    subnets: default\n", "__SUBNETS__"),
        (
            "    tags:\n      app: cruddur\n\nfunctions:",
            "    tags:\n      team: messaging\n\nfunctions:",
        ),
    ];
    for (from, to) in edits {
        assert!(text.contains(from), "the seed stack holds {from:?}");
        let to = to.replace("__SUBNETS__", &format!("    subnets: [{subnet}]\n"));
        text = text.replace(from, &to);
    }
    std::fs::write(&copy.stack, &text).unwrap();
    let mut handler = std::fs::read_to_string(&copy.handler).unwrap();
    handler.push_str("\n# a change of code\n");
    std::fs::write(&copy.handler, handler).unwrap();
    let changed = converge("a change of every kind");
    for address in [
        "table.messages",
        "role.messaging_stream",
        "function.messaging_stream",
        "log_group.messaging_stream",
        "event_source_mapping.messages_stream",
        "vpc_endpoint.dynamodb",
    ] {
        assert!(
            changed
                .stdout
                .contains(&format!("{address} will be updated in place")),
            "{address}: {}",
            changed.stdout
        );
    }
    if dax {
        assert!(
            changed
                .stdout
                .contains("dax_cluster.cache will be updated in place"),
            "{}",
            changed.stdout
        );
    }

    // The function renamed (its old self deleted as a stray, with its mapping and log
    // group), the endpoint's tag removed, one DAX node less.
    for (from, to) in [
        (format!("name: {tag}-fn\n"), format!("name: {tag}-fn2\n")),
        (
            "    route_tables: main\n    tags:\n      team: messaging\n".into(),
            "    route_tables: main\n".into(),
        ),
        (
            "replication_factor: 2".into(),
            "replication_factor: 1".into(),
        ),
    ] {
        assert!(text.contains(&from), "{from:?}");
        text = text.replace(&from, &to);
    }
    std::fs::write(&copy.stack, &text).unwrap();
    let renamed = converge("a function renamed");
    assert!(
        renamed.stdout.contains("no longer declared"),
        "{}",
        renamed.stdout
    );

    // What destroy meets on AWS: the role in an instance profile, a table with items.
    block_on(async {
        let config = sdk_config_for(&emulator.url);
        let iam = aws_sdk_iam::Client::new(&config);
        iam.create_instance_profile()
            .instance_profile_name(format!("{tag}-profile"))
            .send()
            .await
            .unwrap();
        iam.add_role_to_instance_profile()
            .instance_profile_name(format!("{tag}-profile"))
            .role_name(format!("{tag}-role"))
            .send()
            .await
            .unwrap();
        aws_sdk_dynamodb::Client::new(&config)
            .put_item()
            .table_name(format!("{tag}-messages"))
            .item(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S("MSG#1".into()),
            )
            .item(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("2026".into()),
            )
            .send()
            .await
            .unwrap();
    });
    let destroy = run(&["destroy", "prod", "--yes", "--allow-data-loss", "--backup"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert!(destroy.stdout.contains("Backup of"), "{}", destroy.stdout);
    let all = logged(&proxy);

    let permissions = run(&["permissions", "prod", "--backup"]);
    assert_eq!(permissions.code, 0, "{permissions:?}");
    let policy: serde_json::Value =
        serde_json::from_str(&permissions.stdout).expect("the policy is JSON");
    let named = actions(&policy);
    let only_on_aws = aws_only(&permissions.stderr);
    assert!(
        only_on_aws.contains("iam:PassRole"),
        "{}",
        permissions.stderr
    );
    let missing: Vec<&String> = all.difference(&named).collect();
    assert!(
        missing.is_empty(),
        "called but not in the policy: {missing:?}\n{}",
        permissions.stdout
    );
    let unused: Vec<&String> = named
        .difference(&all)
        .filter(|a| !only_on_aws.contains(*a))
        .collect();
    assert!(
        unused.is_empty(),
        "in the policy but never called (and not noted as AWS-only): {unused:?}"
    );
    let dax_actions = named.iter().any(|a| a.starts_with("dax:"));
    assert_eq!(
        dax_actions, dax,
        "DAX actions exactly when DAX is enabled: {named:?}"
    );

    // Scoped to the stack's ARNs, and every `*` says why.
    for statement in policy["Statement"].as_array().unwrap() {
        let sid = statement["Sid"]
            .as_str()
            .expect("every statement has a Sid");
        if statement["Resource"] == "*" {
            assert!(
                permissions.stderr.contains(&format!("`{sid}`"))
                    || permissions.stderr.contains(&format!("  {sid}: ")),
                "the note says why {sid} is `*`: {}",
                permissions.stderr
            );
        } else {
            for r in statement["Resource"].as_array().unwrap() {
                let r = r.as_str().unwrap();
                assert!(
                    r.contains(":123456789012:") || r.contains("::123456789012:"),
                    "{sid}: {r} is scoped to the account"
                );
            }
        }
    }

    // Read-only CI: `--plan-only` covers what `plan` calls, and only reads.
    let plan_only = run(&["permissions", "prod", "--plan-only"]);
    let plan_policy: serde_json::Value = serde_json::from_str(&plan_only.stdout).unwrap();
    let plan_named = actions(&plan_policy);
    let missing: Vec<&String> = planned.difference(&plan_named).collect();
    assert!(
        missing.is_empty(),
        "plan called {missing:?}, which --plan-only leaves out"
    );
    let writes: Vec<&String> = plan_named
        .iter()
        .filter(|a| {
            [
                "Create", "Update", "Delete", "Put", "Tag", "Untag", "Attach", "Detach", "Modify",
                "Pass",
            ]
            .iter()
            .any(|w| a.split(':').nth(1).is_some_and(|op| op.starts_with(w)))
        })
        .collect();
    assert!(writes.is_empty(), "--plan-only grants writes: {writes:?}");
}

#[test]
fn permissions_cover_every_call_of_a_whole_life_with_dax_enabled() {
    life(true);
}

#[test]
fn permissions_cover_every_call_of_a_whole_life_with_dax_disabled() {
    life(false);
}
