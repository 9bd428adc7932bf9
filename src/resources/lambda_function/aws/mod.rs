//! Lambda functions and their log groups through the SDK.
//!
//! Lambda is asynchronous: a new function is `Pending` until `Active`, and an update leaves
//! `LastUpdateStatus=InProgress` until `Successful`; the next call fails with
//! `ResourceConflictException` meanwhile, so every write here waits for the function to
//! settle. Right after a role is created, IAM may not have propagated it yet and
//! `CreateFunction` fails with "cannot be assumed by Lambda": that one error is retried.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, LastUpdateStatus, Runtime, State, VpcConfig,
};

use super::{FunctionConfig, FunctionLive, FunctionStep, VpcPlacement};
use crate::aws::{AwsError, Poll, WaitPolicy, retry, wait_until};
use crate::events::Reporter;
use crate::resources::OWNER_TAG;

/// How long a function may stay `Pending` or `InProgress`.
const FUNCTION_TIMEOUT: Duration = Duration::from_mins(15);

/// The SDK clients and policies one function operation needs.
#[derive(Clone, Copy)]
pub struct FunctionApi<'a> {
    /// Lambda client.
    pub client: &'a Client,
    /// `CloudWatch` Logs client (log groups).
    pub logs: &'a aws_sdk_cloudwatchlogs::Client,
    /// Polling and retry policy.
    pub wait: &'a WaitPolicy,
    /// Progress reporting.
    pub reporter: Reporter<'a>,
}

/// Reads the function named `name`.
pub async fn read(api: FunctionApi<'_>, name: &str) -> Result<Option<FunctionLive>, AwsError> {
    let out = match api.client.get_function().function_name(name).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(aws_sdk_lambda::operation::get_function::GetFunctionError::is_resource_not_found_exception) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(AwsError::call("GetFunction", name, &e, false)),
    };
    let Some(c) = out.configuration() else {
        return Ok(None);
    };
    let mut tags: BTreeMap<String, String> = out
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let owner = tags.remove(OWNER_TAG);
    let vpc = c
        .vpc_config()
        .filter(|v| !v.subnet_ids().is_empty())
        .map(|v| VpcPlacement {
            subnets: v.subnet_ids().iter().cloned().collect(),
            security_groups: v.security_group_ids().iter().cloned().collect(),
        });
    Ok(Some(FunctionLive {
        config: FunctionConfig {
            name: c.function_name().unwrap_or(name).to_string(),
            runtime: c
                .runtime()
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
            handler: c.handler().unwrap_or_default().to_string(),
            role: c.role().unwrap_or_default().to_string(),
            memory: c.memory_size().unwrap_or(128),
            timeout: c.timeout().unwrap_or(3),
            description: c.description().unwrap_or_default().to_string(),
            architecture: c
                .architectures()
                .first()
                .map_or("x86_64", Architecture::as_str)
                .to_string(),
            environment: c
                .environment()
                .and_then(|e| e.variables())
                .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            secrets: BTreeSet::new(),
            vpc,
            code_sha256: c.code_sha256().unwrap_or_default().to_string(),
            tags,
        },
        arn: c.function_arn().unwrap_or_default().to_string(),
        owner,
        state: c.state().map_or("Active", State::as_str).to_string(),
    }))
}

/// Waits until the function is `Active` and its last update `Successful`.
async fn settle(api: FunctionApi<'_>, name: &str, what: &str) -> Result<(), AwsError> {
    wait_until(api.wait, api.reporter, what, FUNCTION_TIMEOUT, || async {
        let c = api
            .client
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| AwsError::call("GetFunctionConfiguration", name, &e, false))?;
        match (c.state(), c.last_update_status()) {
            (Some(State::Failed), _) | (_, Some(LastUpdateStatus::Failed)) => {
                Err(AwsError::Unexpected {
                    op: "GetFunctionConfiguration",
                    address: name.to_string(),
                    message: format!(
                        "the function failed: {}",
                        c.state_reason()
                            .or(c.last_update_status_reason())
                            .unwrap_or("no reason given")
                    ),
                })
            }
            (Some(State::Pending), _) => Ok(Poll::Pending("Pending".into())),
            (_, Some(LastUpdateStatus::InProgress)) => {
                Ok(Poll::Pending("update InProgress".into()))
            }
            _ => Ok(Poll::Ready(())),
        }
    })
    .await
}

fn environment(c: &FunctionConfig) -> Environment {
    Environment::builder()
        .set_variables(Some(
            c.environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
        .build()
}

fn vpc(c: &FunctionConfig) -> VpcConfig {
    let (subnets, groups) = c.vpc.as_ref().map_or((vec![], vec![]), |v| {
        (
            v.subnets.iter().cloned().collect(),
            v.security_groups.iter().cloned().collect(),
        )
    });
    VpcConfig::builder()
        .set_subnet_ids(Some(subnets))
        .set_security_group_ids(Some(groups))
        .build()
}

/// Creates the function from `zip` (ownership tag in the same call), retrying while IAM
/// has not yet propagated a new role, and waits until it is `Active`.
pub async fn create(
    api: FunctionApi<'_>,
    c: &FunctionConfig,
    zip: &[u8],
    stack: &str,
) -> Result<String, AwsError> {
    let name = c.name.as_str();
    let mut tags: HashMap<String, String> =
        c.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    tags.insert(OWNER_TAG.into(), stack.into());
    let req = api
        .client
        .create_function()
        .function_name(name)
        .runtime(Runtime::from(c.runtime.as_str()))
        .role(&c.role)
        .handler(&c.handler)
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(zip.to_vec()))
                .build(),
        )
        .description(&c.description)
        .timeout(c.timeout)
        .memory_size(c.memory)
        .architectures(Architecture::from(c.architecture.as_str()))
        .environment(environment(c))
        .vpc_config(vpc(c))
        .set_tags(Some(tags));
    let out = retry(api.wait, api.reporter, || {
        let req = req.clone();
        async move {
            req.send().await.map_err(|e| {
                // IAM propagation: the error type alone is too broad (it also covers real
                // mistakes), so the documented message narrows it.
                let propagating = matches!(
                    e.as_service_error(),
                    Some(CreateFunctionError::InvalidParameterValueException(x))
                        if x.message().is_some_and(|m| m.contains("cannot be assumed by Lambda"))
                ) || e
                    .as_service_error()
                    .is_some_and(CreateFunctionError::is_too_many_requests_exception);
                AwsError::call("CreateFunction", name, &e, propagating)
            })
        }
    })
    .await?;
    settle(api, name, "creating").await?;
    Ok(out.function_arn.unwrap_or_default())
}

/// Runs the planned steps: code, then configuration, each followed by a wait.
pub async fn update(
    api: FunctionApi<'_>,
    c: &FunctionConfig,
    arn: &str,
    zip: &[u8],
    steps: &[FunctionStep],
) -> Result<(), AwsError> {
    let name = c.name.as_str();
    for step in steps {
        match step {
            FunctionStep::Code => {
                api.reporter.step("uploading new code");
                settle(api, name, "waiting for the previous update").await?;
                let req = api
                    .client
                    .update_function_code()
                    .function_name(name)
                    .zip_file(Blob::new(zip.to_vec()))
                    .architectures(Architecture::from(c.architecture.as_str()));
                retry(api.wait, api.reporter, || {
                    let req = req.clone();
                    async move {
                        req.send().await.map_err(|e| {
                            if e.as_service_error()
                                .is_some_and(aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeError::is_resource_conflict_exception)
                            {
                                AwsError::call("UpdateFunctionCode", name, &e, true)
                            } else {
                                AwsError::call("UpdateFunctionCode", name, &e, false)
                            }
                        })
                    }
                })
                .await?;
                settle(api, name, "updating code").await?;
            }
            FunctionStep::Configuration => {
                api.reporter.step("updating configuration");
                settle(api, name, "waiting for the previous update").await?;
                let req = api
                    .client
                    .update_function_configuration()
                    .function_name(name)
                    .runtime(Runtime::from(c.runtime.as_str()))
                    .role(&c.role)
                    .handler(&c.handler)
                    .description(&c.description)
                    .timeout(c.timeout)
                    .memory_size(c.memory)
                    .environment(environment(c))
                    .vpc_config(vpc(c));
                retry(api.wait, api.reporter, || {
                    let req = req.clone();
                    async move {
                        req.send().await.map_err(|e| {
                            if e.as_service_error()
                                .is_some_and(aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError::is_resource_conflict_exception)
                            {
                                AwsError::call("UpdateFunctionConfiguration", name, &e, true)
                            } else {
                                AwsError::call("UpdateFunctionConfiguration", name, &e, false)
                            }
                        })
                    }
                })
                .await?;
                settle(api, name, "updating configuration").await?;
            }
            FunctionStep::Tag(tags) => {
                api.client
                    .tag_resource()
                    .resource(arn)
                    .set_tags(Some(
                        tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    ))
                    .send()
                    .await
                    .map_err(|e| AwsError::call("TagResource", name, &e, false))?;
            }
            FunctionStep::Untag(keys) => {
                api.client
                    .untag_resource()
                    .resource(arn)
                    .set_tag_keys(Some(keys.clone()))
                    .send()
                    .await
                    .map_err(|e| AwsError::call("UntagResource", name, &e, false))?;
            }
        }
    }
    Ok(())
}

/// Deletes the function (its mappings are separate resources, deleted before it).
pub async fn delete(api: FunctionApi<'_>, name: &str) -> Result<(), AwsError> {
    match api
        .client
        .delete_function()
        .function_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(aws_sdk_lambda::operation::delete_function::DeleteFunctionError::is_resource_not_found_exception) =>
        {
            Ok(())
        }
        Err(e) => {
            let busy = e.as_service_error().is_some_and(|s| {
                s.is_resource_conflict_exception() || s.is_too_many_requests_exception()
            });
            Err(AwsError::call("DeleteFunction", name, &e, busy))
        }
    }
}

/// Whether the log group `name` exists.
pub async fn log_group_exists(api: FunctionApi<'_>, name: &str) -> Result<bool, AwsError> {
    let out = api
        .logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .map_err(|e| AwsError::call("DescribeLogGroups", name, &e, false))?;
    Ok(out
        .log_groups()
        .iter()
        .any(|g| g.log_group_name() == Some(name)))
}

/// Deletes the log group `name`; already gone is success.
pub async fn delete_log_group(api: FunctionApi<'_>, name: &str) -> Result<(), AwsError> {
    match api
        .logs
        .delete_log_group()
        .log_group_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(aws_sdk_cloudwatchlogs::operation::delete_log_group::DeleteLogGroupError::is_resource_not_found_exception) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::call("DeleteLogGroup", name, &e, false)),
    }
}

#[cfg(test)]
mod tests;
