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
use aws_smithy_mocks::{RuleMode, mock};

use super::*;
use crate::aws::WaitPolicy;
use crate::events::Reporter;
use crate::events::{Event, Recorder};
use crate::resources::Address;
use crate::testing::mock_sdk_client;
use aws_sdk_lambda::Client;

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

async fn with_api<T>(client: &Client, f: impl AsyncFnOnce(Api<'_>) -> T) -> (T, Vec<Event>) {
    let no_ec2: [&aws_smithy_mocks::Rule; 0] = [];
    with_ec2(
        client,
        &mock_sdk_client!(aws_sdk_ec2, RuleMode::Sequential, no_ec2),
        f,
    )
    .await
}

async fn with_ec2<T>(
    client: &Client,
    ec2: &aws_sdk_ec2::Client,
    f: impl AsyncFnOnce(Api<'_>) -> T,
) -> (T, Vec<Event>) {
    let address = Address::new(crate::resources::Kind::Function, "messaging_stream");
    let recorder = Recorder::default();
    let policy = WaitPolicy {
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        report_every: Duration::ZERO,
        max_attempts: 5,
        settling: Duration::from_millis(200),
        settle_delay: Duration::ZERO,
    };
    let aws = crate::testing::aws_of(policy, |a| {
        a.lambda = client.clone();
        a.ec2 = ec2.clone();
    });
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
    let client = mock_sdk_client!(aws_sdk_lambda, RuleMode::Sequential, &rules);
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
    let client = mock_sdk_client!(aws_sdk_lambda, RuleMode::Sequential, [&bad]);
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
    let client = mock_sdk_client!(aws_sdk_lambda, RuleMode::Sequential, &rules);
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
    let client = mock_sdk_client!(aws_sdk_lambda, RuleMode::Sequential, &rules);
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

#[tokio::test]
async fn an_update_after_a_failed_update_proceeds_and_a_failed_update_of_ours_is_an_error() {
    // Guards issue 8.2: after a failed update AWS keeps the previous configuration live and
    // accepts the next update; only `InProgress` blocks. Waiting on `Failed` made such a
    // function impossible to fix.
    let rules = [
        mock!(Client::get_function_configuration)
            .then_output(|| state(State::Active, LastUpdateStatus::Failed)),
        mock!(Client::update_function_configuration)
            .then_output(|| UpdateFunctionConfigurationOutput::builder().build()),
        mock!(Client::get_function_configuration)
            .then_output(|| state(State::Active, LastUpdateStatus::InProgress)),
        mock!(Client::get_function_configuration).then_output(|| {
            GetFunctionConfigurationOutput::builder()
                .state(State::Active)
                .last_update_status(LastUpdateStatus::Failed)
                .last_update_status_reason("The security group sg-1 does not exist")
                .build()
        }),
    ];
    let client = mock_sdk_client!(aws_sdk_lambda, RuleMode::Sequential, &rules);
    let (result, events) = with_api(&client, async |api| {
        update(
            api,
            &config(),
            "arn:f",
            b"zip",
            &[FunctionStep::Configuration],
        )
        .await
    })
    .await;
    assert!(
        rules.iter().all(|r| r.num_calls() == 1),
        "the update was sent"
    );
    let err = result.expect_err("our own update failed");
    assert!(
        err.to_string()
            .contains("The security group sg-1 does not exist"),
        "{err}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Waiting { state, .. } if state == "update InProgress"))
    );
}

#[tokio::test]
async fn iam_propagation_messages_are_retried_on_update_past_the_attempt_bound() {
    // Guards issue 8.4: every documented propagation message, on update as on create, gets
    // the settling budget, not the few attempts of a busy error.
    let messages = [
        "The role defined for the function cannot be assumed by Lambda.",
        "The provided execution role does not have permissions to call CreateNetworkInterface on EC2",
        "Your request has been throttled by EC2, please make sure you have enough API rate limit.",
    ];
    let mut rules = vec![
        mock!(Client::get_function_configuration)
            .then_output(|| state(State::Active, LastUpdateStatus::Successful)),
    ];
    // Seven propagation errors: more than `max_attempts` (5).
    for m in messages.iter().cycle().take(7) {
        let m = (*m).to_string();
        rules.push(
            mock!(Client::update_function_configuration).then_error(move || {
                UpdateFunctionConfigurationError::InvalidParameterValueException(
                    InvalidParameterValueException::builder()
                        .message(m.clone())
                        .build(),
                )
            }),
        );
    }
    rules.push(
        mock!(Client::update_function_configuration)
            .then_output(|| UpdateFunctionConfigurationOutput::builder().build()),
    );
    rules.push(
        mock!(Client::get_function_configuration)
            .then_output(|| state(State::Active, LastUpdateStatus::Successful)),
    );
    let client = mock_sdk_client!(aws_sdk_lambda, RuleMode::Sequential, &rules);
    let (result, _) = with_api(&client, async |api| {
        update(
            api,
            &config(),
            "arn:f",
            b"zip",
            &[FunctionStep::Configuration],
        )
        .await
    })
    .await;
    result.expect("updated once IAM propagated");
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn a_tags_error_is_an_error_naming_lambda_list_tags_never_not_owned() {
    // Guards issue 8.9: without `lambda:ListTags`, GetFunction answers with no tags and a
    // `TagsError`; reading that as "no owner" would call our own function not ours.
    let rule = mock!(Client::get_function).then_output(|| {
        aws_sdk_lambda::operation::get_function::GetFunctionOutput::builder()
            .configuration(
                aws_sdk_lambda::types::FunctionConfiguration::builder()
                    .function_name("cruddur-messaging-stream")
                    .function_arn("arn:aws:lambda:ca-central-1:123456789012:function:cruddur-messaging-stream")
                    .build(),
            )
            .tags_error(
                aws_sdk_lambda::types::TagsError::builder()
                    .error_code("AccessDeniedException")
                    .message("User is not authorized to perform: lambda:ListTags")
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let client = mock_sdk_client!(aws_sdk_lambda, RuleMode::Sequential, [&rule]);
    let (result, _) = with_api(&client, async |api| {
        read(api, "cruddur-messaging-stream").await
    })
    .await;
    let err = result.expect_err("an error, not a function without an owner");
    assert!(err.to_string().contains("`lambda:ListTags`"), "{err}");
}

#[tokio::test]
async fn deleting_a_vpc_function_waits_until_its_network_interfaces_are_gone() {
    // Guards issue 8.8: Lambda removes a VPC function's interfaces with the function's role,
    // minutes after DeleteFunction; the delete (and so the role's, which comes after) waits.
    let eni = |n: usize| {
        let list: Vec<_> = (0..n)
            .map(|i| {
                aws_sdk_ec2::types::NetworkInterface::builder()
                    .network_interface_id(format!("eni-{i}"))
                    .description("AWS Lambda VPC ENI-cruddur-messaging-stream-1a2b")
                    .build()
            })
            .collect();
        aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput::builder()
            .set_network_interfaces(Some(list))
            .build()
    };
    let lambda_rules = [mock!(Client::delete_function)
        .match_requests(|r| r.function_name() == Some("cruddur-messaging-stream"))
        .then_output(|| {
            aws_sdk_lambda::operation::delete_function::DeleteFunctionOutput::builder().build()
        })];
    let ec2_rules = [
        mock!(aws_sdk_ec2::Client::describe_network_interfaces)
            .match_requests(|r| {
                r.filters().iter().any(|f| {
                    f.name() == Some("description")
                        && f.values() == ["AWS Lambda VPC ENI-cruddur-messaging-stream*"]
                })
            })
            .then_output(move || eni(2)),
        mock!(aws_sdk_ec2::Client::describe_network_interfaces).then_output(move || eni(1)),
        mock!(aws_sdk_ec2::Client::describe_network_interfaces).then_output(move || eni(0)),
    ];
    let client = mock_sdk_client!(aws_sdk_lambda, RuleMode::Sequential, &lambda_rules);
    let ec2 = mock_sdk_client!(aws_sdk_ec2, RuleMode::Sequential, &ec2_rules);
    let (result, events) = with_ec2(&client, &ec2, async |api| {
        delete(api, "cruddur-messaging-stream", true).await
    })
    .await;
    result.expect("deleted, interfaces released");
    assert!(
        ec2_rules.iter().all(|r| r.num_calls() == 1),
        "polled until none left"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Waiting { state, .. } if state == "2 left: eni-0, eni-1"
    )));
}

#[test]
fn function_already_exists_is_told_apart_from_an_update_in_progress() {
    // Guards issue 11: both are ResourceConflictException; only the first means "read it".
    assert!(is_function_already_exists(Some(
        "Function already exist: cruddur-messaging-stream"
    )));
    assert!(!is_function_already_exists(Some(
        "The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:ca-central-1:1:function:f"
    )));
    assert!(!is_function_already_exists(None));
}
