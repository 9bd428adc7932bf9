//! DAX clusters through `aws-sdk-dax`: reads, the create/update/delete sequences with their
//! waits, and the subnet and parameter groups the tool makes (each under an ownership
//! record, written before it is created).
//!
//! The client is this kind's own (`Aws::client`): no other code names the DAX SDK.
//! `ClusterNotFoundFault`, `SubnetGroupNotFoundFault` and `ParameterGroupNotFoundFault`
//! answer "absent" to a read and "done" to a delete, so a run repeated after a partial
//! failure converges. A cluster mid-change (`InvalidClusterStateFault`) and a subnet group
//! still in use by a cluster being deleted are retried for the settling budget.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_dax::Client;
use aws_sdk_dax::types::{
    ClusterEndpointEncryptionType, ParameterNameValue, SseSpecification, Tag,
};

use super::{
    ClusterConfig, ClusterLive, ClusterOp, ClusterUpdate, DaxCluster, DaxLive, GroupLive, Ttls,
    own_group_name,
};
use crate::apply::Run;
use crate::aws::{Api, AwsError, Poll, Retry, retry, retry_within, wait_until};
use crate::plan::Change;
use crate::refresh::ReadContext;
use crate::resources::refs::{Attr, Ref};
use crate::resources::{Kind, OWNER_TAG, ResourceIo};
use crate::stack::Declared;

/// How long a cluster may take to become available: Terraform's provider allows 45
/// minutes to create (and 90 to update); DAX usually takes 5 to 15.
const CLUSTER_WAIT: Duration = Duration::from_mins(45);

/// How long `CreateCluster` is retried while IAM propagates a new role (Terraform: 2 min).
const ROLE_PROPAGATION: Duration = Duration::from_mins(2);

/// The parameter names of a DAX parameter group's two TTLs.
const RECORD_TTL: &str = "record-ttl-millis";
const QUERY_TTL: &str = "query-ttl-millis";

/// The retry class of a refusal that goes away once the cluster or group settles (a
/// cluster mid-change, a group still in use by a cluster being deleted), `Never` for
/// any other.
fn settling_if(settles: bool) -> Retry {
    if settles { Retry::Settling } else { Retry::Never }
}

/// This kind's DAX client, built once from the shared SDK configuration.
fn dax(api: Api<'_>) -> Client {
    api.aws.client(Client::new)
}

/// The ownership record names of the groups the tool makes (records are keyed by kind and
/// name; the prefix keeps a group apart from a cluster of the same name).
fn subnet_record(group: &str) -> String {
    format!("subnet-group/{group}")
}

/// See `subnet_record`.
fn parameter_record(group: &str) -> String {
    format!("parameter-group/{group}")
}

/// A DAX tag; the builder refuses only a missing key or value, a bug here.
fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

/// The cluster named `name` as DAX reports it, with its tags; `None` when there is none or
/// it is being deleted (a new one of that name can be made once it is gone).
pub async fn read_cluster(api: Api<'_>, name: &str) -> Result<Option<ClusterLive>, AwsError> {
    let client = dax(api);
    let out = match client.describe_clusters().cluster_names(name).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_dax::operation::describe_clusters::DescribeClustersError::is_cluster_not_found_fault,
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(AwsError::call("DescribeClusters", name, &e, false)),
    };
    let Some(c) = out.clusters().iter().find(|c| c.cluster_name() == Some(name)) else {
        return Ok(None);
    };
    let status = c.status().unwrap_or_default().to_string();
    if status == "deleting" || status == "deleted" {
        return Ok(None);
    }
    let arn = c.cluster_arn().unwrap_or_default().to_string();
    // DAX answers ListTags only for an available cluster (InvalidClusterStateFault while it
    // is creating or modifying): until then its tags and owner are unknown here, and the
    // kind's `read` takes the owner from the stack's record.
    let mut tags = if status == "available" {
        list_tags(&client, &arn).await?
    } else {
        BTreeMap::new()
    };
    let owner = tags.remove(OWNER_TAG);
    let endpoint_encryption = c
        .cluster_endpoint_encryption_type()
        .map_or("NONE", ClusterEndpointEncryptionType::as_str)
        .to_string();
    let endpoint = c.cluster_discovery_endpoint().and_then(|e| {
        e.url().map(str::to_string).or_else(|| {
            e.address().map(|a| {
                let scheme = if endpoint_encryption == "TLS" { "daxs" } else { "dax" };
                format!("{scheme}://{a}:{}", e.port())
            })
        })
    });
    Ok(Some(ClusterLive {
        config: ClusterConfig {
            name: name.to_string(),
            node_type: c.node_type().unwrap_or_default().to_string(),
            replication_factor: c.total_nodes().unwrap_or_default(),
            role_arn: c.iam_role_arn().unwrap_or_default().to_string(),
            subnet_group: c.subnet_group().unwrap_or_default().to_string(),
            own_subnets: None,
            security_groups: c
                .security_groups()
                .iter()
                .filter_map(|g| g.security_group_identifier().map(str::to_string))
                .collect(),
            encryption: c.sse_description().and_then(|s| s.status()).is_some_and(|s| {
                matches!(s.as_str(), "ENABLED" | "ENABLING")
            }),
            endpoint_encryption,
            parameter_group: c
                .parameter_group()
                .and_then(|g| g.parameter_group_name())
                .unwrap_or_default()
                .to_string(),
            parameters: None,
            description: c.description().unwrap_or_default().to_string(),
            maintenance_window: c.preferred_maintenance_window().map(str::to_string),
            tags,
        },
        arn,
        status,
        endpoint,
        owner,
    }))
}

/// Every tag of the cluster `arn`, following `NextToken`.
async fn list_tags(client: &Client, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let mut tags = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .list_tags()
            .resource_name(arn)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| AwsError::call("ListTags", arn, &e, false))?;
        for t in out.tags() {
            if let (Some(k), Some(v)) = (t.key(), t.value()) {
                tags.insert(k.to_string(), v.to_string());
            }
        }
        token = out.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(tags);
        }
    }
}

/// The subnets of the subnet group `name`, or `None` when there is no such group.
pub async fn read_subnet_group(
    api: Api<'_>,
    name: &str,
) -> Result<Option<BTreeSet<String>>, AwsError> {
    match dax(api).describe_subnet_groups().subnet_group_names(name).send().await {
        Ok(out) => Ok(out
            .subnet_groups()
            .iter()
            .find(|g| g.subnet_group_name() == Some(name))
            .map(|g| {
                g.subnets()
                    .iter()
                    .filter_map(|s| s.subnet_identifier().map(str::to_string))
                    .collect()
            })),
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_dax::operation::describe_subnet_groups::DescribeSubnetGroupsError::is_subnet_group_not_found_fault,
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::call("DescribeSubnetGroups", name, &e, false)),
    }
}

/// The TTLs of the parameter group `name`, or `None` when there is no such group.
pub async fn read_parameter_group(api: Api<'_>, name: &str) -> Result<Option<Ttls>, AwsError> {
    let mut ttls = Ttls {
        record: super::DEFAULT_TTL_MS,
        query: super::DEFAULT_TTL_MS,
    };
    let mut token: Option<String> = None;
    loop {
        let out = match dax(api)
            .describe_parameters()
            .parameter_group_name(name)
            .set_next_token(token.clone())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_dax::operation::describe_parameters::DescribeParametersError::is_parameter_group_not_found_fault,
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(AwsError::call("DescribeParameters", name, &e, false)),
        };
        for p in out.parameters() {
            let value = p.parameter_value().and_then(|v| v.parse::<i64>().ok());
            match (p.parameter_name(), value) {
                (Some(RECORD_TTL), Some(v)) => ttls.record = v,
                (Some(QUERY_TTL), Some(v)) => ttls.query = v,
                _ => {}
            }
        }
        token = out.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(Some(ttls));
        }
    }
}

/// Polls the cluster `name` until it is `available`, reporting progress; answers its
/// discovery endpoint.
async fn wait_available(api: Api<'_>, name: &str) -> Result<Option<String>, AwsError> {
    wait_until(
        api.wait(),
        api.reporter,
        "the cluster to become available",
        CLUSTER_WAIT,
        || async {
            match read_cluster(api, name).await? {
                Some(c) if c.status == "available" => Ok(Poll::Ready(c.endpoint)),
                Some(c) => Ok(Poll::Pending(c.status)),
                None => Err(AwsError::Unexpected {
                    op: "DescribeClusters",
                    address: name.to_string(),
                    message: "the cluster disappeared while the tool waited for it".into(),
                }),
            }
        },
    )
    .await
}

/// Polls until no cluster named `name` exists (one `deleting` still counts), reporting
/// progress.
async fn wait_gone(api: Api<'_>, name: &str) -> Result<(), AwsError> {
    let client = dax(api);
    wait_until(
        api.wait(),
        api.reporter,
        "the cluster to be deleted",
        CLUSTER_WAIT,
        || async {
            match client.describe_clusters().cluster_names(name).send().await {
                Ok(out) => match out.clusters().iter().find(|c| c.cluster_name() == Some(name)) {
                    Some(c) => Ok(Poll::Pending(c.status().unwrap_or("deleting").to_string())),
                    None => Ok(Poll::Ready(())),
                },
                Err(e)
                    if e.as_service_error().is_some_and(
                        aws_sdk_dax::operation::describe_clusters::DescribeClustersError::is_cluster_not_found_fault,
                    ) =>
                {
                    Ok(Poll::Ready(()))
                }
                Err(e) => Err(AwsError::call("DescribeClusters", name, &e, false)),
            }
        },
    )
    .await
}

/// Makes the subnet group `group` hold `subnets`: created under the stack's record, or,
/// when it exists already (an earlier attempt made it), updated.
async fn ensure_subnet_group(
    api: Api<'_>,
    run: &Run<'_>,
    address: &str,
    group: &str,
    subnets: &BTreeSet<String>,
) -> Result<(), AwsError> {
    crate::ownership::claim(api.aws, run.stack, Kind::DaxCluster, address, &subnet_record(group), None)
        .await?;
    put_subnet_group(api, run.stack, group, subnets).await
}

/// `CreateSubnetGroup`, or `UpdateSubnetGroup` when the group exists already.
async fn put_subnet_group(
    api: Api<'_>,
    stack: &str,
    group: &str,
    subnets: &BTreeSet<String>,
) -> Result<(), AwsError> {
    let ids: Vec<String> = subnets.iter().cloned().collect();
    let created = dax(api)
        .create_subnet_group()
        .subnet_group_name(group)
        .description(format!("cruddur-infra stack {stack}"))
        .set_subnet_ids(Some(ids.clone()))
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_dax::operation::create_subnet_group::CreateSubnetGroupError::is_subnet_group_already_exists_fault,
            ) =>
        {
            update_subnet_group(api, group, subnets).await
        }
        Err(e) => Err(AwsError::call("CreateSubnetGroup", group, &e, false)),
    }
}

/// `UpdateSubnetGroup`: the group's subnets become `subnets`.
async fn update_subnet_group(
    api: Api<'_>,
    group: &str,
    subnets: &BTreeSet<String>,
) -> Result<(), AwsError> {
    dax(api)
        .update_subnet_group()
        .subnet_group_name(group)
        .set_subnet_ids(Some(subnets.iter().cloned().collect()))
        .send()
        .await
        .map_err(|e| AwsError::call("UpdateSubnetGroup", group, &e, false))?;
    Ok(())
}

/// Makes the parameter group `group` hold `ttls`: created under the stack's record when it
/// does not exist yet, then `UpdateParameterGroup` with both values.
async fn ensure_parameter_group(
    api: Api<'_>,
    run: &Run<'_>,
    address: &str,
    group: &str,
    ttls: Ttls,
) -> Result<(), AwsError> {
    crate::ownership::claim(api.aws, run.stack, Kind::DaxCluster, address, &parameter_record(group), None)
        .await?;
    put_parameter_group(api, run.stack, group, ttls).await
}

/// `CreateParameterGroup` (one that exists already is kept), then `UpdateParameterGroup`.
async fn put_parameter_group(
    api: Api<'_>,
    stack: &str,
    group: &str,
    ttls: Ttls,
) -> Result<(), AwsError> {
    let created = dax(api)
        .create_parameter_group()
        .parameter_group_name(group)
        .description(format!("cruddur-infra stack {stack}"))
        .send()
        .await;
    if let Err(e) = created
        && !e.as_service_error().is_some_and(
            aws_sdk_dax::operation::create_parameter_group::CreateParameterGroupError::is_parameter_group_already_exists_fault,
        )
    {
        return Err(AwsError::call("CreateParameterGroup", group, &e, false));
    }
    let value = |name: &str, ms: i64| {
        ParameterNameValue::builder()
            .parameter_name(name)
            .parameter_value(ms.to_string())
            .build()
    };
    dax(api)
        .update_parameter_group()
        .parameter_group_name(group)
        .parameter_name_values(value(RECORD_TTL, ttls.record))
        .parameter_name_values(value(QUERY_TTL, ttls.query))
        .send()
        .await
        .map_err(|e| AwsError::call("UpdateParameterGroup", group, &e, false))?;
    Ok(())
}

/// Whether a `CreateCluster` failure is IAM still propagating a new role: DAX reports it as
/// `InvalidParameterValueException` "No permission to assume role" (the text Terraform's
/// provider retries on). Any other invalid value is a real error.
fn is_role_propagation(e: &aws_sdk_dax::operation::create_cluster::CreateClusterError) -> bool {
    match e {
        aws_sdk_dax::operation::create_cluster::CreateClusterError::InvalidParameterValueException(x) => x
            .message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("assume role")),
        _ => false,
    }
}

/// Creates the cluster: the records and groups first, then `CreateCluster` with the
/// ownership tag (IAM propagation retried, an earlier attempt's cluster carried on with),
/// then the wait until it is available. Answers the discovery endpoint.
async fn create(
    api: Api<'_>,
    run: &Run<'_>,
    address: &str,
    c: &ClusterConfig,
    new_role: bool,
) -> Result<Option<String>, AwsError> {
    crate::ownership::claim(api.aws, run.stack, Kind::DaxCluster, address, &c.name, None).await?;
    if let Some(subnets) = &c.own_subnets {
        ensure_subnet_group(api, run, address, &c.subnet_group, subnets).await?;
    }
    if let Some(ttls) = c.parameters {
        ensure_parameter_group(api, run, address, &c.parameter_group, ttls).await?;
    }
    // A cluster of this name still being deleted (a replacement, or a destroy moments ago)
    // would refuse the create: wait until it is gone.
    wait_gone(api, &c.name).await?;
    create_cluster(api, run.stack, c, new_role).await
}

/// `CreateCluster` with the ownership tag, retrying IAM propagation of the role; an
/// earlier attempt's cluster (`ClusterAlreadyExistsFault`, tagged as this stack's) is
/// carried on with. Then the wait until it is available; answers the endpoint.
async fn create_cluster(
    api: Api<'_>,
    stack: &str,
    c: &ClusterConfig,
    new_role: bool,
) -> Result<Option<String>, AwsError> {
    let mut tags = vec![tag(OWNER_TAG, stack)];
    tags.extend(c.tags.iter().map(|(k, v)| tag(k, v)));
    // A role made in this run may take minutes to reach DAX: the whole settling budget;
    // otherwise Terraform's two minutes (never more than the policy allows).
    let budget = if new_role {
        api.wait().settling
    } else {
        ROLE_PROPAGATION.min(api.wait().settling)
    };
    let created = retry_within(api.wait(), api.reporter, budget, || {
        let tags = tags.clone();
        async move {
            let mut call = dax(api)
                .create_cluster()
                .cluster_name(&c.name)
                .node_type(&c.node_type)
                .replication_factor(c.replication_factor)
                .iam_role_arn(&c.role_arn)
                .subnet_group_name(&c.subnet_group)
                .set_security_group_ids(Some(c.security_groups.iter().cloned().collect()))
                .parameter_group_name(&c.parameter_group)
                .sse_specification(
                    SseSpecification::builder()
                        .enabled(c.encryption)
                        .build()
                        .map_err(|e| AwsError::Unexpected {
                            op: "CreateCluster",
                            address: c.name.clone(),
                            message: e.to_string(),
                        })?,
                )
                .cluster_endpoint_encryption_type(ClusterEndpointEncryptionType::from(
                    c.endpoint_encryption.as_str(),
                ))
                .set_tags(Some(tags));
            if !c.description.is_empty() {
                call = call.description(&c.description);
            }
            if let Some(w) = &c.maintenance_window {
                call = call.preferred_maintenance_window(w);
            }
            match call.send().await {
                Ok(_) => Ok(true),
                Err(e)
                    if e.as_service_error().is_some_and(
                        aws_sdk_dax::operation::create_cluster::CreateClusterError::is_cluster_already_exists_fault,
                    ) =>
                {
                    Ok(false)
                }
                Err(e) => {
                    let propagating = e.as_service_error().is_some_and(is_role_propagation);
                    let busy = e.as_service_error().is_some_and(|s| {
                        s.is_invalid_cluster_state_fault()
                    });
                    Err(AwsError::classified(
                        "CreateCluster",
                        &c.name,
                        &e,
                        if propagating {
                            Retry::Settling
                        } else if busy {
                            Retry::Busy
                        } else {
                            Retry::Never
                        },
                    ))
                }
            }
        }
    })
    .await?;
    if !created {
        // The earlier attempt's cluster shows its tags once it is available.
        wait_available(api, &c.name).await?;
        let live = read_cluster(api, &c.name).await?;
        api.created_earlier("CreateCluster", "DAX cluster", &c.name, stack, live, |l| {
            l.owner.as_deref()
        })?;
    }
    api.reporter.step("waiting for the cluster to become available (minutes on AWS)");
    wait_available(api, &c.name).await
}

/// The status DAX reports for the cluster `name`, `deleting` included; `None` when there
/// is none.
async fn status_of(api: Api<'_>, name: &str) -> Result<Option<String>, AwsError> {
    match dax(api).describe_clusters().cluster_names(name).send().await {
        Ok(out) => Ok(out
            .clusters()
            .iter()
            .find(|c| c.cluster_name() == Some(name))
            .map(|c| c.status().unwrap_or_default().to_string())),
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_dax::operation::describe_clusters::DescribeClustersError::is_cluster_not_found_fault,
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::call("DescribeClusters", name, &e, false)),
    }
}

/// Deletes the cluster `name` and waits until it is gone: one already gone is done, one
/// already deleting is only awaited, and one still creating or modifying (an interrupted
/// run's) is awaited until available first, since DAX refuses to delete it before (the
/// create alone can take longer than the settling budget).
async fn delete_cluster(api: Api<'_>, name: &str) -> Result<(), AwsError> {
    match status_of(api, name).await?.as_deref() {
        None => return Ok(()),
        Some("deleting" | "deleted") => {
            api.reporter.step("waiting for the cluster to be deleted (minutes on AWS)");
            return wait_gone(api, name).await;
        }
        Some("available") => {}
        Some(_) => {
            wait_available(api, name).await?;
        }
    }
    retry(api.wait(), api.reporter, || async {
        match dax(api).delete_cluster().cluster_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_dax::operation::delete_cluster::DeleteClusterError::is_cluster_not_found_fault,
                ) =>
            {
                Ok(())
            }
            Err(e) => {
                let mid_change = e.as_service_error().is_some_and(
                    aws_sdk_dax::operation::delete_cluster::DeleteClusterError::is_invalid_cluster_state_fault,
                );
                Err(AwsError::classified(
                    "DeleteCluster",
                    name,
                    &e,
                    settling_if(mid_change),
                ))
            }
        }
    })
    .await?;
    api.reporter.step("waiting for the cluster to be deleted (minutes on AWS)");
    wait_gone(api, name).await
}

/// Deletes the groups the stack made for cluster `name` (those its records name as this
/// stack's), then the records, the cluster's last. A subnet group is still "in use" for a
/// moment after its cluster is gone: retried for the settling budget.
async fn delete_own_groups(api: Api<'_>, stack: &str, name: &str) -> Result<(), AwsError> {
    let group = own_group_name(stack, name);
    let owned = |record: String| async move {
        Ok::<_, AwsError>(
            crate::ownership::owner(api.aws, Kind::DaxCluster, &record).await?.as_deref() == Some(stack),
        )
    };
    if owned(subnet_record(&group)).await? {
        retry(api.wait(), api.reporter, || async {
            match dax(api).delete_subnet_group().subnet_group_name(&group).send().await {
                Ok(_) => Ok(()),
                Err(e) if e.as_service_error().is_some_and(aws_sdk_dax::operation::delete_subnet_group::DeleteSubnetGroupError::is_subnet_group_not_found_fault) => Ok(()),
                Err(e) => {
                    let in_use = e.as_service_error().is_some_and(aws_sdk_dax::operation::delete_subnet_group::DeleteSubnetGroupError::is_subnet_group_in_use_fault);
                    Err(AwsError::classified(
                        "DeleteSubnetGroup",
                        &group,
                        &e,
                        settling_if(in_use),
                    ))
                }
            }
        })
        .await?;
        crate::ownership::release(api.aws, stack, Kind::DaxCluster, &subnet_record(&group)).await?;
    }
    if owned(parameter_record(&group)).await? {
        delete_parameter_group(api, stack, &group).await?;
    }
    crate::ownership::release(api.aws, stack, Kind::DaxCluster, name).await
}

/// Deletes the parameter group `group` the stack made, then its record.
async fn delete_parameter_group(api: Api<'_>, stack: &str, group: &str) -> Result<(), AwsError> {
    retry(api.wait(), api.reporter, || async {
        match dax(api).delete_parameter_group().parameter_group_name(group).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(aws_sdk_dax::operation::delete_parameter_group::DeleteParameterGroupError::is_parameter_group_not_found_fault) => Ok(()),
            Err(e) => {
                let in_use = e.as_service_error().is_some_and(aws_sdk_dax::operation::delete_parameter_group::DeleteParameterGroupError::is_invalid_parameter_group_state_fault);
                Err(AwsError::classified(
                    "DeleteParameterGroup",
                    group,
                    &e,
                    settling_if(in_use),
                ))
            }
        }
    })
    .await?;
    crate::ownership::release(api.aws, stack, Kind::DaxCluster, &parameter_record(group)).await
}

/// Runs an in-place update: tags, the own groups' subnets and TTLs, `UpdateCluster`, then
/// the replication factor, each cluster change once the cluster is `available` again;
/// last, the parameter group the cluster no longer uses. Answers the endpoint.
async fn update(
    api: Api<'_>,
    run: &Run<'_>,
    address: &str,
    name: &str,
    u: &ClusterUpdate,
) -> Result<Option<String>, AwsError> {
    let client = dax(api);
    let group = own_group_name(run.stack, name);
    // DAX changes only an available cluster (tags included): an interrupted run may have
    // left it modifying.
    wait_available(api, name).await?;
    if !u.tag.is_empty() || !u.untag.is_empty() {
        let arn = read_cluster(api, name)
            .await?
            .map(|c| c.arn)
            .ok_or_else(|| AwsError::Unexpected {
                op: "DescribeClusters",
                address: name.to_string(),
                message: "the cluster is gone".into(),
            })?;
        if !u.tag.is_empty() {
            client
                .tag_resource()
                .resource_name(&arn)
                .set_tags(Some(u.tag.iter().map(|(k, v)| tag(k, v)).collect()))
                .send()
                .await
                .map_err(|e| AwsError::call("TagResource", name, &e, false))?;
        }
        if !u.untag.is_empty() {
            client
                .untag_resource()
                .resource_name(&arn)
                .set_tag_keys(Some(u.untag.clone()))
                .send()
                .await
                .map_err(|e| AwsError::call("UntagResource", name, &e, false))?;
        }
    }
    if let Some(subnets) = &u.subnets {
        update_subnet_group(api, &group, subnets).await?;
    }
    if let Some(ttls) = u.parameters {
        ensure_parameter_group(api, run, address, &group, ttls).await?;
    }
    let s = &u.settings;
    if s != &super::ClusterSettings::default() {
        wait_available(api, name).await?;
        let busy = |e: &aws_sdk_dax::operation::update_cluster::UpdateClusterError| {
            e.is_invalid_cluster_state_fault()
        };
        retry(api.wait(), api.reporter, || async {
            client
                .update_cluster()
                .cluster_name(name)
                .set_description(s.description.clone())
                .set_parameter_group_name(s.parameter_group.clone())
                .set_security_group_ids(s.security_groups.as_ref().map(|g| g.iter().cloned().collect()))
                .set_preferred_maintenance_window(s.maintenance_window.clone())
                .send()
                .await
                .map_err(|e| {
                    let b = e.as_service_error().is_some_and(busy);
                    AwsError::call("UpdateCluster", name, &e, b)
                })
        })
        .await?;
    }
    if let Some(factor) = u.replication_factor {
        let current = wait_available(api, name).await.and(read_cluster(api, name).await)?;
        let have = current.map_or(factor, |c| c.config.replication_factor);
        // Right after UpdateCluster, DAX may still report `available` before it turns
        // `modifying`: a refusal for the cluster's state is retried until it settles.
        if factor > have {
            retry(api.wait(), api.reporter, || async {
                client
                    .increase_replication_factor()
                    .cluster_name(name)
                    .new_replication_factor(factor)
                    .send()
                    .await
                    .map_err(|e| {
                        let state = e.as_service_error().is_some_and(
                            aws_sdk_dax::operation::increase_replication_factor::IncreaseReplicationFactorError::is_invalid_cluster_state_fault,
                        );
                        AwsError::classified(
                            "IncreaseReplicationFactor",
                            name,
                            &e,
                            settling_if(state),
                        )
                    })
            })
            .await?;
        } else if factor < have {
            retry(api.wait(), api.reporter, || async {
                client
                    .decrease_replication_factor()
                    .cluster_name(name)
                    .new_replication_factor(factor)
                    .send()
                    .await
                    .map_err(|e| {
                        let state = e.as_service_error().is_some_and(
                            aws_sdk_dax::operation::decrease_replication_factor::DecreaseReplicationFactorError::is_invalid_cluster_state_fault,
                        );
                        AwsError::classified(
                            "DecreaseReplicationFactor",
                            name,
                            &e,
                            settling_if(state),
                        )
                    })
            })
            .await?;
        }
    }
    let endpoint = wait_available(api, name).await?;
    if let Some(old) = &u.drop_parameter_group
        && crate::ownership::owner(api.aws, Kind::DaxCluster, &parameter_record(old))
            .await?
            .as_deref()
            == Some(run.stack)
    {
        delete_parameter_group(api, run.stack, old).await?;
    }
    Ok(endpoint)
}

/// DAX through the SDK.
impl ResourceIo for DaxCluster {
    /// The cluster on its ARN (`cache/<name>`); its subnet and parameter groups on `*`,
    /// their only resource in IAM; its role passed to DAX, and what `CreateCluster` checks
    /// as the caller (its network interfaces, the service-linked role of an account's
    /// first cluster). A disabled cluster the stack never made costs no DAX call.
    fn permissions(
        scope: &crate::resources::permissions::Scope<'_>,
        d: &Declared<super::ClusterSpec>,
    ) -> Vec<crate::resources::permissions::Permission> {
        use crate::resources::permissions::{Permission, Phase};
        if !d.enabled {
            return Vec::new();
        }
        let account = scope.account;
        let cache: Vec<String> = crate::resources::arn_of(scope, &d.address).into_iter().collect();
        let mut out = vec![
            Permission::new("DaxClustersRead", Phase::Plan, &["dax:DescribeClusters", "dax:ListTags"], cache.clone()),
            Permission::any(
                "NoResourceTypeForDaxGroups",
                Phase::Plan,
                &["dax:DescribeSubnetGroups", "dax:DescribeParameters"],
                "DAX's subnet and parameter group actions have no resource type in IAM: they need `*`",
            ),
            Permission::new(
                "DaxClusters",
                Phase::Change,
                &[
                    "dax:CreateCluster",
                    "dax:UpdateCluster",
                    "dax:IncreaseReplicationFactor",
                    "dax:DecreaseReplicationFactor",
                    "dax:TagResource",
                    "dax:UntagResource",
                    "dax:DeleteCluster",
                ],
                cache,
            ),
            Permission::any(
                "NoResourceTypeForDaxGroupChanges",
                Phase::Change,
                &[
                    "dax:CreateSubnetGroup",
                    "dax:UpdateSubnetGroup",
                    "dax:DeleteSubnetGroup",
                    "dax:CreateParameterGroup",
                    "dax:UpdateParameterGroup",
                    "dax:DeleteParameterGroup",
                ],
                "DAX's subnet and parameter group actions have no resource type in IAM: they need `*`",
            ),
            Permission::any(
                "DaxCreatesInterfacesAsTheCaller",
                Phase::Change,
                &[
                    "ec2:CreateNetworkInterface",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                ],
                "`dax:CreateCluster` makes the nodes' network interfaces with the caller's credentials (AWS lists these as its dependent actions); EC2 has no resource to scope them to before they exist",
            )
            .aws_only("`dax:CreateCluster` creates the nodes' network interfaces as the caller"),
            Permission::new(
                "DaxServiceLinkedRole",
                Phase::Change,
                &["iam:CreateServiceLinkedRole"],
                vec![format!("arn:aws:iam::{account}:role/aws-service-role/dax.amazonaws.com/*")],
            )
            .when(serde_json::json!({"StringEquals": {"iam:AWSServiceName": "dax.amazonaws.com"}}))
            .aws_only("an account's first DAX cluster makes DAX's service-linked role"),
        ];
        if let Some(role) = crate::resources::arn_of(scope, &d.spec.role) {
            out.push(
                Permission::new("PassRolesToDax", Phase::Change, &["iam:PassRole"], vec![role])
                    .when(serde_json::json!({"StringEquals": {"iam:PassedToService": "dax.amazonaws.com"}}))
                    .aws_only("`CreateCluster` passes the cluster's role to DAX"),
            );
        }
        out
    }

    /// Clusters no longer declared are found from the stack's ownership records (every
    /// cluster the tool makes has one), not from the Tagging API.
    const STRAYS_FROM_RECORDS: bool = true;

    /// The cluster and the groups the tool would make for it, with the groups' owners from
    /// their records (the stack's records, scanned once per refresh). A disabled cluster is looked for only when a record says the stack
    /// made it or its groups: otherwise it is absent without a single DAX call.
    async fn read(
        api: Api<'_>,
        ctx: &ReadContext<'_>,
        d: &Declared<super::ClusterSpec>,
    ) -> Result<DaxLive, AwsError> {
        let stack = ctx.stack.name.as_str();
        let group = own_group_name(stack, &d.spec.name);
        // The records come from the scan refresh makes once for the whole stack.
        let records = ctx.records().await?;
        let owner = |record: String| {
            records
                .iter()
                .find(|r| r.kind == Kind::DaxCluster && r.name == record)
                .map(|r| r.stack.clone())
        };
        let cluster_owner = owner(d.spec.name.clone());
        let subnet_owner = owner(subnet_record(&group));
        let parameter_owner = owner(parameter_record(&group));
        let ours = |o: &Option<String>| o.as_deref() == Some(stack);
        if !d.enabled && !ours(&cluster_owner) && !ours(&subnet_owner) && !ours(&parameter_owner) {
            return Ok(DaxLive::default());
        }
        let (mut cluster, subnets, parameters) = tokio::try_join!(
            read_cluster(api, &d.spec.name),
            read_subnet_group(api, &group),
            read_parameter_group(api, &group)
        )?;
        // A cluster not yet available shows no tags (see `read_cluster`): its record says
        // who made it.
        if let Some(c) = cluster.as_mut()
            && c.status != "available"
            && c.owner.is_none()
        {
            c.owner.clone_from(&cluster_owner);
        }
        Ok(DaxLive {
            cluster,
            subnet_group: subnets.map(|value| GroupLive {
                name: group.clone(),
                value,
                owner: subnet_owner,
            }),
            parameter_group: parameters.map(|value| GroupLive {
                name: group.clone(),
                value,
                owner: parameter_owner,
            }),
        })
    }

    /// Runs one cluster operation; the endpoint becomes known to the changes after it.
    async fn apply(
        api: Api<'_>,
        run: &Run<'_>,
        change: &Change,
        op: &ClusterOp,
    ) -> Result<(), AwsError> {
        let address = change.address.to_string();
        let endpoint = match op {
            ClusterOp::Create { config, new_role } => {
                create(api, run, &address, config, *new_role).await?
            }
            ClusterOp::Replace { config, new_role } => {
                delete_cluster(api, &config.name).await?;
                create(api, run, &address, config, *new_role).await?
            }
            ClusterOp::Update { name, update: u } => update(api, run, &address, name, u).await?,
            ClusterOp::Delete { name } => {
                delete_cluster(api, name).await?;
                delete_own_groups(api, run.stack, name).await?;
                None
            }
        };
        if let Some(url) = endpoint {
            run.outputs
                .set(Ref::Attribute(change.address.clone(), Attr::Endpoint), url);
        }
        Ok(())
    }

    /// A recorded cluster that still exists and carries this stack's tag.
    async fn read_stray(
        api: Api<'_>,
        stack: &str,
        name: &str,
    ) -> Result<Option<crate::plan::Stray>, AwsError> {
        Ok(read_cluster(api, name)
            .await?
            .filter(|c| c.owner.as_deref() == Some(stack))
            .map(|_| crate::plan::Stray {
                kind: Kind::DaxCluster,
                name: name.to_string(),
                items: 0,
                protected: false,
            }))
    }
}

#[cfg(test)]
mod tests;
