//! Gateway VPC endpoints and the network facts they need (default VPC, main route table)
//! through the SDK.
//!
//! EC2 sends endpoint states in lowercase (`available`), which the SDK does not parse
//! into its enum: states are compared as lowercase text. Deleted endpoints stay listed with
//! state `deleted` for a while and are ignored.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification, VpcEndpointType};

use super::{EndpointOp, EndpointConfig, EndpointLive, EndpointUpdate};
use crate::apply::Run;
use crate::plan::Change;
use crate::refresh::ReadContext;
use crate::stack::Declared;
use crate::resources::ResourceIo;
use crate::aws::{Api, AwsError, Poll, wait_until};
use crate::ownership;
use crate::resources::{OWNER_TAG, policy};

/// How long an endpoint may take to become available or deleted.
const ENDPOINT_TIMEOUT: Duration = Duration::from_mins(10);

/// One EC2 `Filter` with a single value.
fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}


/// An endpoint policy as EC2 returns it (plain or URL-encoded JSON); `None` if it is neither.
fn parse_policy(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(text)
        .ok()
        .or_else(|| policy::decode(text).ok())
}

/// The endpoints for `service_name`, in any VPC, that are not deleted. Asked by service
/// alone so the question needs no VPC id first.
///
/// One `DescribeVpcEndpoints` filtered on `service-name`. Endpoints `deleted`, `deleting`,
/// `rejected` or `failed` are left out; the ownership tag is moved from the tags into
/// `owner`; a policy that parses neither as JSON nor as URL-encoded JSON reads as `None`.
pub async fn read(api: Api<'_>, service_name: &str) -> Result<Vec<EndpointLive>, AwsError> {
    let out = api
        .aws
        .ec2
        .describe_vpc_endpoints()
        .filters(filter("service-name", service_name))
        .send()
        .await
        .map_err(|e| AwsError::call("DescribeVpcEndpoints", service_name, &e, false))?;
    Ok(out
        .vpc_endpoints()
        .iter()
        .filter(|e| e.service_name() == Some(service_name))
        .filter_map(|e| {
            let state = e
                .state()
                .map(|s| s.as_str().to_ascii_lowercase())
                .unwrap_or_default();
            if matches!(
                state.as_str(),
                "deleted" | "deleting" | "rejected" | "failed"
            ) {
                return None;
            }
            let mut tags: BTreeMap<String, String> = e
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect();
            let owner = tags.remove(OWNER_TAG);
            Some(EndpointLive {
                id: e.vpc_endpoint_id()?.to_string(),
                config: EndpointConfig {
                    vpc_id: e.vpc_id()?.to_string(),
                    service_name: service_name.to_string(),
                    route_tables: e.route_table_ids().iter().cloned().collect(),
                    policy: e.policy_document().and_then(parse_policy),
                    tags,
                },
                owner,
                state,
            })
        })
        .collect())
}

/// The endpoint's state in lowercase (the SDK parses moto's lowercase states as unknown
/// values), or `None` when EC2 does not know the endpoint (an `InvalidVpcEndpointId…`
/// error, or an empty answer).
async fn state(api: Api<'_>, id: &str) -> Result<Option<String>, AwsError> {
    let out = api
        .aws
        .ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(id)
        .send()
        .await;
    match out {
        Ok(out) => Ok(out
            .vpc_endpoints()
            .first()
            .and_then(|e| e.state())
            .map(|s| s.as_str().to_ascii_lowercase())),
        Err(e)
            if e.as_service_error()
                .and_then(aws_smithy_types::error::metadata::ProvideErrorMetadata::code)
                .is_some_and(|c| c.starts_with("InvalidVpcEndpointId")) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::call("DescribeVpcEndpoints", id, &e, false)),
    }
}

/// Creates the endpoint (ownership and `Name` tags in the same call) and waits until it is
/// available. `token` makes a retried create idempotent.
///
/// `CreateVpcEndpoint` (type `Gateway`, VPC, service, route tables, the policy when one is
/// declared, tags in a `TagSpecification`, `token` as `ClientToken`), then
/// `DescribeVpcEndpoints` by id, polled until the state is `available`: any other state,
/// `failed` included, keeps the wait going until `ENDPOINT_TIMEOUT` fails it.
pub async fn create(
    api: Api<'_>,
    c: &EndpointConfig,
    stack: &str,
    token: &str,
) -> Result<String, AwsError> {
    let mut tags = vec![Tag::builder().key(OWNER_TAG).value(stack).build()];
    tags.extend(
        c.tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build()),
    );
    let mut req = api
        .aws
        .ec2
        .create_vpc_endpoint()
        .vpc_endpoint_type(VpcEndpointType::Gateway)
        .vpc_id(&c.vpc_id)
        .service_name(&c.service_name)
        .set_route_table_ids(Some(c.route_tables.iter().cloned().collect()))
        .client_token(token)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::VpcEndpoint)
                .set_tags(Some(tags))
                .build(),
        );
    if let Some(p) = &c.policy {
        req = req.policy_document(p.to_string());
    }
    let out = req
        .send()
        .await
        .map_err(|e| AwsError::call("CreateVpcEndpoint", &c.service_name, &e, false))?;
    let id = out
        .vpc_endpoint()
        .and_then(|e| e.vpc_endpoint_id())
        .unwrap_or_default()
        .to_string();
    // EC2 answers a reused token with the original endpoint, which a destroy may have
    // deleted since: that is no new endpoint, never a success.
    let answered = out
        .vpc_endpoint()
        .and_then(|e| e.state())
        .map(|s| s.as_str().to_ascii_lowercase());
    if let Some(gone @ ("deleted" | "deleting")) = answered.as_deref() {
        return Err(stale_token(&id, gone));
    }
    wait_until(
        api.wait(),
        api.reporter,
        "creating",
        ENDPOINT_TIMEOUT,
        || async {
            match state(api, &id).await?.as_deref() {
                Some("available") => Ok(Poll::Ready(())),
                // EC2 may answer a reused token with the original answer (`pending`) for an
                // endpoint deleted since: the wait shows it.
                Some(gone @ ("deleted" | "deleting")) => Err(stale_token(&id, gone)),
                other => Ok(Poll::Pending(other.unwrap_or("not listed").to_string())),
            }
        },
    )
    .await?;
    Ok(id)
}

/// The error for a create answered with an endpoint that is `deleted` or `deleting`: the
/// token was used by an earlier create whose endpoint is gone.
fn stale_token(id: &str, state: &str) -> AwsError {
    AwsError::Unexpected {
        op: "CreateVpcEndpoint",
        address: id.to_string(),
        message: format!(
            "EC2 answered the create with endpoint {id}, which is {state}: its client token belongs to an endpoint deleted since"
        ),
    }
}

/// Whether `err` is `stale_token`'s.
fn is_stale_token(err: &AwsError) -> bool {
    matches!(err, AwsError::Unexpected { op: "CreateVpcEndpoint", message, .. } if message.contains("its client token belongs to an endpoint deleted since"))
}

/// Creates the endpoint at `address` so that a repeated create makes one endpoint, and
/// verifies that before reporting success.
///
/// The client token comes from `ownership::create_token`: the same across the SDK's
/// retries and across a crashed run and the next, new after the stack deleted the
/// address's endpoint. A create answered with a deleted endpoint (a token outliving its
/// endpoint, after a crash between a delete and `forget_token`) forgets that token and
/// creates once more with a new one. Then the endpoints of the VPC and service are read
/// again: any other endpoint this stack owns there (a retried create an emulator did not
/// recognise as the same) is deleted before the run ends.
async fn create_once(
    api: Api<'_>,
    c: &EndpointConfig,
    run: &Run<'_>,
    address: &str,
) -> Result<String, AwsError> {
    let (stack, env) = (run.stack, run.environment);
    let token = ownership::create_token(api.aws, stack, env, address).await?;
    let id = match create(api, c, stack, &token).await {
        Err(e) if is_stale_token(&e) => {
            api.reporter
                .step("the client token belonged to a deleted endpoint; creating with a new one");
            ownership::forget_token(api.aws, stack, env, address).await?;
            let token = ownership::create_token(api.aws, stack, env, address).await?;
            create(api, c, stack, &token).await?
        }
        other => other?,
    };
    let extras: Vec<String> = read(api, &c.service_name)
        .await?
        .into_iter()
        .filter(|e| {
            e.config.vpc_id == c.vpc_id && e.owner.as_deref() == Some(stack) && e.id != id
        })
        .map(|e| e.id)
        .collect();
    for extra in extras {
        api.reporter
            .step(format!("deleting duplicate endpoint {extra} made by a repeated create"));
        delete(api, &extra).await?;
    }
    Ok(id)
}

/// Applies an in-place update.
///
/// Only what changed is sent: one `ModifyVpcEndpoint` for the route tables added and
/// removed and the policy (`ResetPolicy` when the stack drops it, restoring AWS's default
/// full access), then `CreateTags` and `DeleteTags`. Nothing is awaited afterwards.
pub async fn update(api: Api<'_>, id: &str, u: &EndpointUpdate) -> Result<(), AwsError> {
    if !u.add_route_tables.is_empty() || !u.remove_route_tables.is_empty() || u.policy.is_some() {
        let mut req = api
            .aws
            .ec2
            .modify_vpc_endpoint()
            .vpc_endpoint_id(id)
            .set_add_route_table_ids(
                Some(u.add_route_tables.iter().cloned().collect())
                    .filter(|v: &Vec<String>| !v.is_empty()),
            )
            .set_remove_route_table_ids(
                Some(u.remove_route_tables.iter().cloned().collect())
                    .filter(|v: &Vec<String>| !v.is_empty()),
            );
        match &u.policy {
            Some(Some(p)) => req = req.policy_document(p.to_string()),
            Some(None) => req = req.reset_policy(true),
            None => {}
        }
        req.send()
            .await
            .map_err(|e| AwsError::call("ModifyVpcEndpoint", id, &e, false))?;
    }
    if !u.tag.is_empty() {
        api.aws
            .ec2
            .create_tags()
            .resources(id)
            .set_tags(Some(
                u.tag
                    .iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| AwsError::call("CreateTags", id, &e, false))?;
    }
    if !u.untag.is_empty() {
        api.aws
            .ec2
            .delete_tags()
            .resources(id)
            .set_tags(Some(
                u.untag
                    .iter()
                    .map(|k| Tag::builder().key(k).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| AwsError::call("DeleteTags", id, &e, false))?;
    }
    Ok(())
}

/// Deletes the endpoint and waits until EC2 reports it deleted or forgets it.
///
/// `DeleteVpcEndpoints` reports a failure per endpoint in `Unsuccessful`, not as the call's
/// error: an `InvalidVpcEndpoint…` code in either place means already gone (`Ok`), any
/// other code is an error. Then `DescribeVpcEndpoints` is polled for up to
/// `ENDPOINT_TIMEOUT`.
pub async fn delete(api: Api<'_>, id: &str) -> Result<(), AwsError> {
    let out = match api
        .aws
        .ec2
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(id)
        .send()
        .await
    {
        Ok(out) => out,
        // Already gone (a retried delete whose first answer was lost).
        Err(e)
            if e.as_service_error()
                .and_then(aws_smithy_types::error::metadata::ProvideErrorMetadata::code)
                .is_some_and(|c| c.starts_with("InvalidVpcEndpoint")) =>
        {
            return Ok(());
        }
        Err(e) => return Err(AwsError::call("DeleteVpcEndpoints", id, &e, false)),
    };
    if let Some(problem) = out.unsuccessful().first() {
        let message = problem
            .error()
            .and_then(|e| e.message())
            .unwrap_or("unknown error");
        if !problem
            .error()
            .and_then(|e| e.code())
            .is_some_and(|c| c.starts_with("InvalidVpcEndpoint"))
        {
            return Err(AwsError::Unexpected {
                op: "DeleteVpcEndpoints",
                address: id.to_string(),
                message: message.to_string(),
            });
        }
    }
    wait_until(
        api.wait(),
        api.reporter,
        "destroying",
        ENDPOINT_TIMEOUT,
        || async {
            Ok(match state(api, id).await?.as_deref() {
                None | Some("deleted") => Poll::Ready(()),
                Some(other) => Poll::Pending(other.to_string()),
            })
        },
    )
    .await
}

/// Adds this stack's ownership tag to the endpoint `id` (`adopt`).
async fn tag_as_owned(api: Api<'_>, id: &str, stack: &str) -> Result<(), AwsError> {
    api.aws
        .ec2
        .create_tags()
        .resources(id)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key(OWNER_TAG)
                .value(stack)
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::call("CreateTags", id, &e, false))?;
    Ok(())
}

/// Endpoints are regional EC2 resources the Tagging API covers, so strays are found.
impl ResourceIo for super::Endpoint {
    /// Found by VPC and service (`DescribeVpcEndpoints` has no resource type); created,
    /// modified, tagged and deleted on endpoint ARNs, whose id is not known before the
    /// create: every endpoint, VPC and route table of the account and region.
    fn permissions(
        scope: &crate::resources::permissions::Scope<'_>,
        d: &Declared<super::EndpointSpec>,
    ) -> Vec<crate::resources::permissions::Permission> {
        use crate::resources::permissions::{Permission, Phase};
        let (region, account) = (scope.region, scope.account);
        let mut out = vec![Permission::any(
            "NoResourceTypeForEc2Describe",
            Phase::Plan,
            &["ec2:DescribeVpcEndpoints"],
            "EC2's describe calls have no resource type in IAM: they need `*`",
        )];
        if !d.enabled {
            return out;
        }
        let endpoint = format!("arn:aws:ec2:{region}:{account}:vpc-endpoint/*");
        out.push(Permission::new(
            "VpcEndpoints",
            Phase::Change,
            &["ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint"],
            vec![
                endpoint.clone(),
                format!("arn:aws:ec2:{region}:{account}:vpc/*"),
                format!("arn:aws:ec2:{region}:{account}:route-table/*"),
            ],
        ));
        out.push(Permission::new(
            "VpcEndpointsDelete",
            Phase::Change,
            &["ec2:DeleteVpcEndpoints", "ec2:CreateTags", "ec2:DeleteTags"],
            vec![endpoint],
        ));
        out
    }

    /// The Tagging API's type for VPC endpoints.
    const STRAY_TYPE: Option<&'static str> = Some("ec2:vpc-endpoint");

    /// The endpoint id, after `:vpc-endpoint/` in the ARN.
    fn stray_name(arn: &str) -> Option<String> {
        arn.split(":vpc-endpoint/").nth(1).map(str::to_string)
    }

    /// EC2 keeps deleted endpoints (and their tags) listed for a while.
    ///
    /// A stray is live unless its state is `deleted` or `deleting`, or EC2 no longer knows
    /// it. Its owner is not read again: the Tagging API listed it under this stack's tag.
    async fn read_stray(
        api: Api<'_>,
        _: &str,
        id: &str,
    ) -> Result<Option<crate::plan::Stray>, AwsError> {
        let live = state(api, id)
            .await?
            .filter(|s| s != "deleted" && s != "deleting");
        Ok(live.map(|_| crate::plan::Stray {
            kind: crate::resources::Kind::Endpoint,
            name: id.to_string(),
            items: 0,
            protected: false,
        }))
    }

    /// `CreateTags` with the ownership tag; `target` is the endpoint id.
    async fn tag_owned(api: Api<'_>, target: &str, stack: &str) -> Result<(), AwsError> {
        tag_as_owned(api, target, stack).await
    }

    /// Every endpoint of the service in the declared VPC (none when the region has no
    /// default VPC: planning reports that).
    async fn read(
        api: Api<'_>,
        ctx: &ReadContext<'_>,
        d: &Declared<super::EndpointSpec>,
    ) -> Result<Vec<EndpointLive>, AwsError> {
        let vpc = match &d.spec.vpc {
            super::VpcChoice::Default => ctx.default_vpc().await?,
            super::VpcChoice::Id(id) => Some(id.clone()),
        };
        let Some(vpc) = vpc else {
            return Ok(Vec::new());
        };
        let service = super::service_name(&d.spec.service, ctx.region);
        let mut found = read(api, &service).await?;
        found.retain(|e| e.config.vpc_id == vpc);
        Ok(found)
    }

    /// Creates go through `create_once` (a recorded client token, then a check for
    /// duplicates). An update deletes the duplicates first, then modifies the endpoint
    /// kept; a replacement deletes, forgets the old token, then creates; a delete forgets
    /// the token once every endpoint is gone, so that the next create gets a new one.
    /// Every deletion waits until the endpoint is gone.
    async fn apply(
        api: Api<'_>,
        run: &Run<'_>,
        change: &Change,
        op: &EndpointOp,
    ) -> Result<(), AwsError> {
        let reporter = api.reporter;
        let stack = run.stack;
        let address = change.address.to_string();
        {
            match op {
                EndpointOp::Create(c) => create_once(api, c, run, &address).await.map(drop),
                EndpointOp::Update {
                    id,
                    update,
                    duplicates,
                } => {
                    for dup in duplicates {
                        reporter.step(format!("deleting duplicate endpoint {dup}"));
                        delete(api, dup).await?;
                    }
                    self::update(api, id, update).await
                }
                EndpointOp::Replace { id, config } => {
                    delete(api, id).await?;
                    ownership::forget_token(api.aws, stack, run.environment, &address).await?;
                    create_once(api, config, run, &address).await.map(drop)
                }
                EndpointOp::Delete(ids) => {
                    for id in ids {
                        delete(api, id).await?;
                    }
                    ownership::forget_token(api.aws, stack, run.environment, &address).await
                }
            }
        }
    }
}
