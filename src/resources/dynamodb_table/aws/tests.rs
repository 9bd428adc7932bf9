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
use aws_smithy_mocks::{RuleMode, mock};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use super::*;
use crate::aws::WaitPolicy;
use crate::events::Reporter;
use crate::events::{Event, Recorder};
use crate::resources::Address;
use crate::resources::dynamodb_table::tests::seed;
use crate::testing::mock_sdk_client;

const NAME: &str = "cruddur-messages";
const ARN: &str = "arn:aws:dynamodb:ca-central-1:123456789012:table/cruddur-messages";

fn fast() -> WaitPolicy {
    WaitPolicy {
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        report_every: Duration::ZERO,
        max_attempts: 4,
        settling: Duration::from_millis(200),
        settle_delay: Duration::ZERO,
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
async fn with_api<T>(client: &Client, f: impl AsyncFnOnce(Api<'_>) -> T) -> (T, Vec<Event>) {
    let address = Address::table("messages");
    let recorder = Recorder::default();
    let aws = crate::testing::aws_of(fast(), |a| a.dynamodb = client.clone());
    let api = Api {
        aws: &aws,
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
    let client = mock_sdk_client!(
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
    let client = mock_sdk_client!(
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
    let client = mock_sdk_client!(
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
    let client = mock_sdk_client!(
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
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
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
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
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
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
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
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
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
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
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
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&delete_rule]);
    let (result, _) = with_api(&client, async |api| delete(api, NAME).await).await;
    result.expect("already gone is success");
}

#[tokio::test]
async fn has_items_scans_with_consistent_reads_and_follows_last_evaluated_key() {
    // Guards issue 8.1: one eventually consistent Scan page decided, and a page can be
    // empty while items exist further on.
    use aws_sdk_dynamodb::operation::scan::ScanOutput;
    use aws_sdk_dynamodb::types::AttributeValue;
    let key =
        || std::collections::HashMap::from([("pk".to_string(), AttributeValue::S("a".into()))]);
    let rules = [
        mock!(Client::scan)
            .match_requests(|r| {
                r.consistent_read() == Some(true) && r.exclusive_start_key().is_none()
            })
            .then_output(move || {
                ScanOutput::builder()
                    .count(0)
                    .set_last_evaluated_key(Some(key()))
                    .build()
            }),
        mock!(Client::scan)
            .match_requests(|r| {
                r.consistent_read() == Some(true) && r.exclusive_start_key().is_some()
            })
            .then_output(|| ScanOutput::builder().count(1).build()),
    ];
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
    let (full, _) = with_api(&client, async |api| has_items(api, NAME).await).await;
    assert!(full.expect("scanned"), "the item on the second page counts");
    assert!(rules.iter().all(|r| r.num_calls() == 1));
    // An empty table: one page, no key, no items.
    let empty = mock!(Client::scan).then_output(|| ScanOutput::builder().count(0).build());
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&empty]);
    let (full, _) = with_api(&client, async |api| has_items(api, NAME).await).await;
    assert!(!full.expect("scanned"));
}

#[tokio::test]
async fn pitr_right_after_create_is_retried_past_the_attempt_bound() {
    // Guards issue 8.5: ContinuousBackupsUnavailableException lasts minutes after
    // CreateTable; a few busy retries gave up in seconds.
    use aws_sdk_dynamodb::operation::update_continuous_backups::{
        UpdateContinuousBackupsError, UpdateContinuousBackupsOutput,
    };
    use aws_sdk_dynamodb::types::error::ContinuousBackupsUnavailableException;
    let unavailable = mock!(Client::update_continuous_backups)
        .sequence()
        .error(|| {
            UpdateContinuousBackupsError::ContinuousBackupsUnavailableException(
                ContinuousBackupsUnavailableException::builder()
                    .message("Backups are being enabled for the table: cruddur-messages. Please retry later")
                    .build(),
            )
        })
        .times(6)
        .output(|| UpdateContinuousBackupsOutput::builder().build())
        .build();
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&unavailable]);
    let (result, _) = with_api(&client, async |api| set_pitr(api, NAME, true).await).await;
    result.expect("enabled once backups were available");
    // Six errors, more than `max_attempts` (4): the settling budget, not the attempt count.
    assert_eq!(unavailable.num_calls(), 7);
}

#[tokio::test]
async fn tagging_retries_a_running_tagging_call_and_confirms_with_list_tags() {
    // Guards issue 8.6: TagResource is asynchronous; another tagging call meanwhile is
    // LimitExceededException, and the tags show up in ListTagsOfResource only later.
    use aws_sdk_dynamodb::operation::tag_resource::{TagResourceError, TagResourceOutput};
    use aws_sdk_dynamodb::operation::untag_resource::UntagResourceOutput;
    let tags = |pairs: &[(&str, &str)]| {
        let mut out = ListTagsOfResourceOutput::builder();
        for (k, v) in pairs {
            out = out.tags(Tag::builder().key(*k).value(*v).build().unwrap());
        }
        out.build()
    };
    let rules = [
        mock!(Client::tag_resource).then_error(|| {
            TagResourceError::LimitExceededException(
                LimitExceededException::builder()
                    .message(
                        "Subscriber limit exceeded: Only 1 tagging operation is allowed at a time",
                    )
                    .build(),
            )
        }),
        mock!(Client::tag_resource)
            .match_requests(|r| r.resource_arn() == Some(ARN))
            .then_output(|| TagResourceOutput::builder().build()),
        mock!(Client::list_tags_of_resource).then_output(move || tags(&[("team", "old")])),
        mock!(Client::list_tags_of_resource)
            .then_output(move || tags(&[("app", "cruddur"), ("team", "old")])),
        mock!(Client::untag_resource).then_output(|| UntagResourceOutput::builder().build()),
        mock!(Client::list_tags_of_resource)
            .then_output(move || tags(&[("app", "cruddur"), ("team", "old")])),
        mock!(Client::list_tags_of_resource).then_output(move || tags(&[("app", "cruddur")])),
    ];
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
    let steps = [
        TableStep::Tag(std::collections::BTreeMap::from([(
            "app".into(),
            "cruddur".into(),
        )])),
        TableStep::Untag(vec!["team".into()]),
    ];
    let (result, _) = with_api(&client, async |api| update(api, NAME, ARN, &steps).await).await;
    result.expect("tagged and untagged, each confirmed");
    assert!(
        rules.iter().all(|r| r.num_calls() == 1),
        "every call once, in order"
    );
}

#[tokio::test]
async fn list_tags_not_found_on_a_creating_table_is_pending_not_an_owner_less_table() {
    // Guards issue 8.6: a table still CREATING may answer ListTagsOfResource with
    // ResourceNotFound; that is neither an error nor a table without an owner.
    use aws_sdk_dynamodb::operation::list_tags_of_resource::ListTagsOfResourceError;
    let describe = mock!(Client::describe_table).then_output(|| {
        described(
            TableStatus::Creating,
            &[("message-group-sk-index", IndexStatus::Creating)],
        )
    });
    let ttl = mock!(Client::describe_time_to_live)
        .then_output(|| DescribeTimeToLiveOutput::builder().build());
    let backups = mock!(Client::describe_continuous_backups)
        .then_output(|| DescribeContinuousBackupsOutput::builder().build());
    let tags = mock!(Client::list_tags_of_resource)
        .sequence()
        .error(|| {
            ListTagsOfResourceError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("Requested resource not found")
                    .build(),
            )
        })
        .times(2)
        .output(|| {
            ListTagsOfResourceOutput::builder()
                .tags(
                    Tag::builder()
                        .key("cruddur-infra:stack")
                        .value("cruddur")
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .build();
    let client = mock_sdk_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&describe, &ttl, &backups, &tags]
    );
    let (live, _) = with_api(&client, async |api| read(api, NAME).await).await;
    let live = live.expect("not an error").expect("the table exists");
    assert_eq!(live.owner.as_deref(), Some("cruddur"));
    assert_eq!(tags.num_calls(), 3);
}

#[tokio::test]
async fn a_deleting_table_is_read_as_deleting_and_a_create_waits_until_it_is_gone() {
    // Guards issue 8.10: a DELETING table read as absent, so the plan created it and
    // CreateTable failed on the name it still holds.
    let deleting = || described(TableStatus::Deleting, &[]);
    let describe = mock!(Client::describe_table).then_output(deleting);
    let ttl = mock!(Client::describe_time_to_live)
        .then_output(|| DescribeTimeToLiveOutput::builder().build());
    let backups = mock!(Client::describe_continuous_backups)
        .then_output(|| DescribeContinuousBackupsOutput::builder().build());
    let client = mock_sdk_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&describe, &ttl, &backups]
    );
    let (live, _) = with_api(&client, async |api| read(api, NAME).await).await;
    assert_eq!(live.unwrap().expect("listed").state, TableState::Deleting);
    let rules = [
        mock!(Client::describe_table).then_output(deleting),
        mock!(Client::describe_table).then_error(not_found),
    ];
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
    let (gone, events) = with_api(&client, async |api| wait_gone(api, NAME).await).await;
    gone.expect("gone");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Waiting { state, .. } if state == "DELETING"))
    );
}

#[tokio::test]
async fn a_ttl_change_refused_within_the_hour_says_when_to_try_again() {
    // Guards issue 8.3: the second TTL change within about an hour is a plain
    // ValidationException; it is not retried, and the error says what it means.
    let refused = mock!(Client::update_time_to_live).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from(r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"Time to live has been modified multiple times within a fixed interval"}"#),
        )
    });
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&refused]);
    let (result, _) = with_api(&client, async |api| {
        set_ttl(api, NAME, "expires_at", true).await
    })
    .await;
    let err = result.expect_err("refused");
    assert_eq!(refused.num_calls(), 1, "never retried");
    assert!(
        err.to_string()
            .contains("about one TTL change per table per hour"),
        "{err}"
    );
}

/// The Tagging API's listing is a shortcut, never the truth: it spares the tag read only
/// when it shows the table with exactly the declared tags; a table it does not list (made
/// minutes ago) or lists with other tags (a lagging listing) gets its own tag read, and
/// its owner comes from that read.
#[tokio::test]
async fn the_tagging_listing_spares_the_tag_read_only_when_it_confirms_the_declared_tags() {
    let describe = mock!(Client::describe_table).then_output(active);
    let own_tags = mock!(Client::list_tags_of_resource).then_output(|| {
        ListTagsOfResourceOutput::builder()
            .tags(Tag::builder().key("app").value("cruddur").build().unwrap())
            .tags(
                Tag::builder()
                    .key("cruddur-infra:stack")
                    .value("cruddur")
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let ttl = mock!(Client::describe_time_to_live)
        .then_output(|| DescribeTimeToLiveOutput::builder().build());
    let backups = mock!(Client::describe_continuous_backups)
        .then_output(|| DescribeContinuousBackupsOutput::builder().build());
    let client = mock_sdk_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&describe, &own_tags, &ttl, &backups]
    );
    let wanted = BTreeMap::from([("app".to_string(), "cruddur".to_string())]);
    let listing = |tags: &[(&str, &str)]| -> crate::refresh::Tagged {
        BTreeMap::from([(
            ARN.to_string(),
            tags.iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        )])
    };
    let read_listed = |tagged: crate::refresh::Tagged| {
        let client = &client;
        let wanted = &wanted;
        async move {
            with_api(client, async |api| {
                read_with(api, NAME, async { Ok(Some(&tagged)) }, wanted).await
            })
            .await
            .0
            .unwrap()
            .expect("the table exists")
        }
    };

    // Listed with the declared tags and the owner: no tag read.
    let live = read_listed(listing(&[
        ("app", "cruddur"),
        ("cruddur-infra:stack", "cruddur"),
    ]))
    .await;
    assert_eq!(own_tags.num_calls(), 0);
    assert_eq!(live.owner.as_deref(), Some("cruddur"));
    assert_eq!(live.config.tags, wanted);

    // Not listed yet: its own read finds it owned all the same.
    let live = read_listed(crate::refresh::Tagged::new()).await;
    assert_eq!(own_tags.num_calls(), 1);
    assert_eq!(live.owner.as_deref(), Some("cruddur"));

    // Listed with a stale tag: the difference is confirmed by its own read, which shows
    // none.
    let live = read_listed(listing(&[
        ("app", "old"),
        ("cruddur-infra:stack", "cruddur"),
    ]))
    .await;
    assert_eq!(own_tags.num_calls(), 2);
    assert_eq!(live.config.tags, wanted);
}
