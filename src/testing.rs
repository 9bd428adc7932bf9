//! Test-only helpers for the SDK seam: clients whose calls are answered by scripted
//! `aws-smithy-mocks` rules, built from the plain SDK crates (no `test-util` feature), so
//! the test build compiles the SDK exactly as the binary does.

/// A `$sdk` client whose every call is answered by `$rules` in `$mode`. The SDK's own
/// retries are off: the tool's retries are what the tests prove.
macro_rules! mock_sdk_client {
    ($sdk:ident, $mode:expr, $rules:expr) => {{
        let mut interceptor = aws_smithy_mocks::MockResponseInterceptor::new().rule_mode($mode);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version($sdk::config::BehaviorVersion::latest())
                .region($sdk::config::Region::new("ca-central-1"))
                .credentials_provider($sdk::config::Credentials::new(
                    "test", "test", None, None, "tests",
                ))
                .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }};
}

pub(crate) use mock_sdk_client;

/// An `Aws` of scripted clients: `set` puts in the ones a test scripts; every other service
/// has no rules, so any call to it fails the test.
pub(crate) fn aws_of(
    wait: crate::aws::WaitPolicy,
    set: impl FnOnce(&mut crate::aws::Aws),
) -> crate::aws::Aws {
    use aws_smithy_mocks::RuleMode;
    let none: [&aws_smithy_mocks::Rule; 0] = [];
    let mut aws = crate::aws::Aws {
        dynamodb: mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, none),
        sts: mock_sdk_client!(aws_sdk_sts, RuleMode::Sequential, none),
        iam: mock_sdk_client!(aws_sdk_iam, RuleMode::Sequential, none),
        lambda: mock_sdk_client!(aws_sdk_lambda, RuleMode::Sequential, none),
        ec2: mock_sdk_client!(aws_sdk_ec2, RuleMode::Sequential, none),
        logs: mock_sdk_client!(aws_sdk_cloudwatchlogs, RuleMode::Sequential, none),
        tagging: mock_sdk_client!(aws_sdk_resourcegroupstagging, RuleMode::Sequential, none),
        region: "ca-central-1".into(),
        wait,
        reads: std::sync::Arc::new(tokio::sync::Semaphore::new(16)),
        engine: crate::engine::Engine::Aws,
        // No client built from it can reach anything: no endpoint resolves without the
        // region, and no HTTP client would answer. Scripted clients go in `set_client`.
        config: aws_config::SdkConfig::builder()
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .build(),
        clients: crate::aws::Clients::default(),
    };
    set(&mut aws);
    aws
}
