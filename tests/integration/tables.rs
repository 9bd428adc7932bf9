//! Tables end to end: apply → empty plan → drift out of band → plan shows it → apply →
//! destroy → gone, checked with the SDK, not with the tool's own reader.

use aws_sdk_dynamodb::types::ProjectionType;

use crate::harness::{Run, SEED_BODY, StackFile, block_on, dynamodb, emulator, one_table_stack};

pub(crate) use describe as describe_table;

pub(crate) async fn describe(name: &str) -> Option<aws_sdk_dynamodb::types::TableDescription> {
    match dynamodb().describe_table().table_name(name).send().await {
        Ok(out) => out.table,
        Err(e) if e.as_service_error().is_some_and(aws_sdk_dynamodb::operation::describe_table::DescribeTableError::is_resource_not_found_exception) => None,
        Err(e) => panic!("describe {name}: {e:?}"),
    }
}

pub(crate) async fn tags(arn: &str) -> Vec<(String, String)> {
    let out = dynamodb()
        .list_tags_of_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("tags");
    out.tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

#[test]
fn prod_through_aws_endpoint_url_detects_and_repairs_capacity_drift_then_destroys() {
    let file = StackFile::new(&one_table_stack("drift", "it-drift-messages", SEED_BODY));
    let run = |args: &[&str]| {
        Run::new(&file.path, args)
            .env("AWS_ENDPOINT_URL", &emulator().url)
            .run()
    };

    let apply = run(&["apply", "prod", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply.stdout.contains("environment prod"),
        "{}",
        apply.stdout
    );
    assert!(
        apply
            .stdout
            .contains(&format!("endpoint {}", emulator().url)),
        "the header names a non-AWS endpoint: {}",
        apply.stdout
    );
    assert_eq!(run(&["plan", "prod", "--detailed-exitcode"]).code, 0);

    block_on(async {
        dynamodb()
            .update_table()
            .table_name("it-drift-messages")
            .provisioned_throughput(
                aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                    .read_capacity_units(10)
                    .write_capacity_units(5)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("out-of-band change")
    });
    let drift = run(&["plan", "prod", "--detailed-exitcode"]);
    assert_eq!(drift.code, 2, "{drift:?}");
    assert!(
        drift.stdout.contains("~ billing.read = 10 → 5"),
        "{}",
        drift.stdout
    );
    assert!(
        drift
            .stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy.")
    );
    assert_eq!(
        run(&["plan", "prod"]).code,
        0,
        "plain plan exits 0 even with changes"
    );

    assert_eq!(run(&["apply", "prod", "--yes"]).code, 0);
    let table = block_on(describe("it-drift-messages")).unwrap();
    assert_eq!(
        table
            .provisioned_throughput()
            .unwrap()
            .read_capacity_units(),
        Some(5)
    );
    assert_eq!(run(&["plan", "prod", "--detailed-exitcode"]).code, 0);

    let destroy = run(&["destroy", "prod", "--yes"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert!(
        destroy
            .stdout
            .contains("Destroy complete! Resources: 1 destroyed.")
    );
    assert!(
        block_on(describe("it-drift-messages")).is_none(),
        "destroy waits until the table is gone"
    );
    assert_eq!(run(&["plan", "prod", "--detailed-exitcode"]).code, 2);
}

#[test]
fn index_add_projection_change_and_key_change_each_apply_to_an_empty_plan() {
    let name = "it-evolve-messages";
    let file = StackFile::new(&one_table_stack("evolve", name, SEED_BODY));
    assert_eq!(file.run(&["apply", "--yes"]).code, 0);

    // 1. Adding an index is an in-place update.
    let with_index = SEED_BODY.replace("message_group_uuid: S}", "message_group_uuid: S, user_uuid: S}").replace(
        "    stream: NEW_IMAGE\n",
        "      - name: by-user\n        key: {hash: user_uuid}\n        projection: INCLUDE\n        non_key_attributes: [message, handle]\n        read: 1\n        write: 1\n    stream: NEW_IMAGE\n",
    );
    file.rewrite(&one_table_stack("evolve", name, &with_index));
    let plan = file.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2);
    assert!(
        plan.stdout.contains("will be updated in place"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("+ global_secondary_index[\"by-user\"].projection"),
        "{}",
        plan.stdout
    );
    assert_eq!(file.run(&["apply", "--yes"]).code, 0);
    assert_eq!(
        file.run(&["plan", "--detailed-exitcode"]).code,
        0,
        "non-key attributes compare as a set"
    );
    let table = block_on(describe(name)).unwrap();
    assert_eq!(table.global_secondary_indexes().len(), 2);

    // 2. Changing that index's projection replaces the index, not the table.
    let keys_only = with_index.replace(
        "projection: INCLUDE\n        non_key_attributes: [message, handle]\n",
        "projection: KEYS_ONLY\n",
    );
    file.rewrite(&one_table_stack("evolve", name, &keys_only));
    let plan = file.run(&["plan"]);
    assert!(
        plan.stdout.contains("replaces index \"by-user\""),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("0 to add, 1 to change, 0 to destroy"));
    let apply = file.run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply.stderr.contains("deleting index \"by-user\""),
        "{}",
        apply.stderr
    );
    let table = block_on(describe(name)).unwrap();
    let by_user = table
        .global_secondary_indexes()
        .iter()
        .find(|g| g.index_name() == Some("by-user"))
        .unwrap();
    assert_eq!(
        by_user.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::KeysOnly)
    );
    assert_eq!(file.run(&["plan", "--detailed-exitcode"]).code, 0);

    // 3. Changing the table's sort key replaces the table.
    let rekeyed = keys_only
        .replace("user_uuid: S}", "user_uuid: S, created_at: S}")
        .replace(
            "    key: {hash: pk, range: sk}",
            "    key: {hash: pk, range: created_at}",
        );
    file.rewrite(&one_table_stack("evolve", name, &rekeyed));
    let plan = file.run(&["plan"]);
    assert!(
        plan.stdout.contains("-/+ table.messages"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("key.range = \"sk (S)\" → \"created_at (S)\" # forces replacement"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("must be replaced (delete, then create) because of key.range")
    );
    assert_eq!(file.run(&["apply", "--yes"]).code, 0);
    let table = block_on(describe(name)).unwrap();
    assert_eq!(table.key_schema()[1].attribute_name(), "created_at");
    assert_eq!(file.run(&["plan", "--detailed-exitcode"]).code, 0);
    assert_eq!(file.run(&["destroy", "--yes"]).code, 0);
}

#[test]
fn on_demand_ttl_backups_and_tags_round_trip_and_billing_switches_in_place() {
    let name = "it-ondemand-messages";
    let body = "    attributes: {pk: S, g: N}
    key: {hash: pk}
    billing: {mode: PAY_PER_REQUEST}
    global_secondary_indexes:
      - {name: by-g, key: {hash: g}, projection: KEYS_ONLY}
    ttl_attribute: expires_at
    point_in_time_recovery: true
    tags: {app: cruddur, team: bootcamp}
";
    let file = StackFile::new(&one_table_stack("ondemand", name, body));
    let apply = file.run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert_eq!(file.run(&["plan", "--detailed-exitcode"]).code, 0);
    block_on(async {
        let ttl = dynamodb()
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .unwrap();
        assert_eq!(
            ttl.time_to_live_description()
                .and_then(|d| d.attribute_name()),
            Some("expires_at")
        );
        let table = describe(name).await.unwrap();
        let tags = tags(table.table_arn().unwrap()).await;
        assert!(tags.contains(&("team".into(), "bootcamp".into())));
        assert!(tags.contains(&("cruddur-infra:stack".into(), "ondemand".into())));
    });

    // Switch to provisioned: every index needs capacity in the same call.
    let provisioned = body
        .replace(
            "{mode: PAY_PER_REQUEST}",
            "{mode: PROVISIONED, read: 2, write: 2}",
        )
        .replace(
            "projection: KEYS_ONLY}",
            "projection: KEYS_ONLY, read: 1, write: 1}",
        )
        .replace("team: bootcamp", "team: alumni");
    file.rewrite(&one_table_stack("ondemand", name, &provisioned));
    let plan = file.run(&["plan"]);
    assert!(plan.stdout.contains("~ billing.mode"), "{}", plan.stdout);
    assert!(plan.stdout.contains("~ tags[\"team\"]"), "{}", plan.stdout);
    assert_eq!(file.run(&["apply", "--yes"]).code, 0);
    assert_eq!(
        file.run(&["plan", "--detailed-exitcode"]).code,
        0,
        "{:?}",
        file.run(&["plan"])
    );
    assert_eq!(file.run(&["destroy", "--yes"]).code, 0);
}

#[test]
fn apply_without_a_terminal_or_yes_refuses_and_writes_nothing() {
    let name = "it-refuse-messages";
    let file = StackFile::new(&one_table_stack("refuse", name, SEED_BODY));
    let out = file.run(&["apply"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("will be created"),
        "the plan is shown first"
    );
    assert!(
        out.stderr.contains("standard input is not a terminal"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--yes"));
    assert!(block_on(describe(name)).is_none(), "no table was created");
}

#[test]
fn a_same_named_table_the_stack_does_not_own_stops_plan_and_survives_destroy() {
    let name = "it-foreign-messages";
    block_on(async {
        crate::harness::hand_made_table(&dynamodb(), name).await;
    });
    let file = StackFile::new(&one_table_stack("foreign", name, SEED_BODY));
    let plan = file.run(&["plan"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr
            .contains("`it-foreign-messages` already exists and is owned by no stack"),
        "{}",
        plan.stderr
    );
    let destroy = file.run(&["destroy", "--yes"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert!(destroy.stdout.contains("left in place"));
    assert!(
        block_on(describe(name)).is_some(),
        "destroy never touches what the stack does not own"
    );
}
