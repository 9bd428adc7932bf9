//! SDK-seam tests for functions: IAM propagation retried, `Pending` → `Active`, and code
//! then configuration with a wait for `LastUpdateStatus` in between.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_lambda::operation::create_function::{CreateFunctionError, CreateFunctionOutput};
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeOutput;
use aws_sdk_lambda::operation::update_function_configuration::{
    UpdateFunctionConfigurationError, UpdateFunctionConfigurationOutput,
};
use aws_sdk_lambda::types::error::{InvalidParameterValueException, ResourceConflictException};
use aws_smithy_mocks::{RuleMode, mock, mock_client};

use super::*;
use crate::events::{Event, Recorder};
use crate::resources::Address;

fn config() -> FunctionConfig {
    FunctionConfig {
        name: "cruddur-messaging-stream".into(),
        runtime: "python3.12".into(),
        handler: "lambda_function.lambda_handler".into(),
        role: "arn:aws:iam::123456789012:role/r".into(),
        memory: 128,
        timeout: 3,
        description: String::new(),
        architecture: "x86_64".into(),
        environment: BTreeMap::new(),
        secrets: BTreeSet::new(),
        vpc: None,
        code_sha256: "x".into(),
        tags: BTreeMap::new(),
    }
}

fn state(state: State, update: LastUpdateStatus) -> GetFunctionConfigurationOutput {
    GetFunctionConfigurationOutput::builder()
        .state(state)
        .last_update_status(update)
        .build()
}

async fn with_api<T>(
    client: &Client,
    f: impl AsyncFnOnce(FunctionApi<'_>) -> T,
) -> (T, Vec<Event>) {
    let logs = aws_sdk_cloudwatchlogs::Client::from_conf(
        aws_sdk_cloudwatchlogs::Config::builder()
            .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatchlogs::config::Region::new("ca-central-1"))
            .build(),
    );
    let address = Address::new(crate::resources::Kind::Function, "messaging_stream");
    let recorder = Recorder::default();
    let policy = WaitPolicy {
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        report_every: Duration::ZERO,
        max_attempts: 5,
    };
    let api = FunctionApi {
        client,
        logs: &logs,
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
async fn create_retries_while_iam_propagates_the_new_role_then_waits_for_active() {
    let rules = [
        mock!(Client::create_function).then_error(|| {
            CreateFunctionError::InvalidParameterValueException(
                InvalidParameterValueException::builder()
                    .message("The role defined for the function cannot be assumed by Lambda.")
                    .build(),
            )
        }),
        mock!(Client::create_function)
            .match_requests(|r| {
                r.tags().is_some_and(|t| {
                    t.get("cruddur-infra:stack").map(String::as_str) == Some("cruddur")
                })
            })
            .then_output(|| {
                CreateFunctionOutput::builder()
                    .function_arn("arn:f")
                    .build()
            }),
        mock!(Client::get_function_configuration)
            .then_output(|| state(State::Pending, LastUpdateStatus::InProgress)),
        mock!(Client::get_function_configuration)
            .then_output(|| state(State::Active, LastUpdateStatus::Successful)),
    ];
    let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, &rules);
    let (result, events) = with_api(&client, async |api| {
        create(api, &config(), b"zip", "cruddur").await
    })
    .await;
    assert_eq!(result.expect("created"), "arn:f");
    assert!(rules.iter().all(|r| r.num_calls() == 1));
    assert!(events.iter().any(
        |e| matches!(e, Event::Retrying { reason, .. } if reason.contains("cannot be assumed"))
    ));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Waiting { state, .. } if state == "Pending"))
    );
}

#[tokio::test]
async fn other_invalid_parameters_are_not_retried() {
    let bad = mock!(Client::create_function).then_error(|| {
        CreateFunctionError::InvalidParameterValueException(
            InvalidParameterValueException::builder()
                .message("Unsupported runtime")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&bad]);
    let (result, _) = with_api(&client, async |api| {
        create(api, &config(), b"zip", "cruddur").await
    })
    .await;
    assert!(
        result
            .unwrap_err()
            .to_string()
            .contains("failed to CreateFunction for cruddur-messaging-stream")
    );
    assert_eq!(bad.num_calls(), 1);
}

#[tokio::test]
async fn code_then_configuration_each_wait_for_the_update_to_finish() {
    let rules = [
        mock!(Client::get_function_configuration)
            .then_output(|| state(State::Active, LastUpdateStatus::Successful)),
        mock!(Client::update_function_code)
            .then_output(|| UpdateFunctionCodeOutput::builder().build()),
        mock!(Client::get_function_configuration)
            .then_output(|| state(State::Active, LastUpdateStatus::InProgress)),
        mock!(Client::get_function_configuration)
            .then_output(|| state(State::Active, LastUpdateStatus::Successful)),
        mock!(Client::get_function_configuration)
            .then_output(|| state(State::Active, LastUpdateStatus::Successful)),
        // A conflict still slips through (another writer): retried, not fatal.
        mock!(Client::update_function_configuration).then_error(|| {
            UpdateFunctionConfigurationError::ResourceConflictException(
                ResourceConflictException::builder()
                    .message("An update is in progress")
                    .build(),
            )
        }),
        mock!(Client::update_function_configuration)
            .match_requests(|r| r.memory_size() == Some(256))
            .then_output(|| UpdateFunctionConfigurationOutput::builder().build()),
        mock!(Client::get_function_configuration)
            .then_output(|| state(State::Active, LastUpdateStatus::Successful)),
    ];
    let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, &rules);
    let mut c = config();
    c.memory = 256;
    let steps = [FunctionStep::Code, FunctionStep::Configuration];
    let (result, events) = with_api(&client, async |api| {
        update(api, &c, "arn:f", b"zip", &steps).await
    })
    .await;
    result.expect("updated");
    assert!(
        rules.iter().all(|r| r.num_calls() == 1),
        "every call in order, once"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Waiting { state, .. } if state == "update InProgress"))
    );
}

#[tokio::test]
async fn a_failed_function_is_reported_with_its_reason() {
    let rules = [
        mock!(Client::create_function).then_output(|| CreateFunctionOutput::builder().build()),
        mock!(Client::get_function_configuration).then_output(|| {
            GetFunctionConfigurationOutput::builder()
                .state(State::Failed)
                .state_reason("Subnet has no free IPs")
                .build()
        }),
    ];
    let client = mock_client!(aws_sdk_lambda, RuleMode::Sequential, &rules);
    let (result, _) = with_api(&client, async |api| {
        create(api, &config(), b"zip", "cruddur").await
    })
    .await;
    assert!(
        result
            .unwrap_err()
            .to_string()
            .contains("Subnet has no free IPs")
    );
}
