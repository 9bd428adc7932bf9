//! SDK-seam tests for mappings: IAM propagation of stream permissions retried, and
//! `Creating` → `Enabled`.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_lambda::operation::create_event_source_mapping::CreateEventSourceMappingOutput;
use aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingOutput;
use aws_sdk_lambda::types::error::InvalidParameterValueException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};

use super::*;
use crate::events::{Event, Recorder};
use crate::resources::Address;

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
    ];
    let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, &rules);
    let address = Address::new(crate::resources::Kind::EventSourceMapping, "m");
    let recorder = Recorder::default();
    let policy = WaitPolicy {
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        report_every: Duration::ZERO,
        max_attempts: 4,
    };
    let api = MappingApi {
        client: &client,
        wait: &policy,
        reporter: Reporter {
            address: &address,
            sink: &recorder,
        },
    };
    let config = MappingConfig {
        event_source_arn: None,
        function_arn: "arn:f".into(),
        batch_size: 1,
        starting_position: "LATEST".into(),
        enabled: true,
        filter_patterns: BTreeSet::new(),
        maximum_retry_attempts: -1,
        bisect_batch_on_function_error: false,
        maximum_batching_window_seconds: 0,
    };
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
