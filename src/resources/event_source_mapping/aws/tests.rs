//! SDK-seam tests for mappings: IAM propagation of stream permissions retried, and
//! `Creating` → `Enabled`.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_lambda::operation::create_event_source_mapping::CreateEventSourceMappingOutput;
use aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingOutput;
use aws_sdk_lambda::operation::list_event_source_mappings::ListEventSourceMappingsOutput;
use aws_sdk_lambda::operation::update_event_source_mapping::UpdateEventSourceMappingOutput;
use aws_sdk_lambda::types::EventSourceMappingConfiguration;
use aws_sdk_lambda::types::error::InvalidParameterValueException;
use aws_sdk_lambda::types::error::ResourceConflictException;
use aws_smithy_mocks::{RuleMode, mock};

use super::*;
use crate::aws::WaitPolicy;
use crate::events::Reporter;
use crate::events::{Event, Recorder};
use crate::resources::Address;
use crate::testing::mock_sdk_client;
use aws_sdk_lambda::Client;

/// Polls and retries in milliseconds.
fn fast_policy() -> WaitPolicy {
    WaitPolicy {
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        report_every: Duration::ZERO,
        max_attempts: 4,
        settling: Duration::from_millis(200),
        settle_delay: Duration::ZERO,
    }
}

/// The seed stack's mapping of function `arn:f`, batch size 1.
fn stream_config() -> MappingConfig {
    MappingConfig {
        event_source_arn: None,
        function_arn: "arn:f".into(),
        batch_size: 1,
        starting_position: "LATEST".into(),
        enabled: true,
        filter_patterns: BTreeSet::new(),
        maximum_retry_attempts: -1,
        bisect_batch_on_function_error: false,
        maximum_batching_window_seconds: 0,
    }
}

/// A Streams API client whose stream reports `ENABLED`.
fn enabled_stream() -> aws_sdk_dynamodbstreams::Client {
    let rule = mock!(aws_sdk_dynamodbstreams::Client::describe_stream)
        .then_output(|| stream_status(aws_sdk_dynamodbstreams::types::StreamStatus::Enabled));
    mock_sdk_client!(aws_sdk_dynamodbstreams, RuleMode::MatchAny, [&rule])
}

fn stream_status(
    status: aws_sdk_dynamodbstreams::types::StreamStatus,
) -> aws_sdk_dynamodbstreams::operation::describe_stream::DescribeStreamOutput {
    aws_sdk_dynamodbstreams::operation::describe_stream::DescribeStreamOutput::builder()
        .stream_description(
            aws_sdk_dynamodbstreams::types::StreamDescription::builder()
                .stream_status(status)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn the_mapping_is_created_only_once_its_new_stream_reports_enabled() {
    use aws_sdk_dynamodbstreams::types::StreamStatus;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let polls = Arc::new(AtomicUsize::new(0));
    let (p1, p2, p3) = (polls.clone(), polls.clone(), polls.clone());
    let streams = [
        mock!(aws_sdk_dynamodbstreams::Client::describe_stream)
            .match_requests(|r| r.stream_arn() == Some("arn:s"))
            .then_output(move || {
                p1.fetch_add(1, Ordering::SeqCst);
                stream_status(StreamStatus::Enabling)
            }),
        mock!(aws_sdk_dynamodbstreams::Client::describe_stream).then_output(move || {
            p2.fetch_add(1, Ordering::SeqCst);
            stream_status(StreamStatus::Enabled)
        }),
    ];
    let lambda = [
        mock!(Client::create_event_source_mapping)
            .match_requests(move |_| p3.load(Ordering::SeqCst) == 2)
            .then_output(|| {
                CreateEventSourceMappingOutput::builder()
                    .uuid("u-1")
                    .state("Creating")
                    .build()
            }),
        mock!(Client::get_event_source_mapping).then_output(|| {
            GetEventSourceMappingOutput::builder()
                .uuid("u-1")
                .state("Enabled")
                .build()
        }),
        mock!(Client::list_event_source_mappings).then_output(|| {
            ListEventSourceMappingsOutput::builder()
                .event_source_mappings(mapping("u-1", "arn:s", 1))
                .build()
        }),
    ];
    let client = mock_sdk_client!(aws_sdk_lambda, RuleMode::Sequential, &lambda);
    let policy = fast_policy();
    let aws = crate::testing::aws_of(policy, |a| a.lambda = client.clone());
    aws.set_client(mock_sdk_client!(
        aws_sdk_dynamodbstreams,
        RuleMode::Sequential,
        &streams
    ));
    let address = Address::new(crate::resources::Kind::Mapping, "m");
    let recorder = Recorder::default();
    let api = Api {
        aws: &aws,
        reporter: Reporter {
            address: &address,
            sink: &recorder,
        },
    };
    let config = stream_config();
    assert_eq!(create(api, &config, "arn:s").await.expect("created"), "u-1");
    assert_eq!(
        polls.load(Ordering::SeqCst),
        2,
        "polled ENABLING, then ENABLED"
    );
    assert!(
        lambda.iter().all(|r| r.num_calls() == 1),
        "created once, after ENABLED"
    );
}

#[tokio::test]
async fn create_retries_cannot_access_stream_then_waits_for_enabled() {
    let rules = [
        mock!(Client::create_event_source_mapping).then_error(|| {
            CreateEventSourceMappingError::InvalidParameterValueException(
                InvalidParameterValueException::builder()
                    .message("Cannot access stream arn:s. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM.")
                    .build(),
            )
        }),
        mock!(Client::create_event_source_mapping)
            .match_requests(|r| r.event_source_arn() == Some("arn:s") && r.batch_size() == Some(1))
            .then_output(|| CreateEventSourceMappingOutput::builder().uuid("u-1").state("Creating").build()),
        mock!(Client::get_event_source_mapping).then_output(|| GetEventSourceMappingOutput::builder().uuid("u-1").state("Creating").build()),
        mock!(Client::get_event_source_mapping).then_output(|| GetEventSourceMappingOutput::builder().uuid("u-1").state("Enabled").build()),
        // The check for duplicates: the function's mappings, only this one.
        mock!(Client::list_event_source_mappings).then_output(|| {
            ListEventSourceMappingsOutput::builder()
                .event_source_mappings(mapping("u-1", "arn:s", 1))
                .build()
        }),
    ];
    let client = mock_sdk_client!(aws_sdk_lambda, RuleMode::Sequential, &rules);
    let address = Address::new(crate::resources::Kind::Mapping, "m");
    let recorder = Recorder::default();
    let policy = fast_policy();
    let aws = crate::testing::aws_of(policy, |a| a.lambda = client.clone());
    aws.set_client(enabled_stream());
    let api = Api {
        aws: &aws,
        reporter: Reporter {
            address: &address,
            sink: &recorder,
        },
    };
    let config = stream_config();
    assert_eq!(create(api, &config, "arn:s").await.expect("created"), "u-1");
    assert!(rules.iter().all(|r| r.num_calls() == 1));
    let events = recorder.events();
    assert!(events.iter().any(
        |e| matches!(e, Event::Retrying { reason, .. } if reason.contains("Cannot access stream"))
    ));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Waiting { state, .. } if state == "Creating"))
    );
}

#[tokio::test]
async fn deleting_a_mapping_that_is_changing_state_waits_for_it_and_retries() {
    // Guards issue 8.7: AWS refuses DeleteEventSourceMapping with ResourceInUseException
    // while the mapping is `Updating`/`Enabling`/…; the error was marked retryable but never
    // retried. Now: wait for the mapping to settle, delete again, wait until it is gone.
    use aws_sdk_lambda::operation::delete_event_source_mapping::{
        DeleteEventSourceMappingError, DeleteEventSourceMappingOutput,
    };
    use aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingError;
    use aws_sdk_lambda::types::error::{ResourceInUseException, ResourceNotFoundException};
    let get = |state: &'static str| {
        mock!(Client::get_event_source_mapping).then_output(move || {
            GetEventSourceMappingOutput::builder()
                .uuid("u-1")
                .state(state)
                .build()
        })
    };
    let rules = [
        mock!(Client::delete_event_source_mapping).then_error(|| {
            DeleteEventSourceMappingError::ResourceInUseException(
                ResourceInUseException::builder()
                    .message("Cannot delete the event source mapping because it is in use.")
                    .build(),
            )
        }),
        get("Updating"),
        get("Enabled"),
        mock!(Client::delete_event_source_mapping)
            .match_requests(|r| r.uuid() == Some("u-1"))
            .then_output(|| {
                DeleteEventSourceMappingOutput::builder()
                    .state("Deleting")
                    .build()
            }),
        get("Deleting"),
        mock!(Client::get_event_source_mapping).then_error(|| {
            GetEventSourceMappingError::ResourceNotFoundException(
                ResourceNotFoundException::builder().build(),
            )
        }),
    ];
    let client = mock_sdk_client!(aws_sdk_lambda, RuleMode::Sequential, &rules);
    let address = Address::new(crate::resources::Kind::Mapping, "m");
    let recorder = Recorder::default();
    let policy = WaitPolicy {
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        report_every: Duration::ZERO,
        max_attempts: 4,
        settling: Duration::from_secs(5),
        settle_delay: Duration::ZERO,
    };
    let aws = crate::testing::aws_of(policy, |a| a.lambda = client.clone());
    aws.set_client(enabled_stream());
    let api = Api {
        aws: &aws,
        reporter: Reporter {
            address: &address,
            sink: &recorder,
        },
    };
    delete(api, "u-1").await.expect("deleted once settled");
    assert!(
        rules.iter().all(|r| r.num_calls() == 1),
        "every call once, in order"
    );
    assert!(
        recorder
            .events()
            .iter()
            .any(|e| matches!(e, Event::Waiting { state, .. } if state == "Updating"))
    );
}

/// A live mapping of `source` to function `arn:f`, `Enabled`.
fn mapping(uuid: &str, source: &str, batch: i32) -> EventSourceMappingConfiguration {
    EventSourceMappingConfiguration::builder()
        .uuid(uuid)
        .event_source_arn(source)
        .function_arn("arn:f")
        .batch_size(batch)
        .starting_position(EventSourcePosition::Latest)
        .state("Enabled")
        .maximum_retry_attempts(-1)
        .bisect_batch_on_function_error(false)
        .maximum_batching_window_in_seconds(0)
        .build()
}

#[test]
fn the_existing_mappings_uuid_is_read_only_from_the_already_exists_conflict() {
    let aws = "The event source arn (\" arn:aws:dynamodb:ca-central-1:1:table/t/stream/2026 \") and function (\" f \") provided mapping already exists. Please update or delete the existing mapping with UUID 3362cc30-1b2c-4d5e-8f90-0123456789ab";
    assert_eq!(
        existing_mapping_uuid(Some(aws)),
        Some("3362cc30-1b2c-4d5e-8f90-0123456789ab")
    );
    let busy = "The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:ca-central-1:1:function:f";
    assert_eq!(existing_mapping_uuid(Some(busy)), None);
    assert_eq!(existing_mapping_uuid(None), None);
}

#[tokio::test]
async fn a_conflict_naming_the_existing_mapping_adopts_it_updates_it_and_deletes_duplicates() {
    // Guards issue 11: a create retried after a lost answer is refused by AWS with the
    // existing UUID; that is the mapping to keep, not a failure.
    let uuid = "3362cc30-1b2c-4d5e-8f90-0123456789ab";
    let rules = [
        mock!(Client::create_event_source_mapping).then_error(move || {
            CreateEventSourceMappingError::ResourceConflictException(
                ResourceConflictException::builder()
                    .message(format!("The event source arn (\" arn:s \") and function (\" f \") provided mapping already exists. Please update or delete the existing mapping with UUID {uuid}"))
                    .build(),
            )
        }),
        // Adopting: found among the function's mappings, batch size 10 (not the wanted 1).
        mock!(Client::list_event_source_mappings).then_output(move || {
            ListEventSourceMappingsOutput::builder()
                .event_source_mappings(mapping(uuid, "arn:s", 10))
                .build()
        }),
        mock!(Client::get_event_source_mapping)
            .then_output(move || GetEventSourceMappingOutput::builder().uuid(uuid).state("Enabled").build()),
        mock!(Client::update_event_source_mapping)
            .match_requests(move |r| r.uuid() == Some(uuid) && r.batch_size() == Some(1))
            .then_output(move || UpdateEventSourceMappingOutput::builder().uuid(uuid).state("Updating").build()),
        mock!(Client::get_event_source_mapping)
            .then_output(move || GetEventSourceMappingOutput::builder().uuid(uuid).state("Enabled").build()),
        // The check for duplicates finds one made by a second create: it goes.
        mock!(Client::list_event_source_mappings).then_output(move || {
            ListEventSourceMappingsOutput::builder()
                .event_source_mappings(mapping(uuid, "arn:s", 1))
                .event_source_mappings(mapping("d-2", "arn:s", 1))
                .event_source_mappings(mapping("other", "arn:other-stream", 1))
                .build()
        }),
        mock!(Client::delete_event_source_mapping)
            .match_requests(|r| r.uuid() == Some("d-2"))
            .then_output(|| {
                aws_sdk_lambda::operation::delete_event_source_mapping::DeleteEventSourceMappingOutput::builder()
                    .uuid("d-2")
                    .state("Deleting")
                    .build()
            }),
        mock!(Client::get_event_source_mapping).then_error(|| {
            aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingError::ResourceNotFoundException(
                aws_sdk_lambda::types::error::ResourceNotFoundException::builder().build(),
            )
        }),
    ];
    let client = mock_sdk_client!(aws_sdk_lambda, RuleMode::Sequential, &rules);
    let address = Address::new(crate::resources::Kind::Mapping, "m");
    let recorder = Recorder::default();
    let policy = fast_policy();
    let aws = crate::testing::aws_of(policy, |a| a.lambda = client.clone());
    aws.set_client(enabled_stream());
    let api = Api {
        aws: &aws,
        reporter: Reporter {
            address: &address,
            sink: &recorder,
        },
    };
    let config = stream_config();
    assert_eq!(create(api, &config, "arn:s").await.expect("adopted"), uuid);
    assert!(
        rules.iter().all(|r| r.num_calls() == 1),
        "each call once, in order"
    );
}
