//! DAX clusters through `aws-sdk-dax`: reads, the create/update/delete sequences with their
//! waits, and the subnet and parameter groups the tool makes (each under an ownership
//! record, written before it is created).
//!
//! The client is this kind's own (`Aws::client`): no other code names the DAX SDK.
//! `ClusterNotFoundFault`, `SubnetGroupNotFoundFault` and `ParameterGroupNotFoundFault`
//! answer "absent" to a read and "done" to a delete, so a run repeated after a partial
//! failure converges. A subnet group still in use by a cluster being deleted is retried
//! for the settling budget; a cluster mid-change (`InvalidClusterStateFault`) for as long
//! as a cluster may take to change (`CLUSTER_WAIT`).
//!
//! In transition (AWS-RULES.md): `ListTags` is refused while a cluster is not `available`,
//! so its tags are then unknown (`ClusterLive::tags_known`), never empty; and right after
//! `UpdateCluster` or a replication-factor change DAX may still report `available` before
//! `modifying` shows, so the wait after a change (`wait_applied`) trusts `available` only
//! once the cluster was seen changing, the change shows in what DAX reports, or the settle
//! delay has passed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_dax::Client;
use aws_sdk_dax::types::{
    Cluster, ClusterEndpointEncryptionType, ParameterNameValue, SseSpecification, Tag,
};

use super::{
    ClusterConfig, ClusterLive, ClusterOp, ClusterSettings, ClusterUpdate, DaxCluster, DaxLive,
    GroupLive, Ttls, legacy_group_name, own_group_name,
};
use crate::apply::Run;
use crate::aws::{Api, AwsError, Poll, Retry, WaitPolicy, retry, retry_within, wait_until};
use crate::plan::Change;
use crate::refresh::ReadContext;
use crate::resources::refs::{Attr, Ref};
use crate::resources::{Kind, OWNER_TAG, ResourceIo};
use crate::stack::Declared;

/// How long a cluster may take to become available: Terraform's provider allows 45
/// minutes to create (and 90 to update); DAX usually takes 5 to 15. A refusal for the
/// cluster's state (`InvalidClusterStateFault`) is retried as long.
const CLUSTER_WAIT: Duration = Duration::from_mins(45);

/// How long `CreateCluster` is retried while IAM propagates a new role (Terraform: 2 min).
const ROLE_PROPAGATION: Duration = Duration::from_mins(2);

/// The parameter names of a DAX parameter group's two TTLs.
const RECORD_TTL: &str = "record-ttl-millis";
const QUERY_TTL: &str = "query-ttl-millis";

/// How long `available` alone is not trusted right after a change: the policy's settle
/// delay (Terraform's provider polls only after 30 s; tests shrink it).
fn settle_delay(policy: &WaitPolicy) -> Duration {
    policy.settle_delay
}

/// The retry class of a refusal that goes away once the cluster or group settles (a
/// cluster mid-change, a group still in use by a cluster being deleted), `Never` for
/// any other.
fn settling_if(settles: bool) -> Retry {
    if settles { Retry::Settling } else { Retry::Never }
}

/// This kind's DAX client, built once from the shared SDK configuration.
fn dax(api: Api<'_>) -> Client {
    api.aws.client(|c| crate::client!(aws_sdk_dax, c))
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

/// The names the groups of cluster `name` of `stack` may have: today's, and the one from
/// before names were made injective (a stack keeps groups it made under that one).
fn group_names(stack: &str, name: &str) -> [String; 2] {
    [own_group_name(stack, name), legacy_group_name(stack, name)]
}

/// A DAX tag; the builder refuses only a missing key or value, a bug here.
fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

/// The cluster's status; one without any is being deleted (Terraform's provider notes
/// that `DescribeClusters` omits it late in a deletion).
fn status_of(c: &Cluster) -> &str {
    c.status().unwrap_or("deleting")
}

/// Whether the cluster is on its way out (a new one of its name can be made once gone).
fn going(c: &Cluster) -> bool {
    matches!(status_of(c), "deleting" | "deleted")
}

/// The cluster `name` as `DescribeClusters` reports it, `deleting` included; `None` when
/// there is none.
async fn describe(api: Api<'_>, name: &str) -> Result<Option<Cluster>, AwsError> {
    match dax(api).describe_clusters().cluster_names(name).send().await {
        Ok(out) => Ok(out
            .clusters()
            .iter()
            .find(|c| c.cluster_name() == Some(name))
            .cloned()),
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

/// The discovery endpoint's URL (`dax://…` or `daxs://…`), once DAX reports it.
fn endpoint_of(c: &Cluster) -> Option<String> {
    let tls = c.cluster_endpoint_encryption_type() == Some(&ClusterEndpointEncryptionType::Tls);
    c.cluster_discovery_endpoint().and_then(|e| {
        e.url().map(str::to_string).or_else(|| {
            e.address().map(|a| {
                let scheme = if tls { "daxs" } else { "dax" };
                format!("{scheme}://{a}:{}", e.port())
            })
        })
    })
}

/// The cluster `name` as DAX reports it, with its tags; `None` when there is none or it is
/// being deleted (a new one of that name can be made once it is gone). Its tags are
/// unknown (`tags_known: false`, no owner) while DAX refuses to list them.
pub async fn read_cluster(api: Api<'_>, name: &str) -> Result<Option<ClusterLive>, AwsError> {
    let Some(c) = describe(api, name).await?.filter(|c| !going(c)) else {
        return Ok(None);
    };
    // DAX answers ListTags only for an available cluster (InvalidClusterStateFault while it
    // is creating or modifying): not even asked before, and a refusal (the cluster turned
    // `modifying` since it was described) means unknown as well.
    let tags = if status_of(&c) == "available" {
        list_tags(&dax(api), c.cluster_arn().unwrap_or_default()).await?
    } else {
        None
    };
    Ok(Some(live_of(name, &c, tags)))
}

/// The cluster `c` named `name` in the kind's terms, with its tags when DAX listed them.
fn live_of(name: &str, c: &Cluster, tags: Option<BTreeMap<String, String>>) -> ClusterLive {
    let tags_known = tags.is_some();
    let mut tags = tags.unwrap_or_default();
    let owner = tags.remove(OWNER_TAG);
    ClusterLive {
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
            encryption: c
                .sse_description()
                .and_then(|s| s.status())
                .is_some_and(|s| matches!(s.as_str(), "ENABLED" | "ENABLING")),
            endpoint_encryption: c
                .cluster_endpoint_encryption_type()
                .map_or("NONE", ClusterEndpointEncryptionType::as_str)
                .to_string(),
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
        arn: c.cluster_arn().unwrap_or_default().to_string(),
        status: status_of(c).to_string(),
        endpoint: endpoint_of(c),
        owner,
        tags_known,
    }
}

/// Every tag of the cluster `arn`, following `NextToken`; `None` when DAX refuses to list
/// them for the cluster's state (`InvalidClusterStateFault`).
async fn list_tags(
    client: &Client,
    arn: &str,
) -> Result<Option<BTreeMap<String, String>>, AwsError> {
    let mut tags = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let out = match client
            .list_tags()
            .resource_name(arn)
            .set_next_token(token.clone())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_dax::operation::list_tags::ListTagsError::is_invalid_cluster_state_fault,
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(AwsError::call("ListTags", arn, &e, false)),
        };
        for t in out.tags() {
            if let (Some(k), Some(v)) = (t.key(), t.value()) {
                tags.insert(k.to_string(), v.to_string());
            }
        }
        token = out.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(Some(tags));
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

/// The error of a wait whose cluster is gone, or going, before the awaited state.
fn disappeared(name: &str) -> AwsError {
    AwsError::Unexpected {
        op: "DescribeClusters",
        address: name.to_string(),
        message: "the cluster disappeared while the tool waited for it".into(),
    }
}

/// Polls the cluster `name` until it is `available`, reporting progress; answers it as
/// DAX last reported it. Tags are not read here: DAX's `available` is all a wait needs.
async fn wait_available(api: Api<'_>, name: &str) -> Result<Cluster, AwsError> {
    wait_until(
        api.wait(),
        api.reporter,
        "the cluster to become available",
        CLUSTER_WAIT,
        || async {
            match describe(api, name).await?.filter(|c| !going(c)) {
                Some(c) if status_of(&c) == "available" => Ok(Poll::Ready(c)),
                Some(c) => Ok(Poll::Pending(status_of(&c).to_string())),
                None => Err(disappeared(name)),
            }
        },
    )
    .await
}

/// What a wait after a change reports while DAX still says `available` without showing it.
const NOT_SHOWING: &str = "available, the change not showing yet";

/// Polls the cluster `name` after `UpdateCluster` or a replication-factor change until the
/// change is done, reporting progress; answers the cluster as DAX last reported it.
///
/// Right after the call DAX may still report `available` before it turns `modifying`
/// (AWS-RULES.md): `available` is trusted once the cluster has been seen in another state,
/// once `applied` sees the change in what DAX reports, or once the settle delay has passed
/// (a change DAX makes without ever leaving `available`).
async fn wait_applied(
    api: Api<'_>,
    name: &str,
    applied: impl Fn(&Cluster) -> bool + Sync,
) -> Result<Cluster, AwsError> {
    let start = tokio::time::Instant::now();
    let settle = settle_delay(api.wait());
    let changing = &AtomicBool::new(false);
    let applied = &applied;
    wait_until(
        api.wait(),
        api.reporter,
        "the change to the cluster to finish",
        CLUSTER_WAIT,
        move || async move {
            let c = describe(api, name)
                .await?
                .filter(|c| !going(c))
                .ok_or_else(|| disappeared(name))?;
            if status_of(&c) != "available" {
                changing.store(true, Ordering::Relaxed);
                return Ok(Poll::Pending(status_of(&c).to_string()));
            }
            if changing.load(Ordering::Relaxed) || applied(&c) || start.elapsed() >= settle {
                Ok(Poll::Ready(c))
            } else {
                Ok(Poll::Pending(NOT_SHOWING.into()))
            }
        },
    )
    .await
}

/// Whether what DAX reports shows every setting `UpdateCluster` sent, settled: the
/// description, the parameter group (not still `applying`), the security groups (each
/// `active`) and the maintenance window.
fn settings_show(s: &ClusterSettings, c: &Cluster) -> bool {
    let description = s
        .description
        .as_ref()
        .is_none_or(|d| c.description().unwrap_or_default() == d);
    let parameter_group = s.parameter_group.as_ref().is_none_or(|g| {
        c.parameter_group().is_some_and(|p| {
            p.parameter_group_name() == Some(g.as_str())
                && p.parameter_apply_status() != Some("applying")
        })
    });
    let security_groups = s.security_groups.as_ref().is_none_or(|want| {
        let have: BTreeSet<String> = c
            .security_groups()
            .iter()
            .filter_map(|g| g.security_group_identifier().map(str::to_string))
            .collect();
        have == *want
            && c.security_groups()
                .iter()
                .all(|g| g.status().is_none_or(|st| st == "active"))
    });
    let window = s
        .maintenance_window
        .as_ref()
        .is_none_or(|w| c.preferred_maintenance_window() == Some(w.as_str()));
    description && parameter_group && security_groups && window
}

/// Whether what DAX reports shows `factor` nodes, every one listed and `available`
/// (Terraform's provider checks the node list the same way before it trusts `available`).
/// A replication-factor change that failed is done all the same when the cluster already
/// counts `factor` nodes: an earlier attempt went through but its answer was lost, and
/// DAX refuses the one sent again (mid-change, then as the factor it already has).
async fn already(
    api: Api<'_>,
    name: &str,
    factor: i32,
    sent: Result<impl Sized, AwsError>,
) -> Result<(), AwsError> {
    match sent {
        Ok(_) => Ok(()),
        Err(e) => match describe(api, name).await? {
            Some(c) if c.total_nodes() == Some(factor) => {
                api.reporter
                    .step("the change was already made by an earlier attempt; carrying on");
                Ok(())
            }
            _ => Err(e),
        },
    }
}

fn nodes_show(factor: i32, c: &Cluster) -> bool {
    c.total_nodes() == Some(factor)
        && usize::try_from(factor).is_ok_and(|n| c.nodes().len() == n)
        && c.nodes()
            .iter()
            .all(|n| n.node_status().is_none_or(|s| s == "available"))
}

/// Polls until no cluster named `name` exists (one `deleting` still counts), reporting
/// progress.
async fn wait_gone(api: Api<'_>, name: &str) -> Result<(), AwsError> {
    wait_until(
        api.wait(),
        api.reporter,
        "the cluster to be deleted",
        CLUSTER_WAIT,
        || async {
            Ok(match describe(api, name).await? {
                Some(c) => Poll::Pending(status_of(&c).to_string()),
                None => Poll::Ready(()),
            })
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
    // A new cluster is `creating` from the create's answer on: `available` is its end.
    api.reporter.step("waiting for the cluster to become available (minutes on AWS)");
    Ok(endpoint_of(&wait_available(api, &c.name).await?))
}

/// Deletes the cluster `name` and waits until it is gone: one already gone is done, one
/// already deleting is only awaited, and one still creating or modifying (an interrupted
/// run's) is awaited until available first, since DAX refuses to delete it before (the
/// create alone can take longer than the settling budget).
async fn delete_cluster(api: Api<'_>, name: &str) -> Result<(), AwsError> {
    match describe(api, name).await?.as_ref().map(status_of) {
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
/// stack's, under today's name or the one from before names were made injective), then
/// the records, the cluster's last. A subnet group is still "in use" for a moment after
/// its cluster is gone: retried for the settling budget.
async fn delete_own_groups(api: Api<'_>, stack: &str, name: &str) -> Result<(), AwsError> {
    // The stack's records, in one consistent scan: every name to check is among them.
    let records = crate::ownership::list(api.aws, stack).await?;
    let recorded = |record: &str| {
        records
            .iter()
            .any(|r| r.kind == Kind::DaxCluster && r.name == record)
    };
    for group in group_names(stack, name) {
        if recorded(&subnet_record(&group)) {
            delete_subnet_group(api, stack, &group).await?;
        }
        if recorded(&parameter_record(&group)) {
            delete_parameter_group(api, stack, &group).await?;
        }
    }
    crate::ownership::release(api.aws, stack, Kind::DaxCluster, name).await
}

/// Deletes the subnet group `group` the stack made, then its record.
async fn delete_subnet_group(api: Api<'_>, stack: &str, group: &str) -> Result<(), AwsError> {
    retry(api.wait(), api.reporter, || async {
        match dax(api).delete_subnet_group().subnet_group_name(group).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(aws_sdk_dax::operation::delete_subnet_group::DeleteSubnetGroupError::is_subnet_group_not_found_fault) => Ok(()),
            Err(e) => {
                let in_use = e.as_service_error().is_some_and(aws_sdk_dax::operation::delete_subnet_group::DeleteSubnetGroupError::is_subnet_group_in_use_fault);
                Err(AwsError::classified(
                    "DeleteSubnetGroup",
                    group,
                    &e,
                    settling_if(in_use),
                ))
            }
        }
    })
    .await?;
    crate::ownership::release(api.aws, stack, Kind::DaxCluster, &subnet_record(group)).await
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

/// Runs an in-place update: tags, the own groups' subnets and TTLs (in `group`),
/// `UpdateCluster`, then the replication factor, each cluster change once the cluster is
/// `available` and awaited until it is done (`wait_applied`); last, the parameter group the
/// cluster no longer uses. Answers the endpoint.
async fn update(
    api: Api<'_>,
    run: &Run<'_>,
    address: &str,
    name: &str,
    group: &str,
    u: &ClusterUpdate,
) -> Result<Option<String>, AwsError> {
    let client = dax(api);
    // DAX changes only an available cluster (tags included): an interrupted run may have
    // left it modifying.
    let mut cluster = wait_available(api, name).await?;
    if !u.tag.is_empty() || !u.untag.is_empty() {
        let arn = cluster
            .cluster_arn()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| AwsError::Unexpected {
                op: "DescribeClusters",
                address: name.to_string(),
                message: "DAX reported the cluster without its ARN".into(),
            })?;
        if !u.tag.is_empty() {
            client
                .tag_resource()
                .resource_name(arn)
                .set_tags(Some(u.tag.iter().map(|(k, v)| tag(k, v)).collect()))
                .send()
                .await
                .map_err(|e| AwsError::call("TagResource", name, &e, false))?;
        }
        if !u.untag.is_empty() {
            client
                .untag_resource()
                .resource_name(arn)
                .set_tag_keys(Some(u.untag.clone()))
                .send()
                .await
                .map_err(|e| AwsError::call("UntagResource", name, &e, false))?;
        }
    }
    if let Some(subnets) = &u.subnets {
        update_subnet_group(api, group, subnets).await?;
    }
    if let Some(ttls) = u.parameters {
        ensure_parameter_group(api, run, address, group, ttls).await?;
    }
    // A refusal for the cluster's state lasts as long as a change can (tens of minutes),
    // far past the settling budget: retried for the cluster's wait.
    let s = &u.settings;
    if s != &ClusterSettings::default() {
        retry_within(api.wait(), api.reporter, CLUSTER_WAIT, || async {
            client
                .update_cluster()
                .cluster_name(name)
                .set_description(s.description.clone())
                .set_parameter_group_name(s.parameter_group.clone())
                .set_security_group_ids(
                    s.security_groups.as_ref().map(|g| g.iter().cloned().collect()),
                )
                .set_preferred_maintenance_window(s.maintenance_window.clone())
                .send()
                .await
                .map_err(|e| {
                    let state = e.as_service_error().is_some_and(
                        aws_sdk_dax::operation::update_cluster::UpdateClusterError::is_invalid_cluster_state_fault,
                    );
                    AwsError::classified("UpdateCluster", name, &e, settling_if(state))
                })
        })
        .await?;
        cluster = wait_applied(api, name, |c| settings_show(s, c)).await?;
    }
    if let Some(factor) = u.replication_factor {
        let have = cluster.total_nodes().unwrap_or(factor);
        if factor > have {
            let sent = retry_within(api.wait(), api.reporter, CLUSTER_WAIT, || async {
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
            .await;
            already(api, name, factor, sent).await?;
        } else if factor < have {
            let sent = retry_within(api.wait(), api.reporter, CLUSTER_WAIT, || async {
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
            .await;
            already(api, name, factor, sent).await?;
        }
        if factor != have {
            api.reporter.step(format!(
                "waiting for the cluster to go from {have} to {factor} node{} (minutes on AWS)",
                if factor == 1 { "" } else { "s" }
            ));
            cluster = wait_applied(api, name, |c| nodes_show(factor, c)).await?;
        }
    }
    if let Some(old) = &u.drop_parameter_group
        && crate::ownership::owner(api.aws, Kind::DaxCluster, &parameter_record(old))
            .await?
            .as_deref()
            == Some(run.stack)
    {
        delete_parameter_group(api, run.stack, old).await?;
    }
    Ok(endpoint_of(&cluster))
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
    /// their records (the stack's records, scanned once per refresh). A disabled cluster is
    /// looked for only when a record says the stack made it or its groups: otherwise it is
    /// absent without a single DAX call. Groups the stack recorded under their name from
    /// before names were made injective are read under that name (`DaxLive::legacy_group`).
    /// While DAX will not list the cluster's tags, its owner is the one its record names.
    async fn read(
        api: Api<'_>,
        ctx: &ReadContext<'_>,
        d: &Declared<super::ClusterSpec>,
    ) -> Result<DaxLive, AwsError> {
        let stack = ctx.stack.name.as_str();
        // The records come from the scan refresh makes once for the whole stack.
        let records = ctx.records().await?;
        let owner = |record: &str| {
            records
                .iter()
                .find(|r| r.kind == Kind::DaxCluster && r.name == record)
                .map(|r| r.stack.clone())
        };
        let ours = |o: &Option<String>| o.as_deref() == Some(stack);
        let legacy = legacy_group_name(stack, &d.spec.name);
        let legacy_group = (ours(&owner(&subnet_record(&legacy)))
            || ours(&owner(&parameter_record(&legacy))))
        .then_some(legacy);
        let live = DaxLive {
            legacy_group,
            ..DaxLive::default()
        };
        let group = live.group_name(stack, &d.spec.name);
        let cluster_owner = owner(&d.spec.name);
        let subnet_owner = owner(&subnet_record(&group));
        let parameter_owner = owner(&parameter_record(&group));
        if !d.enabled && !ours(&cluster_owner) && !ours(&subnet_owner) && !ours(&parameter_owner) {
            return Ok(live);
        }
        let (mut cluster, subnets, parameters) = tokio::try_join!(
            read_cluster(api, &d.spec.name),
            read_subnet_group(api, &group),
            read_parameter_group(api, &group)
        )?;
        // Tags DAX would not list are unknown (see `read_cluster`): the record says who
        // made the cluster.
        if let Some(c) = cluster.as_mut()
            && !c.tags_known
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
            ..live
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
            ClusterOp::Update {
                name,
                group,
                update: u,
            } => update(api, run, &address, name, group, u).await?,
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

    /// A recorded cluster that still exists and is this stack's (by its tag, or by its
    /// record while DAX will not list its tags); or, once the cluster is gone, groups the
    /// stack made for it that an interrupted deletion left behind (found by their records,
    /// read back from DAX): deleting the stray deletes them.
    async fn read_stray(
        api: Api<'_>,
        stack: &str,
        name: &str,
    ) -> Result<Option<crate::plan::Stray>, AwsError> {
        let stray = crate::plan::Stray {
            kind: Kind::DaxCluster,
            name: name.to_string(),
            items: 0,
            protected: false,
        };
        let cluster = read_cluster(api, name).await?;
        if let Some(c) = &cluster
            && c.tags_known
        {
            return Ok((c.owner.as_deref() == Some(stack)).then_some(stray));
        }
        // The stack's records, in one consistent scan (what `plan` may read).
        let records = crate::ownership::list(api.aws, stack).await?;
        let recorded = |record: &str| {
            records
                .iter()
                .any(|r| r.kind == Kind::DaxCluster && r.name == record)
        };
        if cluster.is_some() {
            return Ok(recorded(name).then_some(stray));
        }
        for group in group_names(stack, name) {
            // A record without its group (a crash between the two) leaves nothing to delete.
            let subnets_left =
                recorded(&subnet_record(&group)) && read_subnet_group(api, &group).await?.is_some();
            if subnets_left
                || (recorded(&parameter_record(&group))
                    && read_parameter_group(api, &group).await?.is_some())
            {
                return Ok(Some(stray));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
