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
