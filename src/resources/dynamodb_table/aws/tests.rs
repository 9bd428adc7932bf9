//! SDK-seam tests: scripted `DynamoDB` answers (through `aws-smithy-mocks`) prove the waits,
//! call sequences and retries that the emulator cannot show, since it answers instantly.
//! `RuleMode::Sequential` panics on any call out of the scripted order.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::create_table::{CreateTableError, CreateTableOutput};
use aws_sdk_dynamodb::operation::delete_table::{DeleteTableError, DeleteTableOutput};
use aws_sdk_dynamodb::operation::describe_continuous_backups::DescribeContinuousBackupsOutput;
use aws_sdk_dynamodb::operation::describe_table::{DescribeTableError, DescribeTableOutput};
use aws_sdk_dynamodb::operation::describe_time_to_live::DescribeTimeToLiveOutput;
use aws_sdk_dynamodb::operation::list_tags_of_resource::ListTagsOfResourceOutput;
use aws_sdk_dynamodb::operation::update_table::UpdateTableOutput;
use aws_sdk_dynamodb::types::error::{
    LimitExceededException, ResourceInUseException, ResourceNotFoundException,
};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingModeSummary, ContinuousBackupsDescription, ContinuousBackupsStatus,
    GlobalSecondaryIndexDescription, IndexStatus, KeySchemaElement, KeyType,
    PointInTimeRecoveryDescription, PointInTimeRecoveryStatus, Projection as SdkProjection,
    ProjectionType, ProvisionedThroughputDescription, ScalarAttributeType, StreamSpecification,
    StreamViewType, TableDescription, TableStatus, Tag, TimeToLiveDescription, TimeToLiveStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use super::*;
use crate::events::{Event, Recorder};
use crate::resources::Address;
use crate::resources::dynamodb_table::tests::seed;

const NAME: &str = "cruddur-messages";
const ARN: &str = "arn:aws:dynamodb:ca-central-1:123456789012:table/cruddur-messages";

fn fast() -> WaitPolicy {
    WaitPolicy {
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        report_every: Duration::ZERO,
        max_attempts: 4,
    }
}

fn key(hash: &str, range: &str) -> Vec<KeySchemaElement> {
    vec![
        KeySchemaElement::builder()
            .attribute_name(hash)
            .key_type(KeyType::Hash)
            .build()
            .unwrap(),
        KeySchemaElement::builder()
            .attribute_name(range)
            .key_type(KeyType::Range)
            .build()
            .unwrap(),
    ]
}

fn capacity(n: i64) -> ProvisionedThroughputDescription {
    ProvisionedThroughputDescription::builder()
        .read_capacity_units(n)
        .write_capacity_units(n)
        .build()
}

/// The seed table as `DescribeTable` reports it, with its indexes in the given states.
fn described(status: TableStatus, indexes: &[(&str, IndexStatus)]) -> DescribeTableOutput {
    let mut d = TableDescription::builder()
        .table_name(NAME)
        .table_arn(ARN)
        .table_status(status)
        .item_count(3)
        .set_key_schema(Some(key("pk", "sk")))
        .provisioned_throughput(capacity(5))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .unwrap(),
        )
        .latest_stream_arn(format!("{ARN}/stream/2026-11-21T00:00:00.000"));
    for a in ["pk", "sk", "message_group_uuid"] {
        d = d.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        );
    }
    for (name, state) in indexes {
        d = d.global_secondary_indexes(
            GlobalSecondaryIndexDescription::builder()
                .index_name(*name)
                .index_status(state.clone())
                .set_key_schema(Some(key("message_group_uuid", "sk")))
                .projection(
                    SdkProjection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .provisioned_throughput(capacity(5))
                .build(),
        );
    }
    DescribeTableOutput::builder().table(d.build()).build()
}

fn active() -> DescribeTableOutput {
    described(
        TableStatus::Active,
        &[("message-group-sk-index", IndexStatus::Active)],
    )
}

fn not_found() -> DescribeTableError {
    DescribeTableError::ResourceNotFoundException(
        ResourceNotFoundException::builder()
            .message("not found")
            .build(),
    )
}

/// Runs `f` with a table API on `client`, recording events.
async fn with_api<T>(client: &Client, f: impl AsyncFnOnce(TableApi<'_>) -> T) -> (T, Vec<Event>) {
    let address = Address::table("messages");
    let recorder = Recorder::default();
    let policy = fast();
    let api = TableApi {
        client,
        wait: &policy,
        reporter: Reporter {
            address: &address,
            sink: &recorder,
        },
    };
    let out = f(api).await;
    (out, recorder.events())
}

#[tokio::test]
async fn a_missing_table_reads_as_none_from_the_modeled_error() {
    use aws_sdk_dynamodb::operation::describe_continuous_backups::DescribeContinuousBackupsError;
    use aws_sdk_dynamodb::operation::describe_time_to_live::DescribeTimeToLiveError;
    use aws_sdk_dynamodb::types::error::TableNotFoundException;
    let describe = mock!(Client::describe_table).then_error(not_found);
    let ttl = mock!(Client::describe_time_to_live).then_error(|| {
        DescribeTimeToLiveError::ResourceNotFoundException(
            ResourceNotFoundException::builder().build(),
        )
    });
    let backups = mock!(Client::describe_continuous_backups).then_error(|| {
        DescribeContinuousBackupsError::TableNotFoundException(
            TableNotFoundException::builder().build(),
        )
    });
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&describe, &ttl, &backups]
    );
    let (live, _) = with_api(&client, async |api| read(api, NAME).await).await;
    assert_eq!(live.expect("not found is not an error"), None);
    assert_eq!(describe.num_calls(), 1);
}

#[tokio::test]
async fn read_normalizes_pages_tags_and_splits_out_the_owner() {
    let describe = mock!(Client::describe_table).then_output(active);
    let page1 = mock!(Client::list_tags_of_resource)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            ListTagsOfResourceOutput::builder()
                .tags(Tag::builder().key("app").value("old").build().unwrap())
                .tags(
                    Tag::builder()
                        .key("cruddur-infra:stack")
                        .value("cruddur")
                        .build()
                        .unwrap(),
                )
                .next_token("page2")
                .build()
        });
    // moto appends a duplicate when an existing key is re-tagged: the last one wins.
    let page2 = mock!(Client::list_tags_of_resource)
        .match_requests(|r| r.next_token() == Some("page2"))
        .then_output(|| {
            ListTagsOfResourceOutput::builder()
                .tags(Tag::builder().key("app").value("cruddur").build().unwrap())
                .build()
        });
    let ttl = mock!(Client::describe_time_to_live).then_output(|| {
        DescribeTimeToLiveOutput::builder()
            .time_to_live_description(
                TimeToLiveDescription::builder()
                    .attribute_name("expires_at")
                    .time_to_live_status(TimeToLiveStatus::Enabled)
                    .build(),
            )
            .build()
    });
    let backups = mock!(Client::describe_continuous_backups).then_output(|| {
        DescribeContinuousBackupsOutput::builder()
            .continuous_backups_description(
                ContinuousBackupsDescription::builder()
                    .continuous_backups_status(ContinuousBackupsStatus::Enabled)
                    .point_in_time_recovery_description(
                        PointInTimeRecoveryDescription::builder()
                            .point_in_time_recovery_status(PointInTimeRecoveryStatus::Enabled)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&describe, &page1, &page2, &ttl, &backups]
    );
    let (live, _) = with_api(&client, async |api| read(api, NAME).await).await;
    let live = live.unwrap().expect("table exists");
    let mut want = seed();
    want.tags.insert("app".into(), "cruddur".into());
    want.ttl_attribute = Some("expires_at".into());
    want.point_in_time_recovery = true;
    assert_eq!(live.config, want);
    assert_eq!(live.owner.as_deref(), Some("cruddur"));
    assert_eq!(live.arn, ARN);
    assert_eq!(live.item_count, 3);
    assert!(live.stream_arn.unwrap().starts_with(ARN));
    assert_eq!((page1.num_calls(), page2.num_calls()), (1, 1));
}

#[test]
fn on_demand_tables_ignore_stale_capacity_figures() {
    let mut out = active().table.unwrap();
    out.billing_mode_summary = Some(
        BillingModeSummary::builder()
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
            .build(),
    );
    let (spec, _, _) = normalize(&out);
    assert_eq!(spec.billing, Billing::PayPerRequest);
    assert_eq!(spec.indexes[0].throughput, None);
}

#[tokio::test]
async fn create_sends_the_owner_tag_and_waits_from_creating_to_active() {
    let create_rule = mock!(Client::create_table)
        .match_requests(|r| {
            r.tags()
                .iter()
                .any(|t| t.key() == "cruddur-infra:stack" && t.value() == "cruddur")
                && r.stream_specification().and_then(|s| s.stream_view_type())
                    == Some(&StreamViewType::NewImage)
                && r.global_secondary_indexes().len() == 1
        })
        .then_output(|| CreateTableOutput::builder().build());
    let describe = mock!(Client::describe_table)
        .sequence()
        .output(|| {
            described(
                TableStatus::Creating,
                &[("message-group-sk-index", IndexStatus::Creating)],
            )
        })
        .times(2)
        .output(|| {
            described(
                TableStatus::Active,
                &[("message-group-sk-index", IndexStatus::Creating)],
            )
        })
        .output(active)
        .repeatedly()
        .build();
    let tags = mock!(Client::list_tags_of_resource)
        .then_output(|| ListTagsOfResourceOutput::builder().build());
    let ttl = mock!(Client::describe_time_to_live)
        .then_output(|| DescribeTimeToLiveOutput::builder().build());
    let backups = mock!(Client::describe_continuous_backups)
        .then_output(|| DescribeContinuousBackupsOutput::builder().build());
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&create_rule, &describe, &tags, &ttl, &backups]
    );
    let (live, events) = with_api(&client, async |api| create(api, &seed(), "cruddur").await).await;
    live.expect("created");
    assert_eq!(create_rule.num_calls(), 1);
    assert!(
        describe.num_calls() >= 4,
        "polled until table and index were ACTIVE"
    );
    let states: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Waiting { what, state, .. } if what == "creating" => Some(state.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![
            "CREATING",
            "CREATING",
            "index \"message-group-sk-index\" CREATING"
        ]
    );
}

#[tokio::test]
async fn create_retries_the_account_table_limit_with_backoff() {
    let create_rule = mock!(Client::create_table)
        .sequence()
        .error(|| {
            CreateTableError::LimitExceededException(
                LimitExceededException::builder()
                    .message("too many tables changing")
                    .build(),
            )
        })
        .times(2)
        .output(|| CreateTableOutput::builder().build())
        .build();
    let describe = mock!(Client::describe_table).then_output(active);
    let tags = mock!(Client::list_tags_of_resource)
        .then_output(|| ListTagsOfResourceOutput::builder().build());
    let ttl = mock!(Client::describe_time_to_live)
        .then_output(|| DescribeTimeToLiveOutput::builder().build());
    let backups = mock!(Client::describe_continuous_backups)
        .then_output(|| DescribeContinuousBackupsOutput::builder().build());
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&create_rule, &describe, &tags, &ttl, &backups]
    );
    let (live, events) = with_api(&client, async |api| create(api, &seed(), "cruddur").await).await;
    live.expect("created after retries");
    assert_eq!(create_rule.num_calls(), 3);
    let retries = events
        .iter()
        .filter(|e| matches!(e, Event::Retrying { .. }))
        .count();
    assert_eq!(retries, 2);
}

#[tokio::test]
async fn index_replacement_is_delete_wait_gone_then_create_wait_active() {
    let mut wanted = seed();
    wanted.indexes[0].projection = Projection::KeysOnly;
    let mut have = crate::resources::dynamodb_table::tests::live(seed());
    have.arn = ARN.into();
    let steps = crate::resources::dynamodb_table::update_steps(&wanted, &have);
    let idx = "message-group-sk-index";
    let rules = [
        mock!(Client::describe_table).then_output(active),
        mock!(Client::update_table)
            .match_requests(|r| {
                r.global_secondary_index_updates().len() == 1
                    && r.global_secondary_index_updates()[0].delete().is_some()
                    && r.attribute_definitions().is_empty()
            })
            .then_output(|| UpdateTableOutput::builder().build()),
        mock!(Client::describe_table)
            .then_output(|| described(TableStatus::Updating, &[(idx, IndexStatus::Deleting)])),
        mock!(Client::describe_table)
            .then_output(|| described(TableStatus::Active, &[(idx, IndexStatus::Deleting)])),
        mock!(Client::describe_table).then_output(|| described(TableStatus::Active, &[])),
        mock!(Client::describe_table).then_output(|| described(TableStatus::Active, &[])),
        mock!(Client::update_table)
            .match_requests(|r| {
                let create = r.global_secondary_index_updates()[0].create();
                create
                    .and_then(|c| c.projection())
                    .and_then(|p| p.projection_type())
                    == Some(&ProjectionType::KeysOnly)
                    && r.attribute_definitions().len() == 3
            })
            .then_output(|| UpdateTableOutput::builder().build()),
        mock!(Client::describe_table)
            .then_output(|| described(TableStatus::Updating, &[(idx, IndexStatus::Creating)])),
        mock!(Client::describe_table)
            .then_output(|| described(TableStatus::Active, &[(idx, IndexStatus::Creating)])),
        mock!(Client::describe_table).then_output(active),
    ];
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
    let (result, events) =
        with_api(&client, async |api| update(api, NAME, ARN, &steps).await).await;
    result.expect("index replaced");
    assert!(
        rules.iter().all(|r| r.num_calls() == 1),
        "every scripted call made exactly once, in order"
    );
    let steps: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Step { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            format!("deleting index {idx:?}"),
            format!("creating index {idx:?} (backfill)")
        ]
    );
}

#[tokio::test]
async fn stream_view_change_disables_without_a_view_type_then_enables() {
    let rules = [
        mock!(Client::describe_table).then_output(active),
        mock!(Client::update_table)
            .match_requests(|r| {
                r.stream_specification()
                    .is_some_and(|s| !s.stream_enabled() && s.stream_view_type().is_none())
            })
            .then_output(|| UpdateTableOutput::builder().build()),
        mock!(Client::describe_table).then_output(|| {
            described(
                TableStatus::Updating,
                &[("message-group-sk-index", IndexStatus::Active)],
            )
        }),
        mock!(Client::describe_table).then_output(active),
        mock!(Client::describe_table).then_output(active),
        mock!(Client::update_table)
            .match_requests(|r| {
                r.stream_specification().is_some_and(|s| {
                    s.stream_enabled()
                        && s.stream_view_type() == Some(&StreamViewType::NewAndOldImages)
                })
            })
            .then_output(|| UpdateTableOutput::builder().build()),
        mock!(Client::describe_table).then_output(active),
    ];
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
    let steps = [
        TableStep::DisableStream,
        TableStep::EnableStream(StreamView::NewAndOldImages),
    ];
    let (result, _) = with_api(&client, async |api| update(api, NAME, ARN, &steps).await).await;
    result.expect("stream switched");
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn update_waits_for_a_busy_table_before_sending() {
    let rules = [
        mock!(Client::describe_table).then_output(|| {
            described(
                TableStatus::Updating,
                &[("message-group-sk-index", IndexStatus::Active)],
            )
        }),
        mock!(Client::describe_table).then_output(active),
        mock!(Client::update_table)
            .match_requests(|r| {
                r.provisioned_throughput()
                    .map(aws_sdk_dynamodb::types::ProvisionedThroughput::read_capacity_units)
                    == Some(7)
            })
            .then_output(|| UpdateTableOutput::builder().build()),
        mock!(Client::describe_table).then_output(active),
    ];
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
    let steps = [TableStep::Update {
        billing: Some(Billing::Provisioned(Throughput { read: 7, write: 5 })),
        index_throughput: vec![],
        deletion_protection: None,
    }];
    let (result, events) =
        with_api(&client, async |api| update(api, NAME, ARN, &steps).await).await;
    result.expect("updated");
    assert!(rules.iter().all(|r| r.num_calls() == 1));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Waiting { state, .. } if state == "UPDATING"))
    );
}

#[tokio::test]
async fn validation_errors_are_reported_with_operation_and_never_retried() {
    let rules = [
        mock!(Client::describe_table).then_output(active),
        mock!(Client::update_table).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"One or more parameter values were invalid"}"#),
            )
        }),
    ];
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
    let steps = [TableStep::DisableStream];
    let (result, _) = with_api(&client, async |api| update(api, NAME, ARN, &steps).await).await;
    let err = result.expect_err("validation error surfaces");
    assert!(
        matches!(&err, AwsError::Call { op: "UpdateTable", code: Some(c), .. } if c == "ValidationException"),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("failed to UpdateTable for cruddur-messages: ValidationException"),
        "{err}"
    );
    assert_eq!(rules[1].num_calls(), 1);
}

#[tokio::test]
async fn delete_waits_out_a_busy_table_and_then_until_it_is_gone() {
    let rules = [
        mock!(Client::delete_table).then_error(|| {
            DeleteTableError::ResourceInUseException(
                ResourceInUseException::builder()
                    .message("table is being updated")
                    .build(),
            )
        }),
        mock!(Client::delete_table).then_output(|| DeleteTableOutput::builder().build()),
        mock!(Client::describe_table).then_output(|| described(TableStatus::Deleting, &[])),
        mock!(Client::describe_table).then_error(not_found),
    ];
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
    let (result, events) = with_api(&client, async |api| delete(api, NAME).await).await;
    result.expect("deleted");
    assert!(rules.iter().all(|r| r.num_calls() == 1));
    assert!(events.iter().any(|e| matches!(e, Event::Retrying { .. })));
    assert!(events.iter().any(|e| matches!(e, Event::Waiting { what, state, .. } if what == "destroying" && state == "DELETING")));
}

#[tokio::test]
async fn deleting_a_table_that_is_already_gone_succeeds() {
    let delete_rule = mock!(Client::delete_table).then_error(|| {
        DeleteTableError::ResourceNotFoundException(ResourceNotFoundException::builder().build())
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&delete_rule]);
    let (result, _) = with_api(&client, async |api| delete(api, NAME).await).await;
    result.expect("already gone is success");
}
