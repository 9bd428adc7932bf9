//! SDK-seam tests of the ownership records: the conditions on every write, the refusal of
//! another stack's record, and a paginated listing. DynamoDB Local runs them for real in the
//! end-to-end tests (`tests/integration/dynamodb_local.rs`).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemError, DeleteItemOutput};
use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::types::error::{ConditionalCheckFailedException, ResourceNotFoundException};
use aws_sdk_dynamodb::types::{AttributeValue, TableDescription, TableStatus};
use aws_smithy_mocks::{RuleMode, mock};

use super::*;
use crate::testing::{aws_of, mock_sdk_client};

fn item(stack: &str, kind: &str, address: &str, name: &str) -> HashMap<String, AttributeValue> {
    [
        ("pk", format!("owner#{kind}#{name}")),
        ("record", RECORD.into()),
        ("stack", stack.into()),
        ("kind", kind.into()),
        ("address", address.into()),
        ("name", name.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), AttributeValue::S(v)))
    .collect()
}

fn lock_table_active() -> aws_smithy_mocks::Rule {
    mock!(Client::describe_table).then_output(|| {
        DescribeTableOutput::builder()
            .table(
                TableDescription::builder()
                    .table_name(TABLE)
                    .table_status(TableStatus::Active)
                    .build(),
            )
            .build()
    })
}

#[tokio::test]
async fn a_claim_is_conditional_on_no_record_or_our_own() {
    let put = mock!(Client::put_item)
        .match_requests(|r| {
            r.table_name() == Some(TABLE)
                && r.condition_expression() == Some("attribute_not_exists(pk) OR #stack = :stack")
                && r.expression_attribute_values()
                    .and_then(|v| v.get(":stack"))
                    .is_some_and(|v| v.as_s().is_ok_and(|s| s == "cruddur"))
                && r.item().is_some_and(|i| {
                    item("cruddur", "table", "table.messages", "cruddur-messages")
                        .iter()
                        .all(|(k, v)| i.get(k) == Some(v))
                        && i.get("claimed_at").is_some_and(|c| c.as_n().is_ok())
                        && !i.contains_key("created")
                })
        })
        .then_output(|| PutItemOutput::builder().build());
    let client = mock_sdk_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&lock_table_active(), &put]
    );
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| {
        a.dynamodb = client.clone();
    });
    claim(
        &aws,
        "cruddur",
        Kind::Table,
        "table.messages",
        "cruddur-messages",
        None,
    )
    .await
    .expect("claimed");
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn a_claim_on_another_stacks_record_is_refused_naming_that_stack() {
    let put = mock!(Client::put_item).then_error(|| {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .message("The conditional request failed")
                .build(),
        )
    });
    let get = mock!(Client::get_item)
        .match_requests(|r| r.consistent_read() == Some(true))
        .then_output(|| {
            GetItemOutput::builder()
                .set_item(Some(item("other", "table", "table.t", "cruddur-messages")))
                .build()
        });
    let client = mock_sdk_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&lock_table_active(), &put, &get]
    );
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| {
        a.dynamodb = client.clone();
    });
    let err = claim(
        &aws,
        "cruddur",
        Kind::Table,
        "table.messages",
        "cruddur-messages",
        None,
    )
    .await
    .expect_err("another stack's record");
    let text = err.to_string();
    assert!(text.contains("owned by stack `other`"), "{text}");
    assert!(text.contains("owner#table#cruddur-messages"), "{text}");
}

#[tokio::test]
async fn no_lock_table_means_no_owner_and_no_records() {
    let get = mock!(Client::get_item).then_error(|| {
        GetItemError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Cannot do operations on a non-existent table")
                .build(),
        )
    });
    let scan = mock!(Client::scan).then_error(|| {
        aws_sdk_dynamodb::operation::scan::ScanError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Cannot do operations on a non-existent table")
                .build(),
        )
    });
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&get, &scan]);
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| {
        a.dynamodb = client.clone();
    });
    assert_eq!(owner(&aws, Kind::Table, "x").await.expect("read"), None);
    assert_eq!(list(&aws, "cruddur").await.expect("listed"), Vec::new());
}

#[tokio::test]
async fn the_listing_follows_pages_and_keeps_only_well_formed_records() {
    let key = || HashMap::from([("pk".to_string(), AttributeValue::S("k".into()))]);
    let first = mock!(Client::scan)
        .match_requests(|r| r.consistent_read() == Some(true) && r.exclusive_start_key().is_none())
        .then_output(move || {
            ScanOutput::builder()
                .items(item("cruddur", "table", "table.old", "cruddur-old"))
                // Not a record of this tool: no `kind`.
                .items(HashMap::from([(
                    "stack".to_string(),
                    AttributeValue::S("cruddur".into()),
                )]))
                .set_last_evaluated_key(Some(key()))
                .build()
        });
    let second = mock!(Client::scan)
        .match_requests(|r| r.exclusive_start_key().is_some())
        .then_output(|| {
            ScanOutput::builder()
                .items(item("cruddur", "table", "table.a", "cruddur-a"))
                .build()
        });
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&first, &second]);
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| {
        a.dynamodb = client.clone();
    });
    let names: Vec<String> = list(&aws, "cruddur")
        .await
        .expect("listed")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["cruddur-a", "cruddur-old"]);
}

#[tokio::test]
async fn release_leaves_another_stacks_record_alone() {
    let delete = mock!(Client::delete_item)
        .match_requests(|r| r.condition_expression() == Some("#stack = :stack"))
        .then_error(|| {
            DeleteItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
    let ok = mock!(Client::delete_item).then_output(|| DeleteItemOutput::builder().build());
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&delete, &ok]);
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| {
        a.dynamodb = client.clone();
    });
    release(&aws, "cruddur", Kind::Table, "x")
        .await
        .expect("not ours: left alone");
    release(&aws, "cruddur", Kind::Table, "x")
        .await
        .expect("deleted");
    assert_eq!((delete.num_calls(), ok.num_calls()), (1, 1));
}

#[test]
fn tokens_are_64_hex_characters_and_new_each_time() {
    let long = "x".repeat(200);
    let a = new_token(&long, "prod", "vpc_endpoint.dynamodb");
    let b = new_token(&long, "prod", "vpc_endpoint.dynamodb");
    assert_eq!(a.len(), 64, "EC2 allows 64 characters");
    assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(a, b);
}

#[tokio::test]
async fn a_create_token_is_reused_while_recorded_and_a_lost_race_reads_the_winner() {
    // Guards issue 21: tokens were keyed by stack and address only, so two environments
    // of one stack in one account shared a token, and EC2 handed one the other's endpoint.
    let recorded = mock!(Client::get_item)
        .match_requests(|r| {
            r.consistent_read() == Some(true)
                && r.key()
                    .and_then(|k| k.get("pk"))
                    .and_then(|v| v.as_s().ok())
                    == Some(&"token#cruddur#prod#vpc_endpoint.dynamodb".to_string())
        })
        .then_output(|| {
            GetItemOutput::builder()
                .item("token", AttributeValue::S("t-1".into()))
                .build()
        });
    let client = mock_sdk_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&lock_table_active(), &recorded]
    );
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| {
        a.dynamodb = client.clone();
    });
    let token = create_token(&aws, "cruddur", "prod", "vpc_endpoint.dynamodb")
        .await
        .expect("token");
    assert_eq!(token, "t-1", "a crashed run's token is reused");
    assert_ne!(
        token_key("cruddur", "prod", "vpc_endpoint.dynamodb"),
        token_key("cruddur", "staging", "vpc_endpoint.dynamodb")
    );

    let none = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let lost = mock!(Client::put_item)
        .match_requests(|r| r.condition_expression() == Some("attribute_not_exists(pk)"))
        .then_error(|| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
    let winner = mock!(Client::get_item).then_output(|| {
        GetItemOutput::builder()
            .item("token", AttributeValue::S("t-2".into()))
            .build()
    });
    let client = mock_sdk_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&lock_table_active(), &none, &lost, &winner]
    );
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| {
        a.dynamodb = client.clone();
    });
    let token = create_token(&aws, "cruddur", "prod", "vpc_endpoint.dynamodb")
        .await
        .expect("token");
    assert_eq!(token, "t-2", "the concurrent writer's token wins");
}

/// Numbers a record holds, the table's creation time, and whether it is the recorded one.
type Case = (&'static [(&'static str, &'static str)], i64, bool);

#[tokio::test]
async fn a_record_names_one_resource_by_its_creation_time_not_just_its_name() {
    // A record that outlived its table (dropped by hand) must not make a new hand-made table
    // of the same name "ours".
    let with = |fields: &'static [(&'static str, &'static str)]| {
        let mut i = item("cruddur", "table", "table.messages", "cruddur-messages");
        for (k, v) in fields {
            i.insert((*k).to_string(), AttributeValue::N((*v).to_string()));
        }
        mock!(Client::get_item)
            .match_requests(|r| r.consistent_read() == Some(true))
            .then_output(move || GetItemOutput::builder().set_item(Some(i.clone())).build())
    };
    let cases: [Case; 5] = [
        (&[("claimed_at", "1000"), ("created", "5000")], 5_400, true),
        (
            &[("claimed_at", "1000"), ("created", "5000")],
            90_000,
            false,
        ),
        // Creation not recorded yet: made after the claim is the claimed one.
        (&[("claimed_at", "100000")], 100_500, true),
        (&[("claimed_at", "100000")], 50_000, false),
        (&[], 50_000, false),
    ];
    for (fields, created, owned) in cases {
        let rule = with(fields);
        let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
        let aws = aws_of(crate::aws::WaitPolicy::default(), |a| {
            a.dynamodb = client.clone();
        });
        let got = owner_of(&aws, Kind::Table, "cruddur-messages", created)
            .await
            .expect("read");
        assert_eq!(got.is_some(), owned, "{fields:?} created at {created}");
    }
}
