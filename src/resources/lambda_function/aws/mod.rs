//! Lambda functions and their log groups through the SDK.
//!
//! Lambda is asynchronous: a new function is `Pending` until `Active`, and an update leaves
//! `LastUpdateStatus=InProgress` until `Successful`; the next call fails with
//! `ResourceConflictException` meanwhile, so every write here waits for the function to
//! settle. Only `Pending` and `InProgress` block: after a failed update
//! (`LastUpdateStatus=Failed`) the previous configuration stays live and the next update is
//! accepted. Right after a role or policy is created, IAM may not have propagated it yet
//! and `CreateFunction` / `UpdateFunctionConfiguration` fail with a message that
//! `is_iam_propagation` recognises: those are retried for minutes, not seconds.
//!
//! A function in a VPC leaves network interfaces behind that Lambda removes, with the
//! function's own role, minutes after `DeleteFunction`: deleting waits until they are gone,
//! so that the role is not deleted under them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeError;
use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, LastUpdateStatus, Runtime, State, VpcConfig,
};

use super::{FunctionOp, FunctionConfig, FunctionLive, FunctionStep, VpcPlacement};
use crate::apply::Run;
use crate::plan::Change;
use crate::refresh::ReadContext;
use crate::stack::Declared;
use crate::resources::ResourceIo;
use crate::aws::{Api, AwsError, Poll, Retry, retry, wait_until};
use crate::resources::OWNER_TAG;

/// How long a function may stay `Pending` or `InProgress`.
const FUNCTION_TIMEOUT: Duration = Duration::from_mins(15);
/// How long Lambda may take to release a deleted VPC function's network interfaces
/// (20–60 minutes are commonly reported).
const ENI_TIMEOUT: Duration = Duration::from_hours(1);

/// Whether an `InvalidParameterValueException` from `CreateFunction` or
/// `UpdateFunctionConfiguration` means IAM has not yet propagated a new role or policy (or
/// EC2 is still catching up). AWS signals this only in the message; the same modeled type
/// also covers real mistakes, so the documented messages narrow it (the Terraform
/// provider's list).
#[must_use]
pub fn is_iam_propagation(message: Option<&str>) -> bool {
    const PROPAGATION: [&str; 3] = [
        "cannot be assumed by Lambda",
        "does not have permissions to call",
        "throttled by EC2",
    ];
    message.is_some_and(|m| PROPAGATION.iter().any(|p| m.contains(p)))
}

/// The retry class of a failed create or update, from its modeled type: IAM propagation
/// (an `InvalidParameterValueException` that `is_iam_propagation`) settles
/// within minutes; throttling and a concurrent update within seconds.
macro_rules! write_error {
    ($error:ident, $op:literal, $name:expr, $e:expr) => {{
        let e = $e;
        let class = match e.as_service_error() {
            Some($error::InvalidParameterValueException(x)) if is_iam_propagation(x.message()) => {
                Retry::Settling
            }
            Some($error::TooManyRequestsException(_) | $error::ResourceConflictException(_)) => {
                Retry::Busy
            }
            _ => Retry::Never,
        };
        AwsError::classified($op, $name, e, class)
    }};
}

/// Reads the function named `name`.
///
/// One `GetFunction` call gives the configuration and the tags; `ResourceNotFoundException`
/// is `Ok(None)`. The ownership tag is moved out of the tags into `owner`; an empty subnet
/// list means no VPC; `secrets` stays empty (Lambda does not know which are secret).
///
/// # Errors
///
/// Any other `GetFunction` failure (not retried), and `AwsError::Unexpected` when Lambda
/// answers with a `TagsError`, since ownership then cannot be proven.
pub async fn read(api: Api<'_>, name: &str) -> Result<Option<FunctionLive>, AwsError> {
    let out = match api.aws.lambda.get_function().function_name(name).send().await {
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
    // Without `lambda:ListTags` AWS returns the function with no tags and a `TagsError`;
    // reading that as "no ownership tag" would call our own function not ours.
    if let Some(err) = out.tags_error() {
        return Err(AwsError::Unexpected {
            op: "GetFunction",
            address: name.to_string(),
            message: format!(
                "Lambda could not return the function's tags ({}: {}), so its ownership cannot be proven\n  help: allow `lambda:ListTags` on `{}` for these credentials",
                err.error_code(),
                err.message(),
                c.function_arn().unwrap_or(name)
            ),
        });
    }
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
        state_reason: c.state_reason().map(str::to_string),
    }))
}

/// What a wait for a function to settle is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settle {
    /// Before a write: wait only while something blocks it (`Pending`, `InProgress`). A
    /// failed previous update blocks nothing: its configuration was rolled back.
    Before,
    /// After a write of ours: the same wait, and a `Failed` outcome is this write's error.
    After,
}

/// Waits until the function is neither `Pending` nor updating; after a write of ours, a
/// `Failed` state or update is an error with AWS's reason.
///
/// Polls `GetFunctionConfiguration` for up to `FUNCTION_TIMEOUT`.
///
/// # Errors
///
/// `AwsError::Unexpected` with Lambda's `StateReason` or `LastUpdateStatusReason` for a
/// failure under `Settle::After`; `AwsError::Timeout`; a failed poll (not retried).
async fn settle(api: Api<'_>, name: &str, what: &str, mode: Settle) -> Result<(), AwsError> {
    wait_until(api.wait(), api.reporter, what, FUNCTION_TIMEOUT, || async {
        let c = api
            .aws
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| AwsError::call("GetFunctionConfiguration", name, &e, false))?;
        let failed = |reason: Option<&str>| AwsError::Unexpected {
            op: "GetFunctionConfiguration",
            address: name.to_string(),
            message: format!(
                "Lambda reports the change failed: {}",
                reason.unwrap_or("no reason given")
            ),
        };
        match (c.state(), c.last_update_status()) {
            (Some(State::Pending), _) => Ok(Poll::Pending("Pending".into())),
            (_, Some(LastUpdateStatus::InProgress)) => {
                Ok(Poll::Pending("update InProgress".into()))
            }
            (Some(State::Failed), _) if mode == Settle::After => Err(failed(c.state_reason())),
            (_, Some(LastUpdateStatus::Failed)) if mode == Settle::After => {
                Err(failed(c.last_update_status_reason()))
            }
            _ => Ok(Poll::Ready(())),
        }
    })
    .await
}

/// The environment variables as the SDK takes them (always sent, so removing the last one works).
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

/// The VPC placement as the SDK takes it; empty lists take a function out of its VPC, which
/// an absent `VpcConfig` would not.
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
///
/// `CreateFunction` carries code, configuration, VPC and every tag in one call, so the
/// function never exists untagged. It is retried per `write_error!`: IAM propagation for
/// the settling budget, throttling and `ResourceConflictException` a few times. Then
/// `settle` waits out `Pending`; a function ending `Failed` is an error with Lambda's
/// reason. Returns the new function's ARN.
pub async fn create(
    api: Api<'_>,
    c: &FunctionConfig,
    zip: &[u8],
    stack: &str,
) -> Result<String, AwsError> {
    let name = c.name.as_str();
    let mut tags: HashMap<String, String> =
        c.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    tags.insert(OWNER_TAG.into(), stack.into());
    let req = api
        .aws
        .lambda
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
    let created = retry(api.wait(), api.reporter, || {
        let req = req.clone();
        async move {
            match req.send().await {
                Ok(out) => Ok(Some(out.function_arn.unwrap_or_default())),
                // A retried create whose first answer was lost (or a crashed run's): the
                // function is there; whose it is is checked below, by its tag. The same
                // error type also means "an update is in progress", retried as busy.
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(CreateFunctionError::ResourceConflictException(x))
                            if is_function_already_exists(x.message())
                    ) =>
                {
                    Ok(None)
                }
                Err(e) => Err(write_error!(CreateFunctionError, "CreateFunction", name, &e)),
            }
        }
    })
    .await?;
    let arn = if let Some(arn) = created {
        arn
    } else {
        // The function is there: this run's own if it carries this stack's tag.
        let live = read(api, name).await?;
        api.created_earlier("CreateFunction", "function", name, stack, live, |l| l.owner.as_deref())?
            .arn
    };
    settle(api, name, "creating", Settle::After).await?;
    Ok(arn)
}

/// Whether a `ResourceConflictException` from `CreateFunction` says the function exists
/// ("Function already exist: <name>"), as opposed to "An update is in progress for
/// resource: …", which Lambda reports with the same type. AWS tells them apart only in the
/// message.
#[must_use]
pub fn is_function_already_exists(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.contains("already exist"))
}

/// Runs the planned steps: code, then configuration, each followed by a wait.
///
/// Lambda refuses a write with `ResourceConflictException` while an update is
/// `InProgress`, so each code or configuration step first waits for any earlier update
/// (`Settle::Before`), then calls `UpdateFunctionCode` (zip and architecture) or
/// `UpdateFunctionConfiguration` (the whole configuration), retried per `write_error!` (a
/// changed role may not have propagated yet), then waits for `LastUpdateStatus=Successful`
/// (`Settle::After`). Tag steps call `TagResource` / `UntagResource` on `arn` once. A
/// failing step stops the run; the steps before it stay applied.
pub async fn update(
    api: Api<'_>,
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
                settle(api, name, "waiting for the previous update", Settle::Before).await?;
                let req = api
                    .aws
                    .lambda
                    .update_function_code()
                    .function_name(name)
                    .zip_file(Blob::new(zip.to_vec()))
                    .architectures(Architecture::from(c.architecture.as_str()));
                retry(api.wait(), api.reporter, || {
                    let req = req.clone();
                    async move {
                        req.send().await.map_err(|e| {
                            write_error!(UpdateFunctionCodeError, "UpdateFunctionCode", name, &e)
                        })
                    }
                })
                .await?;
                settle(api, name, "updating code", Settle::After).await?;
            }
            FunctionStep::Configuration => {
                api.reporter.step("updating configuration");
                settle(api, name, "waiting for the previous update", Settle::Before).await?;
                let req = api
                    .aws
                    .lambda
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
                retry(api.wait(), api.reporter, || {
                    let req = req.clone();
                    async move {
                        req.send().await.map_err(|e| {
                            write_error!(
                                UpdateFunctionConfigurationError,
                                "UpdateFunctionConfiguration",
                                name,
                                &e
                            )
                        })
                    }
                })
                .await?;
                settle(api, name, "updating configuration", Settle::After).await?;
            }
            FunctionStep::Tag(tags) => {
                api.aws
                    .lambda
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
                api.aws
                    .lambda
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

/// Deletes the function (its mappings are separate resources, deleted before it). With
/// `in_vpc`, waits until Lambda has released the function's network interfaces: Lambda
/// removes them with the function's own role, so the role must outlive them.
///
/// `DeleteFunction` is retried while Lambda answers `ResourceConflictException` or
/// `TooManyRequestsException`; `ResourceNotFoundException` counts as already deleted.
pub async fn delete(api: Api<'_>, name: &str, in_vpc: bool) -> Result<(), AwsError> {
    let deleted = retry(api.wait(), api.reporter, || async {
        match api.aws.lambda.delete_function().function_name(name).send().await {
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
    });
    deleted.await?;
    if in_vpc {
        wait_for_interfaces(api, name).await?;
    }
    Ok(())
}

/// The description Lambda gives a function's VPC network interfaces.
#[must_use]
pub fn interface_description(function: &str) -> String {
    format!("AWS Lambda VPC ENI-{function}")
}

/// Waits, with progress, until no network interface of the function `name` is left.
///
/// Polls `DescribeNetworkInterfaces` filtered on `interface_description(name)` as a
/// prefix, for up to `ENI_TIMEOUT`, reporting the ids left. Being a prefix, the filter
/// also matches the interfaces of a function whose name starts with `name`.
async fn wait_for_interfaces(api: Api<'_>, name: &str) -> Result<(), AwsError> {
    let filter = aws_sdk_ec2::types::Filter::builder()
        .name("description")
        .values(format!("{}*", interface_description(name)))
        .build();
    wait_until(
        api.wait(),
        api.reporter,
        "Lambda releasing the function's VPC network interfaces (often 20-60 min)",
        ENI_TIMEOUT,
        || async {
            let out = api
                .aws
                .ec2
                .describe_network_interfaces()
                .filters(filter.clone())
                .send()
                .await
                .map_err(|e| AwsError::call("DescribeNetworkInterfaces", name, &e, false))?;
            let left: Vec<&str> = out
                .network_interfaces()
                .iter()
                .filter_map(|n| n.network_interface_id())
                .collect();
            Ok(if left.is_empty() {
                Poll::Ready(())
            } else {
                Poll::Pending(format!("{} left: {}", left.len(), left.join(", ")))
            })
        },
    )
    .await
}

/// Adds this stack's ownership tag to the function `arn` (`adopt`).
async fn tag_as_owned(api: Api<'_>, arn: &str, stack: &str) -> Result<(), AwsError> {
    api.aws
        .lambda
        .tag_resource()
        .resource(arn)
        .tags(OWNER_TAG, stack)
        .send()
        .await
        .map_err(|e| AwsError::call("TagResource", arn, &e, false))?;
    Ok(())
}

/// The function's configuration with every reference in its environment filled in; a
/// reference still unknown when the change runs is an error.
fn resolved(
    out: &crate::apply::Outputs,
    address: &crate::resources::Address,
    c: &FunctionConfig,
) -> Result<FunctionConfig, AwsError> {
    let mut c = c.clone();
    for v in c.environment.values_mut() {
        *v = out.text(address, v)?;
    }
    Ok(c)
}

/// The I/O half of the function kind: reads, applies, strays and adoption through Lambda,
/// EC2 (network interfaces) and CloudWatch Logs.
impl ResourceIo for super::Function {
    /// Read by name (its tags need `lambda:ListTags`, which `GetFunction` checks); every
    /// write and wait on the function's ARN, its role passed to Lambda; its log group
    /// (listed with every group of the stack: `DescribeLogGroups` has no resource type);
    /// the network-interface wait of a deleted VPC function (or one no longer declared).
    fn permissions(
        scope: &crate::resources::permissions::Scope<'_>,
        d: &Declared<super::FunctionSpec>,
    ) -> Vec<crate::resources::permissions::Permission> {
        use crate::resources::permissions::{Permission, Phase};
        let (region, account) = (scope.region, scope.account);
        let arn = vec![super::arn(region, account, &d.spec.name)];
        let group = format!(
            "arn:aws:logs:{region}:{account}:log-group:{}",
            super::log_group_name(&d.spec.name)
        );
        let mut out = vec![
            Permission::new("FunctionsRead", Phase::Plan, &["lambda:GetFunction"], arn.clone()),
            Permission::new("FunctionTagsRead", Phase::Plan, &["lambda:ListTags"], arn.clone())
                .aws_only("`GetFunction` returns a function's tags (its ownership) only with `lambda:ListTags`"),
            Permission::any(
                "NoResourceTypeForListingLogGroups",
                Phase::Plan,
                &["logs:DescribeLogGroups"],
                "`logs:DescribeLogGroups` has no resource type in IAM: it needs `*`",
            ),
        ];
        if !d.enabled {
            return out;
        }
        out.push(Permission::new(
            "Functions",
            Phase::Change,
            &[
                "lambda:CreateFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:DeleteFunction",
            ],
            arn,
        ));
        if let Some(role) = crate::resources::arn_of(scope, &d.spec.role) {
            out.push(
                Permission::new("PassRolesToLambda", Phase::Change, &["iam:PassRole"], vec![role])
                    .when(serde_json::json!({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}))
                    .aws_only("`CreateFunction` and `UpdateFunctionConfiguration` pass the function's role to Lambda"),
            );
        }
        out.push(Permission::new(
            "LogGroups",
            Phase::Change,
            &["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup"],
            vec![group.clone(), format!("{group}:*")],
        ));
        out.push(
            Permission::new("LogGroupTags", Phase::Change, &["logs:TagResource"], vec![group.clone(), format!("{group}:*")])
                .aws_only("`CreateLogGroup` with tags (the ownership tag) needs `logs:TagResource`"),
        );
        out.push(Permission::any(
            "NoResourceTypeForNetworkInterfaces",
            Phase::Change,
            &["ec2:DescribeNetworkInterfaces"],
            "`ec2:DescribeNetworkInterfaces` (the wait for a deleted VPC function's interfaces, and for a function no longer declared) has no resource type: it needs `*`",
        ));
        if d.spec.vpc.is_some() {
            out.push(
                Permission::any(
                    "LambdaChecksVpcPlacement",
                    Phase::Change,
                    &["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"],
                    "Lambda reads the subnets and security groups of a VPC function with the caller's credentials; EC2 describe calls have no resource type",
                )
                .aws_only("Lambda checks a VPC function's subnets and security groups as the caller"),
            );
        }
        out
    }

    /// The Tagging API type under which a function the stack no longer declares is found.
    const STRAY_TYPE: Option<&'static str> = Some("lambda:function");

    /// The name in `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`,
    /// without a version or alias qualifier.
    fn stray_name(arn: &str) -> Option<String> {
        let name = arn.split(":function:").nth(1)?;
        Some(name.split(':').next().unwrap_or(name).to_string())
    }

    /// A listed function is a stray only if `GetFunction` still finds it and its tag names
    /// `stack`.
    async fn read_stray(
        api: Api<'_>,
        stack: &str,
        name: &str,
    ) -> Result<Option<crate::plan::Stray>, AwsError> {
        let live = read(api, name)
            .await?
            .filter(|l| l.owner.as_deref() == Some(stack));
        Ok(live.map(|_| crate::plan::Stray {
            kind: crate::resources::Kind::Function,
            name: name.to_string(),
            items: 0,
            protected: false,
        }))
    }

    async fn tag_owned(api: Api<'_>, target: &str, stack: &str) -> Result<(), AwsError> {
        tag_as_owned(api, target, stack).await
    }

    /// The function, and its log group from the stack's one listing of log groups.
    async fn read(
        api: Api<'_>,
        ctx: &ReadContext<'_>,
        d: &Declared<super::FunctionSpec>,
    ) -> Result<super::FunctionState, AwsError> {
        let name = &d.spec.name;
        let (function, groups) = futures::try_join!(read(api, name), ctx.log_groups())?;
        Ok(super::FunctionState {
            function,
            log_group: groups.get(&super::log_group_name(name)).cloned(),
        })
    }

    /// Runs one function operation. Create and update fill in the environment's late
    /// references first. Replace deletes without waiting for network interfaces, then
    /// creates. Delete waits for interfaces only for a function that was in a VPC. For
    /// the log group's operations the change's name is the log group's. A stray goes in order: its
    /// mappings (`delete_dependents`), the function, its log group.
    async fn apply(
        api: Api<'_>,
        run: &Run<'_>,
        change: &Change,
        op: &FunctionOp,
    ) -> Result<(), AwsError> {
        let stack = run.stack;
        let name = change.name.as_str();
        let address = &change.address;
        let out = run.outputs;
        match op {
            FunctionOp::Create { config, zip } => {
                create(api, &resolved(out, address, config)?, zip, stack)
                    .await
                    .map(drop)
            }
            FunctionOp::Update {
                config,
                arn,
                zip,
                steps,
            } => update(api, &resolved(out, address, config)?, arn, zip, steps).await,
            FunctionOp::Replace { config, zip } => {
                delete(api, name, false).await?;
                create(api, &resolved(out, address, config)?, zip, stack)
                    .await
                    .map(drop)
            }
            FunctionOp::Delete { in_vpc } => delete(api, name, *in_vpc).await,
            FunctionOp::CreateLogGroup { retention_days } => {
                crate::resources::logs::aws::create(api, name, *retention_days, stack).await
            }
            FunctionOp::SetRetention { days } => {
                crate::resources::logs::aws::set_retention(api, name, *days).await
            }
            FunctionOp::DeleteLogGroup => crate::resources::logs::aws::delete(api, name).await,
            FunctionOp::DeleteStray => {
                crate::resources::delete_dependents(api, crate::resources::Kind::Function, name)
                    .await?;
                // Its configuration was not read: check for network interfaces in any case.
                delete(api, name, true).await?;
                crate::resources::logs::aws::delete(api, &super::log_group_name(name)).await
            }
        }
    }
}

#[cfg(test)]
mod tests;
