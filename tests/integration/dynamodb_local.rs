//! Tables end to end against AWS's own DynamoDB Local (the bootcamp's local database), run
//! with `-delayTransientStatuses` so indexes stay `CREATING`/`DELETING` as on AWS. It
//! enforces what moto lets slide: one online index create or delete per table at a time,
//! attribute definitions that match the keys exactly, deletion protection, a stream that
//! gets a new ARN when re-enabled. Every result is checked with the SDK directly, never
//! with the tool's own reader. DynamoDB Local has no tags, STS or Tagging API: ownership is
//! the record in the lock table, and no run may name those calls.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, IndexStatus, KeyType, ProjectionType, ProvisionedThroughput, StreamViewType,
    TableDescription,
};

use crate::harness::{
    Output, Run, SEED_BODY, StackFile, block_on, dynamodb_local_client, dynamodb_local_stack,
};

/// One run of the binary against the stack's `ddb` environment (DynamoDB Local).
fn run(file: &StackFile, args: &[&str]) -> Output {
    Run::new(&file.path, args).run()
}

/// Asserts that nothing in a run's output names a call DynamoDB Local does not have.
fn no_unserved_calls(out: &Output) {
    for call in [
        "GetCallerIdentity",
        "GetResources",
        "TagResource",
        "ListTagsOfResource",
        "ContinuousBackups",
        "STS",
    ] {
        assert!(
            !out.stdout.contains(call) && !out.stderr.contains(call),
            "a run on DynamoDB Local names `{call}`: {out:?}"
        );
    }
}

async fn describe(name: &str) -> Option<TableDescription> {
    match dynamodb_local_client()
        .describe_table()
        .table_name(name)
        .send()
        .await
    {
        Ok(out) => out.table,
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_dynamodb::operation::describe_table::DescribeTableError::is_resource_not_found_exception,
            ) =>
        {
            None
        }
        Err(e) => panic!("describe {name}: {e:?}"),
    }
}

/// The ownership record for table `name` in the lock table, as plain strings.
async fn record(name: &str) -> Option<HashMap<String, String>> {
    let out = dynamodb_local_client()
        .get_item()
        .table_name("cruddur-infra-locks")
        .key("pk", AttributeValue::S(format!("owner#table#{name}")))
        .consistent_read(true)
        .send()
        .await
        .expect("read the lock table");
    out.item.map(|item| {
        item.into_iter()
            .filter_map(|(k, v)| v.as_s().ok().map(|s| (k, s.clone())))
            .collect()
    })
}

fn put_item(table: &str, pk: &str, sk: &str) {
    block_on(async {
        dynamodb_local_client()
            .put_item()
            .table_name(table)
            .item("pk", AttributeValue::S(pk.into()))
            .item("sk", AttributeValue::S(sk.into()))
            .send()
            .await
            .expect("put an item");
    });
}

fn key_of(t: &TableDescription) -> Vec<(String, KeyType)> {
    t.key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_string(), k.key_type().clone()))
        .collect()
}

#[test]
fn the_seed_table_is_made_as_schema_load_makes_it_owned_by_a_record_and_destroyed_with_it() {
    let name = "ddbl-seed-messages";
    let file = StackFile::new(&dynamodb_local_stack(
        "ddblseed",
        name,
        &format!("{SEED_BODY}    point_in_time_recovery: true\n    tags: {{app: cruddur}}\n"),
    ));
    let apply = run(&file, &["apply", "ddb", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    no_unserved_calls(&apply);
    assert!(
        apply.stdout.contains("account 000000000000"),
        "{}",
        apply.stdout
    );
    assert!(
        apply.stdout.contains(
            "note: DynamoDB Local cannot hold `tags` or `point_in_time_recovery`: they are not compared or set here"
        ),
        "{}",
        apply.stdout
    );

    let t = block_on(describe(name)).expect("the table exists");
    assert_eq!(
        key_of(&t),
        [("pk".into(), KeyType::Hash), ("sk".into(), KeyType::Range)]
    );
    let capacity = t.provisioned_throughput().expect("provisioned");
    assert_eq!(
        (
            capacity.read_capacity_units(),
            capacity.write_capacity_units()
        ),
        (Some(5), Some(5))
    );
    let gsi = &t.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("message-group-sk-index"));
    assert_eq!(
        gsi.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::All)
    );
    let gsi_capacity = gsi.provisioned_throughput().expect("index capacity");
    assert_eq!(
        (
            gsi_capacity.read_capacity_units(),
            gsi_capacity.write_capacity_units()
        ),
        (Some(5), Some(5))
    );
    let stream = t.stream_specification().expect("a stream");
    assert!(stream.stream_enabled());
    assert_eq!(stream.stream_view_type(), Some(&StreamViewType::NewImage));

    let owned = block_on(record(name)).expect("an ownership record");
    assert_eq!(owned.get("stack").map(String::as_str), Some("ddblseed"));
    assert_eq!(
        owned.get("address").map(String::as_str),
        Some("table.messages")
    );

    let plan = run(&file, &["plan", "ddb", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    no_unserved_calls(&plan);

    let destroy = run(&file, &["destroy", "ddb", "--yes"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    no_unserved_calls(&destroy);
    assert!(block_on(describe(name)).is_none());
    assert!(
        block_on(record(name)).is_none(),
        "the record goes with the table"
    );
    assert_eq!(run(&file, &["plan", "ddb"]).code, 0);
}

/// A table with two indexes on `a` and `b`, the first projecting `projection`.
fn indexed_body(projection: &str) -> String {
    format!(
        "    attributes: {{pk: S, sk: S, a: S, b: S}}
    key: {{hash: pk, range: sk}}
    billing: {{mode: PROVISIONED, read: 5, write: 5}}
    global_secondary_indexes:
      - name: by-a
        key: {{hash: a}}
        projection: {projection}
        read: 1
        write: 1
      - name: by-b
        key: {{hash: b}}
        projection: ALL
        read: 1
        write: 1
"
    )
}

#[test]
fn two_indexes_are_added_one_at_a_time_and_a_projection_change_waits_for_the_delete() {
    let name = "ddbl-index-messages";
    let bare = "    attributes: {pk: S, sk: S}
    key: {hash: pk, range: sk}
    billing: {mode: PROVISIONED, read: 5, write: 5}
";
    let file = StackFile::new(&dynamodb_local_stack("ddblindex", name, bare));
    assert_eq!(run(&file, &["apply", "ddb", "--yes"]).code, 0);

    // DynamoDB Local refuses two online index creates in one UpdateTable (as AWS does), and
    // keeps each index CREATING for a while: the apply must sequence and wait.
    file.rewrite(&dynamodb_local_stack(
        "ddblindex",
        name,
        &indexed_body("ALL"),
    ));
    let apply = run(&file, &["apply", "ddb", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let t = block_on(describe(name)).expect("table");
    let mut indexes: Vec<(String, IndexStatus)> = t
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            (
                g.index_name().unwrap_or_default().to_string(),
                g.index_status().cloned().expect("status"),
            )
        })
        .collect();
    indexes.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        indexes,
        [
            ("by-a".into(), IndexStatus::Active),
            ("by-b".into(), IndexStatus::Active)
        ]
    );
    assert_eq!(run(&file, &["plan", "ddb", "--detailed-exitcode"]).code, 0);

    // A projection cannot change in place: delete the index, wait until it is gone, create.
    file.rewrite(&dynamodb_local_stack(
        "ddblindex",
        name,
        &indexed_body("KEYS_ONLY"),
    ));
    let apply = run(&file, &["apply", "ddb", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let t = block_on(describe(name)).expect("table");
    let by_a = t
        .global_secondary_indexes()
        .iter()
        .find(|g| g.index_name() == Some("by-a"))
        .expect("by-a is back");
    assert_eq!(
        by_a.projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::KeysOnly)
    );
    assert_eq!(by_a.index_status(), Some(&IndexStatus::Active));
    assert_eq!(run(&file, &["plan", "ddb", "--detailed-exitcode"]).code, 0);
    assert_eq!(run(&file, &["destroy", "ddb", "--yes"]).code, 0);
    assert!(block_on(describe(name)).is_none());
}

#[test]
fn a_stream_view_change_capacity_drift_and_a_sort_key_replacement() {
    let name = "ddbl-change-messages";
    let body = |view: &str, range: &str| {
        format!(
            "    attributes: {{pk: S, {range}: S}}
    key: {{hash: pk, range: {range}}}
    billing: {{mode: PROVISIONED, read: 5, write: 5}}
    stream: {view}
"
        )
    };
    let file = StackFile::new(&dynamodb_local_stack(
        "ddblchange",
        name,
        &body("NEW_IMAGE", "sk"),
    ));
    assert_eq!(run(&file, &["apply", "ddb", "--yes"]).code, 0);
    let before = block_on(describe(name))
        .and_then(|t| t.latest_stream_arn)
        .expect("a stream ARN");

    // The view type cannot change in place: disable, then enable with the new view.
    file.rewrite(&dynamodb_local_stack(
        "ddblchange",
        name,
        &body("NEW_AND_OLD_IMAGES", "sk"),
    ));
    let apply = run(&file, &["apply", "ddb", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let t = block_on(describe(name)).expect("table");
    assert_eq!(
        t.stream_specification().and_then(|s| s.stream_view_type()),
        Some(&StreamViewType::NewAndOldImages)
    );
    assert_ne!(
        t.latest_stream_arn(),
        Some(before.as_str()),
        "a re-enabled stream is a new stream"
    );
    assert_eq!(run(&file, &["plan", "ddb", "--detailed-exitcode"]).code, 0);

    // Capacity changed out of band: planned, then repaired.
    block_on(async {
        dynamodb_local_client()
            .update_table()
            .table_name(name)
            .provisioned_throughput(
                ProvisionedThroughput::builder()
                    .read_capacity_units(7)
                    .write_capacity_units(7)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("change capacity by hand");
    });
    let drift = run(&file, &["plan", "ddb", "--detailed-exitcode"]);
    assert_eq!(drift.code, 2, "{drift:?}");
    assert!(
        drift.stdout.contains("billing.read") && drift.stdout.contains("7 → 5"),
        "{}",
        drift.stdout
    );
    assert_eq!(run(&file, &["apply", "ddb", "--yes"]).code, 0);
    let capacity = block_on(describe(name))
        .and_then(|t| t.provisioned_throughput)
        .expect("capacity");
    assert_eq!(capacity.read_capacity_units(), Some(5));
    assert_eq!(run(&file, &["plan", "ddb", "--detailed-exitcode"]).code, 0);

    // A new sort key replaces the table: refused while it holds items, unless allowed.
    put_item(name, "MSG#1", "2023-01-01");
    file.rewrite(&dynamodb_local_stack(
        "ddblchange",
        name,
        &body("NEW_AND_OLD_IMAGES", "created_at"),
    ));
    let refused = run(&file, &["apply", "ddb", "--yes"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("this plan deletes tables that hold items"),
        "{}",
        refused.stderr
    );
    let kept = block_on(describe(name)).expect("table kept");
    assert_eq!(kept.key_schema()[1].attribute_name(), "sk");
    let backup = run(
        &file,
        &["apply", "ddb", "--yes", "--allow-data-loss", "--backup"],
    );
    assert_eq!(backup.code, 1, "{backup:?}");
    assert!(
        backup
            .stderr
            .contains("--backup cannot keep a copy here: DynamoDB Local has no backups"),
        "{}",
        backup.stderr
    );
    let replaced = run(&file, &["apply", "ddb", "--yes", "--allow-data-loss"]);
    assert_eq!(replaced.code, 0, "{replaced:?}");
    let t = block_on(describe(name)).expect("the new table");
    assert_eq!(
        key_of(&t),
        [
            ("pk".into(), KeyType::Hash),
            ("created_at".into(), KeyType::Range)
        ]
    );
    assert_eq!(t.item_count(), Some(0));
    assert!(
        block_on(record(name)).is_some(),
        "the replacement keeps its ownership record"
    );
    assert_eq!(run(&file, &["plan", "ddb", "--detailed-exitcode"]).code, 0);
    assert_eq!(run(&file, &["destroy", "ddb", "--yes"]).code, 0);
    assert!(block_on(describe(name)).is_none());
}

#[test]
fn a_hand_made_table_is_refused_then_adopted_and_deletion_protection_blocks_destroy() {
    let name = "ddbl-adopt-messages";
    block_on(async {
        crate::harness::hand_made_table(&dynamodb_local_client(), name).await;
    });
    let body = |protection: bool| {
        format!(
            "    attributes: {{pk: S}}
    key: {{hash: pk}}
    billing: {{mode: PAY_PER_REQUEST}}
    deletion_protection: {protection}
"
        )
    };
    let file = StackFile::new(&dynamodb_local_stack("ddbladopt", name, &body(false)));
    let plan = run(&file, &["plan", "ddb"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr
            .contains(&format!("`{name}` already exists and is owned by no stack")),
        "{}",
        plan.stderr
    );
    assert_eq!(run(&file, &["destroy", "ddb", "--yes"]).code, 0);
    assert!(
        block_on(describe(name)).is_some(),
        "destroy leaves a table without a record alone"
    );

    let adopt = run(&file, &["adopt", "ddb", "table.messages", "--yes"]);
    assert_eq!(adopt.code, 0, "{adopt:?}");
    no_unserved_calls(&adopt);
    assert!(
        adopt.stdout.contains("writes an ownership record"),
        "{}",
        adopt.stdout
    );
    let owned = block_on(record(name)).expect("adopt writes the record");
    assert_eq!(owned.get("stack").map(String::as_str), Some("ddbladopt"));
    assert_eq!(run(&file, &["plan", "ddb", "--detailed-exitcode"]).code, 0);

    file.rewrite(&dynamodb_local_stack("ddbladopt", name, &body(true)));
    assert_eq!(run(&file, &["apply", "ddb", "--yes"]).code, 0);
    assert_eq!(
        block_on(describe(name)).and_then(|t| t.deletion_protection_enabled),
        Some(true)
    );
    let blocked = run(&file, &["destroy", "ddb", "--yes"]);
    assert_eq!(blocked.code, 1, "{blocked:?}");
    assert!(
        blocked.stderr.contains("has deletion protection on"),
        "{}",
        blocked.stderr
    );
    assert!(block_on(describe(name)).is_some());

    file.rewrite(&dynamodb_local_stack("ddbladopt", name, &body(false)));
    assert_eq!(run(&file, &["apply", "ddb", "--yes"]).code, 0);
    assert_eq!(run(&file, &["destroy", "ddb", "--yes"]).code, 0);
    assert!(block_on(describe(name)).is_none());
    assert!(block_on(record(name)).is_none());
}

#[test]
fn a_table_the_stack_no_longer_declares_is_found_by_its_record_and_deleted() {
    let file = StackFile::new(&dynamodb_local_stack(
        "ddblstray",
        "ddbl-stray-old",
        "    attributes: {pk: S}\n    key: {hash: pk}\n    billing: {mode: PAY_PER_REQUEST}\n",
    ));
    assert_eq!(run(&file, &["apply", "ddb", "--yes"]).code, 0);
    // Renamed in the file: the old table is a stray, known only by its record here.
    file.rewrite(&dynamodb_local_stack(
        "ddblstray",
        "ddbl-stray-new",
        "    attributes: {pk: S}\n    key: {hash: pk}\n    billing: {mode: PAY_PER_REQUEST}\n",
    ));
    let plan = run(&file, &["plan", "ddb"]);
    assert!(
        plan.stdout.contains("ddbl-stray-old") && plan.stdout.contains("no longer declared"),
        "{plan:?}"
    );
    let apply = run(&file, &["apply", "ddb", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(block_on(describe("ddbl-stray-old")).is_none());
    assert!(block_on(record("ddbl-stray-old")).is_none());
    assert!(block_on(describe("ddbl-stray-new")).is_some());
    assert_eq!(run(&file, &["plan", "ddb", "--detailed-exitcode"]).code, 0);
    assert_eq!(run(&file, &["destroy", "ddb", "--yes"]).code, 0);
    assert!(block_on(describe("ddbl-stray-new")).is_none());
}

#[test]
fn a_record_that_outlived_its_table_does_not_make_a_new_hand_made_table_ours() {
    let name = "ddbl-stale-messages";
    let body =
        "    attributes: {pk: S}\n    key: {hash: pk}\n    billing: {mode: PAY_PER_REQUEST}\n";
    let file = StackFile::new(&dynamodb_local_stack("ddblstale", name, body));
    assert_eq!(run(&file, &["apply", "ddb", "--yes"]).code, 0);
    // Dropped outside the tool (the bootcamp's drop script), then made again by hand.
    let client = dynamodb_local_client();
    block_on(async {
        client.delete_table().table_name(name).send().await.unwrap();
        // DynamoDB Local's creation times are in milliseconds; the record's must not match.
        tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
        crate::harness::hand_made_table(&client, name).await;
    });
    assert!(
        block_on(record(name)).is_some(),
        "the old record is still there"
    );
    let plan = run(&file, &["plan", "ddb"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stderr
            .contains(&format!("`{name}` already exists and is owned by no stack")),
        "{}",
        plan.stderr
    );
    assert_eq!(run(&file, &["destroy", "ddb", "--yes"]).code, 0);
    assert!(
        block_on(describe(name)).is_some(),
        "the hand-made table is left alone"
    );
    // Adopting it rewrites the record for this table; then the stack owns it again.
    assert_eq!(
        run(&file, &["adopt", "ddb", "table.messages", "--yes"]).code,
        0
    );
    assert_eq!(run(&file, &["plan", "ddb", "--detailed-exitcode"]).code, 0);
    assert_eq!(run(&file, &["destroy", "ddb", "--yes"]).code, 0);
    assert!(block_on(describe(name)).is_none());
}
