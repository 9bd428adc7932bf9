//! SDK-seam tests for DAX: the calls moto does not serve (`UpdateCluster`, the subnet and
//! parameter group calls) with the exact requests AWS would get, in the exact order, against
//! the status sequences DAX really goes through (`creating` → `available`; `available` still
//! reported right after a change, then `modifying` → `available`); the IAM propagation
//! retry of `CreateCluster` (that error only); a refusal for the cluster's state retried for
//! the cluster's wait; tags DAX will not list read as unknown; groups an interrupted
//! deletion left found as a stray and deleted; and a disabled cluster read without a single
//! DAX call.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_dax::Client;
use aws_sdk_dax::operation::create_cluster::{CreateClusterError, CreateClusterOutput};
use aws_sdk_dax::operation::create_parameter_group::CreateParameterGroupError;
use aws_sdk_dax::operation::create_subnet_group::CreateSubnetGroupError;
use aws_sdk_dax::operation::delete_parameter_group::DeleteParameterGroupError;
use aws_sdk_dax::operation::delete_subnet_group::DeleteSubnetGroupOutput;
use aws_sdk_dax::operation::describe_clusters::{DescribeClustersError, DescribeClustersOutput};
use aws_sdk_dax::operation::describe_parameters::DescribeParametersError;
use aws_sdk_dax::operation::describe_subnet_groups::{
    DescribeSubnetGroupsError, DescribeSubnetGroupsOutput,
};
use aws_sdk_dax::operation::increase_replication_factor::{
    IncreaseReplicationFactorError, IncreaseReplicationFactorOutput,
};
use aws_sdk_dax::operation::list_tags::{ListTagsError, ListTagsOutput};
use aws_sdk_dax::operation::update_cluster::UpdateClusterOutput;
use aws_sdk_dax::operation::update_parameter_group::UpdateParameterGroupOutput;
use aws_sdk_dax::operation::update_subnet_group::UpdateSubnetGroupOutput;
use aws_sdk_dax::types::error::{
    ClusterNotFoundFault, InvalidClusterStateFault, InvalidParameterValueException,
    ParameterGroupAlreadyExistsFault, ParameterGroupNotFoundFault, SubnetGroupAlreadyExistsFault,
    SubnetGroupNotFoundFault,
};
use aws_sdk_dax::types::{Endpoint, Node, SecurityGroupMembership, Subnet, SubnetGroup};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_mocks::{Rule, RuleMode, mock};

use super::*;
use crate::aws::WaitPolicy;
use crate::events::{Event, Recorder, Reporter};
use crate::resources::Address;
use crate::resources::dax_cluster::{ClusterSettings, DEFAULT_PARAMETER_GROUP};
use crate::testing::mock_sdk_client;

/// Polls 1 ms apart at first (a scripted status sequence takes a few milliseconds), at
/// most 1 s: the settle delay (six of the longest) is then 6 s, so a stale `available` right
/// after a change is never trusted by the clock alone, however loaded the machine.
fn policy() -> WaitPolicy {
    WaitPolicy {
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_secs(1),
        max_attempts: 4,
        settling: Duration::from_millis(300),
        settle_delay: Duration::from_secs(6),
        ..WaitPolicy::default()
    }
}

const ARN: &str = "arn:aws:dax:ca-central-1:1:cache/cache";
const URL: &str = "daxs://cache.x.dax-clusters.ca-central-1.amazonaws.com:9111";

/// The cluster `cache` with `nodes` nodes in `status`: an available one lists its nodes
/// (each available) and its endpoint, as DAX does.
fn cluster(status: &str, nodes: i32) -> Cluster {
    let mut c = Cluster::builder()
        .cluster_name("cache")
        .cluster_arn(ARN)
        .status(status)
        .total_nodes(nodes);
    if status == "available" {
        for i in 0..nodes {
            c = c.nodes(
                Node::builder()
                    .node_id(format!("cache-{i}"))
                    .node_status("available")
                    .build(),
            );
        }
        c = c.cluster_discovery_endpoint(
            Endpoint::builder()
                .address("cache.x.dax-clusters.ca-central-1.amazonaws.com")
                .port(9111)
                .url(URL)
                .build(),
        );
    }
    c.build()
}

/// `DescribeClusters`'s answer with `c`.
fn described(c: Cluster) -> DescribeClustersOutput {
    DescribeClustersOutput::builder().clusters(c).build()
}

/// A DAX refusal for the cluster's state.
fn busy() -> InvalidClusterStateFault {
    InvalidClusterStateFault::builder()
        .message("Cluster cache is not in available state.")
        .build()
}

fn config() -> ClusterConfig {
    ClusterConfig {
        name: "cache".into(),
        node_type: "dax.t3.small".into(),
        replication_factor: 1,
        role_arn: "arn:aws:iam::1:role/dax".into(),
        subnet_group: "s-cache".into(),
        own_subnets: Some(BTreeSet::from(["subnet-1".into()])),
        security_groups: BTreeSet::from(["sg-1".into()]),
        encryption: true,
        endpoint_encryption: "TLS".into(),
        parameter_group: DEFAULT_PARAMETER_GROUP.into(),
        parameters: None,
        description: String::new(),
        maintenance_window: None,
        tags: BTreeMap::new(),
    }
}

/// Runs `f` with an API whose DAX client answers `rules` in `mode`, and whose `DynamoDB`
/// client (the lock table's ownership records) answers `records` in any order.
async fn with_clients<T>(
    mode: RuleMode,
    rules: &[Rule],
    records: &[Rule],
    recorder: &Recorder,
    f: impl AsyncFnOnce(Api<'_>) -> T,
) -> T {
    let address = Address::new(Kind::DaxCluster, "cache");
    let dynamodb = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::MatchAny, records);
    let aws = crate::testing::aws_of(policy(), |a| a.dynamodb = dynamodb.clone());
    aws.set_client(mock_sdk_client!(aws_sdk_dax, mode, rules));
    let api = Api {
        aws: &aws,
        reporter: Reporter {
            address: &address,
            sink: recorder,
        },
    };
    f(api).await
}

/// Runs `f` with an API whose DAX client answers `rules` in exactly their order (a call out
/// of order, or one more than scripted, fails the test).
async fn with_dax_in_order<T>(
    rules: &[Rule],
    recorder: &Recorder,
    f: impl AsyncFnOnce(Api<'_>) -> T,
) -> T {
    with_clients(RuleMode::Sequential, rules, &[], recorder, f).await
}

/// Runs `f` with an API whose DAX client answers `rules` in any order.
async fn with_dax<T>(rules: &[Rule], recorder: &Recorder, f: impl AsyncFnOnce(Api<'_>) -> T) -> T {
    with_clients(RuleMode::MatchAny, rules, &[], recorder, f).await
}

/// The times each rule was used.
fn calls(rules: &[Rule]) -> Vec<usize> {
    rules.iter().map(Rule::num_calls).collect()
}

/// A lock-table item: `stack`'s ownership record of the DAX resource `name`.
fn record(stack: &str, name: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("stack".to_string(), AttributeValue::S(stack.into())),
        (
            "kind".to_string(),
            AttributeValue::S(Kind::DaxCluster.as_str().into()),
        ),
        (
            "address".to_string(),
            AttributeValue::S("dax_cluster.cache".into()),
        ),
        ("name".to_string(), AttributeValue::S(name.into())),
    ])
}

/// The scan of the lock table, answering `names` as stack `s`'s records (every time).
fn records_rule(names: &[String]) -> Rule {
    let items: Vec<HashMap<String, AttributeValue>> =
        names.iter().map(|n| record("s", n)).collect();
    mock!(aws_sdk_dynamodb::Client::scan)
        .sequence()
        .output(move || ScanOutput::builder().set_items(Some(items.clone())).build())
        .repeatedly()
        .build()
}

#[tokio::test]
async fn an_update_waits_for_each_change_to_show_and_sends_exactly_these_calls_in_order() {
    let stale = || described(cluster("available", 1));
    let rules = [
        // The cluster is available before the first change.
        mock!(Client::describe_clusters).then_output(stale),
        mock!(Client::update_subnet_group)
            .match_requests(|r| {
                r.subnet_group_name() == Some("s-cache-1234")
                    && r.subnet_ids() == ["subnet-1", "subnet-2"]
            })
            .then_output(|| UpdateSubnetGroupOutput::builder().build()),
        mock!(Client::update_cluster)
            .match_requests(|r| {
                r.cluster_name() == Some("cache")
                    && r.description() == Some("a cache")
                    && r.security_group_ids() == ["sg-2"]
                    && r.preferred_maintenance_window() == Some("sun:05:00-sun:06:00")
                    // Unchanged settings are not sent.
                    && r.parameter_group_name().is_none()
            })
            .then_output(|| UpdateClusterOutput::builder().build()),
        // Still `available` (the change not showing), then `modifying`, then done.
        mock!(Client::describe_clusters)
            .sequence()
            .output(stale)
            .output(|| described(cluster("modifying", 1)))
            .output(stale)
            .build(),
        mock!(Client::increase_replication_factor)
            .match_requests(|r| {
                r.cluster_name() == Some("cache") && r.new_replication_factor() == Some(3)
            })
            .then_output(|| IncreaseReplicationFactorOutput::builder().build()),
        mock!(Client::describe_clusters)
            .sequence()
            .output(stale)
            .output(|| described(cluster("modifying", 3)))
            .output(|| described(cluster("available", 3)))
            .build(),
    ];
    let u = ClusterUpdate {
        subnets: Some(BTreeSet::from(["subnet-1".into(), "subnet-2".into()])),
        settings: ClusterSettings {
            description: Some("a cache".into()),
            security_groups: Some(BTreeSet::from(["sg-2".into()])),
            maintenance_window: Some("sun:05:00-sun:06:00".into()),
            parameter_group: None,
        },
        replication_factor: Some(3),
        ..ClusterUpdate::default()
    };
    let recorder = Recorder::default();
    let run_outputs = crate::apply::Outputs::default();
    let run = Run {
        stack: "s",
        environment: "local",
        outputs: &run_outputs,
    };
    let endpoint = with_dax_in_order(&rules, &recorder, async |api| {
        update(api, &run, "dax_cluster.cache", "cache", "s-cache-1234", &u)
            .await
            .expect("updated")
    })
    .await;
    assert_eq!(calls(&rules), [1, 1, 1, 3, 1, 3]);
    assert_eq!(endpoint.as_deref(), Some(URL));
}

#[tokio::test]
async fn a_change_that_shows_at_once_is_not_awaited_further() {
    // A description alone: DAX may never leave `available` for it, and shows it at once.
    let rules = [
        mock!(Client::describe_clusters).then_output(|| described(cluster("available", 1))),
        mock!(Client::update_cluster)
            .match_requests(|r| r.description() == Some("a cache"))
            .then_output(|| UpdateClusterOutput::builder().build()),
        mock!(Client::describe_clusters).then_output(|| {
            let mut c = cluster("available", 1);
            c.description = Some("a cache".into());
            described(c)
        }),
    ];
    let u = ClusterUpdate {
        settings: ClusterSettings {
            description: Some("a cache".into()),
            ..ClusterSettings::default()
        },
        ..ClusterUpdate::default()
    };
    let recorder = Recorder::default();
    let outputs = crate::apply::Outputs::default();
    let run = Run {
        stack: "s",
        environment: "local",
        outputs: &outputs,
    };
    with_dax_in_order(&rules, &recorder, async |api| {
        update(api, &run, "dax_cluster.cache", "cache", "s-cache-1234", &u)
            .await
            .expect("updated")
    })
    .await;
    // One poll after the change: not held for the settle delay (6 s here).
    assert_eq!(calls(&rules), [1, 1, 1]);
}

#[tokio::test]
async fn available_alone_is_trusted_only_after_the_settle_delay() {
    // DAX keeps answering `available` and the change never shows in what it reports.
    let rules = [mock!(Client::describe_clusters)
        .sequence()
        .output(|| described(cluster("available", 1)))
        .repeatedly()
        .build()];
    // Polls at most 10 ms apart: a settle delay of 60 ms.
    let quick = WaitPolicy {
        max_delay: Duration::from_millis(10),
        settle_delay: Duration::from_millis(60),
        ..policy()
    };
    let address = Address::new(Kind::DaxCluster, "cache");
    let recorder = Recorder::default();
    let aws = crate::testing::aws_of(quick, |_| {});
    aws.set_client(mock_sdk_client!(aws_sdk_dax, RuleMode::MatchAny, &rules));
    let api = Api {
        aws: &aws,
        reporter: Reporter {
            address: &address,
            sink: &recorder,
        },
    };
    let start = std::time::Instant::now();
    tokio::time::timeout(
        Duration::from_secs(5),
        wait_applied(api, "cache", |_| false),
    )
    .await
    .expect("trusted once the settle delay has passed")
    .expect("available");
    let settle = settle_delay(&quick);
    assert!(
        start.elapsed() >= settle,
        "{:?} < {settle:?}",
        start.elapsed()
    );
    assert!(rules[0].num_calls() >= 2, "{}", rules[0].num_calls());
}

#[test]
fn the_settle_delay_is_terraforms_thirty_seconds_by_default() {
    assert_eq!(
        settle_delay(&WaitPolicy::default()),
        Duration::from_secs(30)
    );
}

#[tokio::test]
async fn a_refusal_for_the_clusters_state_is_retried_for_the_clusters_wait() {
    // No settling budget at all: only the cluster's wait lets the refusals be retried.
    let rules = [
        mock!(Client::describe_clusters).then_output(|| described(cluster("available", 1))),
        mock!(Client::increase_replication_factor)
            .sequence()
            .error(|| IncreaseReplicationFactorError::InvalidClusterStateFault(busy()))
            .times(3)
            .output(|| IncreaseReplicationFactorOutput::builder().build())
            .build(),
        mock!(Client::describe_clusters)
            .sequence()
            .output(|| described(cluster("modifying", 3)))
            .output(|| described(cluster("available", 3)))
            .build(),
    ];
    let address = Address::new(Kind::DaxCluster, "cache");
    let recorder = Recorder::default();
    let aws = crate::testing::aws_of(
        WaitPolicy {
            settling: Duration::ZERO,
            ..policy()
        },
        |_| {},
    );
    aws.set_client(mock_sdk_client!(aws_sdk_dax, RuleMode::Sequential, &rules));
    let api = Api {
        aws: &aws,
        reporter: Reporter {
            address: &address,
            sink: &recorder,
        },
    };
    let outputs = crate::apply::Outputs::default();
    let run = Run {
        stack: "s",
        environment: "local",
        outputs: &outputs,
    };
    let u = ClusterUpdate {
        replication_factor: Some(3),
        ..ClusterUpdate::default()
    };
    update(api, &run, "dax_cluster.cache", "cache", "s-cache-1234", &u)
        .await
        .expect("more nodes once DAX takes the change");
    assert_eq!(calls(&rules), [1, 4, 2]);
}

#[tokio::test]
async fn groups_that_exist_already_are_updated_with_the_declared_values() {
    let rules = [
        mock!(Client::create_subnet_group).then_error(|| {
            CreateSubnetGroupError::SubnetGroupAlreadyExistsFault(
                SubnetGroupAlreadyExistsFault::builder().build(),
            )
        }),
        mock!(Client::update_subnet_group)
            .match_requests(|r| {
                r.subnet_group_name() == Some("s-cache") && r.subnet_ids() == ["subnet-1"]
            })
            .then_output(|| UpdateSubnetGroupOutput::builder().build()),
        mock!(Client::create_parameter_group).then_error(|| {
            CreateParameterGroupError::ParameterGroupAlreadyExistsFault(
                ParameterGroupAlreadyExistsFault::builder().build(),
            )
        }),
        mock!(Client::update_parameter_group)
            .match_requests(|r| {
                let values: Vec<(Option<&str>, Option<&str>)> = r
                    .parameter_name_values()
                    .iter()
                    .map(|p| (p.parameter_name(), p.parameter_value()))
                    .collect();
                r.parameter_group_name() == Some("s-cache")
                    && values
                        == [
                            (Some("record-ttl-millis"), Some("60000")),
                            (Some("query-ttl-millis"), Some("1000")),
                        ]
            })
            .then_output(|| UpdateParameterGroupOutput::builder().build()),
    ];
    let recorder = Recorder::default();
    with_dax_in_order(&rules, &recorder, async |api| {
        put_subnet_group(api, "s", "s-cache", &BTreeSet::from(["subnet-1".into()]))
            .await
            .expect("subnet group");
        put_parameter_group(
            api,
            "s",
            "s-cache",
            Ttls {
                record: 60_000,
                query: 1_000,
            },
        )
        .await
        .expect("parameter group");
    })
    .await;
    assert_eq!(calls(&rules), [1, 1, 1, 1]);
}

#[tokio::test]
async fn create_retries_role_propagation_then_waits_from_creating_to_available() {
    let rules = [
        mock!(Client::create_cluster)
            .sequence()
            .error(|| {
                CreateClusterError::InvalidParameterValueException(
                    InvalidParameterValueException::builder()
                        .message("No permission to assume role: arn:aws:iam::1:role/dax")
                        .build(),
                )
            })
            .output(|| CreateClusterOutput::builder().build())
            .build(),
        mock!(Client::describe_clusters)
            .sequence()
            .output(|| described(cluster("creating", 1)))
            .output(|| described(cluster("creating", 1)))
            .output(|| described(cluster("available", 1)))
            .build(),
    ];
    let recorder = Recorder::default();
    let endpoint = with_dax_in_order(&rules, &recorder, async |api| {
        create_cluster(api, "s", &config(), true)
            .await
            .expect("created")
    })
    .await;
    assert_eq!(calls(&rules), [2, 3]);
    assert_eq!(endpoint.as_deref(), Some(URL));
    let events = recorder.events();
    assert!(events.iter().any(
        |e| matches!(e, Event::Retrying { reason, .. } if reason.contains("No permission to assume role"))
    ));
}

#[tokio::test]
async fn other_invalid_values_are_not_retried() {
    let rules = [mock!(Client::create_cluster).then_error(|| {
        CreateClusterError::InvalidParameterValueException(
            InvalidParameterValueException::builder()
                .message("Invalid node type dax.t9.huge")
                .build(),
        )
    })];
    let recorder = Recorder::default();
    let err = with_dax(&rules, &recorder, async |api| {
        create_cluster(api, "s", &config(), true)
            .await
            .expect_err("refused")
    })
    .await;
    assert!(err.to_string().contains("Invalid node type"), "{err}");
    assert_eq!(rules[0].num_calls(), 1);
}

/// A stack of one enabled cluster with a tag, in its own subnets and security group.
const TAGGED: &str = "name: s\nenvironments: {local: {region: ca-central-1}}\nroles:\n  dax: {name: r, trust: [dax.amazonaws.com]}\ndax_clusters:\n  cache: {name: cache, node_type: dax.t3.small, role: dax, subnets: [subnet-1], security_groups: [sg-1], tags: {app: cruddur}}\n";

/// What the tagged stack wants, as planning resolves it.
fn tagged_config() -> ClusterConfig {
    ClusterConfig {
        subnet_group: own_group_name("s", "cache"),
        tags: BTreeMap::from([("app".into(), "cruddur".into())]),
        ..config()
    }
}

/// Reads the tagged stack's cluster with `ResourceIo::read`, DAX answering `rules` and the
/// lock table holding stack `s`'s record of the cluster.
async fn read_tagged(rules: &[Rule]) -> DaxLive {
    let stack = crate::stack::parse(std::path::Path::new("s.yaml"), TAGGED).expect("valid");
    let records = [records_rule(&["cache".to_string()])];
    let recorder = Recorder::default();
    with_clients(
        RuleMode::MatchAny,
        rules,
        &records,
        &recorder,
        async |api| {
            let ctx = ReadContext::new(api.aws, &stack, crate::plan::Mode::Converge);
            <DaxCluster as ResourceIo>::read(api, &ctx, &stack.dax_clusters[0])
                .await
                .expect("read")
        },
    )
    .await
}

/// The groups the tagged stack would make do not exist.
fn no_groups() -> [Rule; 2] {
    [
        mock!(Client::describe_subnet_groups).then_error(|| {
            DescribeSubnetGroupsError::SubnetGroupNotFoundFault(
                SubnetGroupNotFoundFault::builder().build(),
            )
        }),
        mock!(Client::describe_parameters).then_error(|| {
            DescribeParametersError::ParameterGroupNotFoundFault(
                ParameterGroupNotFoundFault::builder().build(),
            )
        }),
    ]
}

/// The paths that differ between the tagged stack's cluster and what was read.
fn differing(live: &DaxLive) -> Vec<String> {
    let cluster = live.cluster.as_ref().expect("the cluster exists");
    crate::resources::dax_cluster::diff(&tagged_config(), live, cluster)
        .into_iter()
        .map(|d| d.path)
        .collect()
}

#[tokio::test]
async fn a_cluster_mid_change_is_read_with_unknown_tags_and_the_owner_its_record_names() {
    let [subnets, parameters] = no_groups();
    let rules = [
        mock!(Client::describe_clusters).then_output(|| {
            let mut c = cluster("modifying", 1);
            c.security_groups = Some(vec![
                SecurityGroupMembership::builder()
                    .security_group_identifier("sg-1")
                    .status("active")
                    .build(),
            ]);
            c.subnet_group = Some(own_group_name("s", "cache"));
            c.node_type = Some("dax.t3.small".into());
            c.iam_role_arn = Some("arn:aws:iam::1:role/dax".into());
            c.parameter_group = Some(
                aws_sdk_dax::types::ParameterGroupStatus::builder()
                    .parameter_group_name(DEFAULT_PARAMETER_GROUP)
                    .build(),
            );
            c.sse_description = Some(
                aws_sdk_dax::types::SseDescription::builder()
                    .status(aws_sdk_dax::types::SseStatus::Enabled)
                    .build(),
            );
            c.cluster_endpoint_encryption_type = Some(ClusterEndpointEncryptionType::Tls);
            described(c)
        }),
        subnets,
        parameters,
        // DAX refuses it while the cluster is modifying: never asked.
        mock!(Client::list_tags).then_error(|| ListTagsError::InvalidClusterStateFault(busy())),
    ];
    let live = read_tagged(&rules).await;
    assert_eq!(rules[3].num_calls(), 0, "ListTags is not asked mid-change");
    let cluster = live.cluster.as_ref().expect("the cluster exists");
    assert_eq!(cluster.owner.as_deref(), Some("s"), "the record's owner");
    // Everything but the own subnet group (absent here) matches: no tag is missing.
    assert_eq!(differing(&live), ["subnet_group.subnets"]);
}

#[tokio::test]
async fn a_cluster_that_turns_modifying_before_its_tags_are_listed_has_unknown_tags() {
    let [subnets, parameters] = no_groups();
    let rules = [
        mock!(Client::describe_clusters).then_output(|| described(cluster("available", 1))),
        subnets,
        parameters,
        mock!(Client::list_tags).then_error(|| ListTagsError::InvalidClusterStateFault(busy())),
    ];
    let live = read_tagged(&rules).await;
    assert_eq!(rules[3].num_calls(), 1);
    let cluster = live.cluster.as_ref().expect("read, not an error");
    assert_eq!(cluster.owner.as_deref(), Some("s"), "the record's owner");
    assert!(
        differing(&live).iter().all(|p| !p.starts_with("tags")),
        "{:?}",
        differing(&live)
    );
}

#[tokio::test]
async fn an_available_clusters_tags_are_read_and_compared() {
    let [subnets, parameters] = no_groups();
    let rules = [
        mock!(Client::describe_clusters).then_output(|| described(cluster("available", 1))),
        subnets,
        parameters,
        mock!(Client::list_tags).then_output(|| {
            ListTagsOutput::builder()
                .tags(tag(OWNER_TAG, "s"))
                .tags(tag("app", "other"))
                .build()
        }),
    ];
    let live = read_tagged(&rules).await;
    let cluster = live.cluster.as_ref().expect("read");
    assert_eq!(cluster.owner.as_deref(), Some("s"), "the tag's owner");
    assert!(cluster.tags_known);
    assert!(differing(&live).contains(&"tags[\"app\"]".to_string()));
}

#[tokio::test]
async fn groups_left_after_the_clusters_deletion_are_a_stray_and_are_deleted_with_it() {
    // A crash after DeleteCluster: the cluster is gone, its groups and records are not.
    let group = own_group_name("s", "cache");
    let gone =
        || DescribeClustersError::ClusterNotFoundFault(ClusterNotFoundFault::builder().build());
    let subnet_group = group.clone();
    let parameter_group = group.clone();
    let deleted_subnet_group = group.clone();
    let rules = [
        mock!(Client::describe_clusters)
            .sequence()
            .error(gone)
            .repeatedly()
            .build(),
        mock!(Client::describe_subnet_groups)
            .match_requests(move |r| r.subnet_group_names() == [subnet_group.as_str()])
            .then_output(move || {
                DescribeSubnetGroupsOutput::builder()
                    .subnet_groups(
                        SubnetGroup::builder()
                            .subnet_group_name(group.clone())
                            .subnets(Subnet::builder().subnet_identifier("subnet-1").build())
                            .build(),
                    )
                    .build()
            }),
        mock!(Client::delete_subnet_group)
            .match_requests(move |r| r.subnet_group_name() == Some(deleted_subnet_group.as_str()))
            .then_output(|| DeleteSubnetGroupOutput::builder().build()),
        // Deleted already by the interrupted run: done.
        mock!(Client::delete_parameter_group)
            .match_requests(move |r| r.parameter_group_name() == Some(parameter_group.as_str()))
            .then_error(|| {
                DeleteParameterGroupError::ParameterGroupNotFoundFault(
                    ParameterGroupNotFoundFault::builder().build(),
                )
            }),
    ];
    let group = own_group_name("s", "cache");
    let records = [
        records_rule(&[
            "cache".to_string(),
            subnet_record(&group),
            parameter_record(&group),
        ]),
        mock!(aws_sdk_dynamodb::Client::delete_item)
            .sequence()
            .output(|| DeleteItemOutput::builder().build())
            .repeatedly()
            .build(),
    ];
    let recorder = Recorder::default();
    with_clients(
        RuleMode::MatchAny,
        &rules,
        &records,
        &recorder,
        async |api| {
            let stray = <DaxCluster as ResourceIo>::read_stray(api, "s", "cache")
                .await
                .expect("read")
                .expect("the groups make the cluster a stray");
            assert_eq!(
                (stray.kind, stray.name.as_str()),
                (Kind::DaxCluster, "cache")
            );
            // What deleting the stray runs (`ClusterOp::Delete`).
            delete_cluster(api, "cache")
                .await
                .expect("nothing to delete");
            delete_own_groups(api, "s", "cache")
                .await
                .expect("groups deleted");
        },
    )
    .await;
    assert_eq!(calls(&rules)[1..], [1, 1, 1]);
    // The two groups' records, then the cluster's.
    assert_eq!(records[1].num_calls(), 3);
}

#[tokio::test]
async fn a_cluster_gone_with_its_groups_is_no_stray() {
    let rules = [
        mock!(Client::describe_clusters).then_error(|| {
            DescribeClustersError::ClusterNotFoundFault(ClusterNotFoundFault::builder().build())
        }),
        mock!(Client::describe_subnet_groups).then_error(|| {
            DescribeSubnetGroupsError::SubnetGroupNotFoundFault(
                SubnetGroupNotFoundFault::builder().build(),
            )
        }),
    ];
    // Only the subnet group's record outlived it (a crash between its deletion and the
    // record's): nothing to delete.
    let records = [records_rule(&[
        "cache".to_string(),
        subnet_record(&own_group_name("s", "cache")),
    ])];
    let recorder = Recorder::default();
    let stray = with_clients(
        RuleMode::MatchAny,
        &rules,
        &records,
        &recorder,
        async |api| {
            <DaxCluster as ResourceIo>::read_stray(api, "s", "cache")
                .await
                .expect("read")
        },
    )
    .await;
    assert_eq!(stray, None);
    assert_eq!(calls(&rules), [1, 1]);
}

#[tokio::test]
async fn groups_recorded_under_their_old_name_keep_it() {
    // Made before names were made injective: changing the subnet group's name would
    // replace the cluster.
    let legacy = legacy_group_name("s", "cache");
    let (asked, wanted) = (legacy.clone(), legacy.clone());
    let rules = [
        mock!(Client::describe_clusters).then_output(|| described(cluster("creating", 1))),
        mock!(Client::describe_subnet_groups)
            .match_requests(move |r| r.subnet_group_names() == [asked.as_str()])
            .then_output(move || {
                DescribeSubnetGroupsOutput::builder()
                    .subnet_groups(
                        SubnetGroup::builder()
                            .subnet_group_name(wanted.clone())
                            .subnets(Subnet::builder().subnet_identifier("subnet-1").build())
                            .build(),
                    )
                    .build()
            }),
        no_groups()[1].clone(),
    ];
    let stack = crate::stack::parse(std::path::Path::new("s.yaml"), TAGGED).expect("valid");
    let records = [records_rule(&["cache".to_string(), subnet_record(&legacy)])];
    let recorder = Recorder::default();
    let live = with_clients(
        RuleMode::MatchAny,
        &rules,
        &records,
        &recorder,
        async |api| {
            let ctx = ReadContext::new(api.aws, &stack, crate::plan::Mode::Converge);
            <DaxCluster as ResourceIo>::read(api, &ctx, &stack.dax_clusters[0])
                .await
                .expect("read")
        },
    )
    .await;
    assert_eq!(live.legacy_group.as_deref(), Some(legacy.as_str()));
    assert_eq!(live.group_name("s", "cache"), legacy);
    let group = live.subnet_group.expect("read under the old name");
    assert_eq!(
        (group.name.as_str(), group.owner.as_deref()),
        (legacy.as_str(), Some("s"))
    );
}

#[tokio::test]
async fn a_disabled_cluster_the_stack_never_made_is_read_without_any_dax_call() {
    let text = "name: s\nenvironments: {local: {region: ca-central-1}}\nroles:\n  dax: {name: r, trust: [dax.amazonaws.com], enabled: false}\ndax_clusters:\n  cache: {name: cache, node_type: dax.t3.small, role: dax, enabled: false}\n";
    let stack = crate::stack::parse(std::path::Path::new("s.yaml"), text).expect("valid");
    assert!(!stack.dax_clusters[0].enabled);
    // The stack's ownership records: none (one scan of the lock table).
    let records = [records_rule(&[])];
    // A DAX client with no rules: any DAX call fails the read.
    let recorder = Recorder::default();
    let live = with_clients(
        RuleMode::Sequential,
        &[],
        &records,
        &recorder,
        async |api| {
            let ctx = ReadContext::new(api.aws, &stack, crate::plan::Mode::Converge);
            <DaxCluster as ResourceIo>::read(api, &ctx, &stack.dax_clusters[0])
                .await
                .expect("read without DAX")
        },
    )
    .await;
    assert_eq!(live, DaxLive::default());
    assert_eq!(records[0].num_calls(), 1);
}
