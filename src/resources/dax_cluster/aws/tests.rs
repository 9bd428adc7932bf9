//! SDK-seam tests for DAX: the calls moto does not serve (`UpdateCluster`, the subnet and
//! parameter group calls) with the exact requests AWS would get, the IAM propagation
//! retry of `CreateCluster` (that error only), and a disabled cluster read without a
//! single DAX call.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_dax::Client;
use aws_sdk_dax::operation::create_cluster::{CreateClusterError, CreateClusterOutput};
use aws_sdk_dax::operation::create_parameter_group::CreateParameterGroupError;
use aws_sdk_dax::operation::create_subnet_group::CreateSubnetGroupError;
use aws_sdk_dax::operation::describe_clusters::DescribeClustersOutput;
use aws_sdk_dax::operation::increase_replication_factor::IncreaseReplicationFactorOutput;
use aws_sdk_dax::operation::list_tags::ListTagsOutput;
use aws_sdk_dax::operation::update_cluster::UpdateClusterOutput;
use aws_sdk_dax::operation::update_parameter_group::UpdateParameterGroupOutput;
use aws_sdk_dax::operation::update_subnet_group::UpdateSubnetGroupOutput;
use aws_sdk_dax::types::Cluster;
use aws_sdk_dax::types::error::{
    InvalidParameterValueException, ParameterGroupAlreadyExistsFault,
    SubnetGroupAlreadyExistsFault,
};
use aws_smithy_mocks::{RuleMode, mock};

use super::*;
use crate::aws::WaitPolicy;
use crate::events::{Event, Recorder, Reporter};
use crate::resources::Address;
use crate::resources::dax_cluster::{ClusterSettings, DEFAULT_PARAMETER_GROUP};
use crate::testing::mock_sdk_client;

fn policy() -> WaitPolicy {
    WaitPolicy {
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        report_every: Duration::ZERO,
        max_attempts: 4,
        settling: Duration::from_millis(300),
    }
}

fn available(nodes: i32) -> DescribeClustersOutput {
    DescribeClustersOutput::builder()
        .clusters(
            Cluster::builder()
                .cluster_name("cache")
                .cluster_arn("arn:aws:dax:ca-central-1:1:cache/cache")
                .status("available")
                .total_nodes(nodes)
                .build(),
        )
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
        tags: std::collections::BTreeMap::new(),
    }
}

/// Runs `f` with an API whose DAX client answers `rules` (in any order).
async fn with_dax<T>(
    rules: &[aws_smithy_mocks::Rule],
    recorder: &Recorder,
    f: impl AsyncFnOnce(Api<'_>) -> T,
) -> T {
    let address = Address::new(Kind::DaxCluster, "cache");
    let aws = crate::testing::aws_of(policy(), |_| {});
    aws.set_client(mock_sdk_client!(aws_sdk_dax, RuleMode::MatchAny, rules));
    let api = Api {
        aws: &aws,
        reporter: Reporter {
            address: &address,
            sink: recorder,
        },
    };
    f(api).await
}

#[tokio::test]
async fn an_update_sends_update_cluster_the_subnet_group_and_more_nodes_exactly() {
    let rules = [
        mock!(Client::update_subnet_group)
            .match_requests(|r| {
                r.subnet_group_name() == Some("s-cache") && r.subnet_ids() == ["subnet-1", "subnet-2"]
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
        mock!(Client::increase_replication_factor)
            .match_requests(|r| r.cluster_name() == Some("cache") && r.new_replication_factor() == Some(3))
            .then_output(|| IncreaseReplicationFactorOutput::builder().build()),
        mock!(Client::describe_clusters)
            .sequence()
            .output(|| available(1))
            .times(4)
            .output(|| available(3))
            .repeatedly()
            .build(),
        mock!(Client::list_tags)
            .sequence()
            .output(|| ListTagsOutput::builder().build())
            .repeatedly()
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
        outputs: &run_outputs,
    };
    with_dax(&rules, &recorder, async |api| {
        update(api, &run, "dax_cluster.cache", "cache", &u)
            .await
            .expect("updated");
    })
    .await;
    for rule in &rules[..3] {
        assert_eq!(rule.num_calls(), 1);
    }
    // The update waits for `available` before its first change, before each cluster
    // change, and at the end.
    assert!(rules[3].num_calls() >= 5);
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
            .match_requests(|r| r.subnet_group_name() == Some("s-cache") && r.subnet_ids() == ["subnet-1"])
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
    with_dax(&rules, &recorder, async |api| {
        put_subnet_group(api, "s", "s-cache", &BTreeSet::from(["subnet-1".into()]))
            .await
            .expect("subnet group");
        put_parameter_group(api, "s", "s-cache", Ttls { record: 60_000, query: 1_000 })
            .await
            .expect("parameter group");
    })
    .await;
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn create_retries_role_propagation_then_waits_for_available() {
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
            .output(|| {
                DescribeClustersOutput::builder()
                    .clusters(Cluster::builder().cluster_name("cache").status("creating").build())
                    .build()
            })
            .output(|| available(1))
            .repeatedly()
            .build(),
        mock!(Client::list_tags)
            .sequence()
            .output(|| ListTagsOutput::builder().build())
            .repeatedly()
            .build(),
    ];
    let recorder = Recorder::default();
    with_dax(&rules, &recorder, async |api| {
        create_cluster(api, "s", &config(), true).await.expect("created");
    })
    .await;
    assert_eq!(rules[0].num_calls(), 2);
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
        create_cluster(api, "s", &config(), true).await.expect_err("refused")
    })
    .await;
    assert!(err.to_string().contains("Invalid node type"), "{err}");
    assert_eq!(rules[0].num_calls(), 1);
}

#[tokio::test]
async fn a_disabled_cluster_the_stack_never_made_is_read_without_any_dax_call() {
    use aws_sdk_dynamodb::operation::scan::ScanOutput;
    let text = "name: s\nenvironments: {local: {region: ca-central-1}}\nroles:\n  dax: {name: r, trust: [dax.amazonaws.com], enabled: false}\ndax_clusters:\n  cache: {name: cache, node_type: dax.t3.small, role: dax, enabled: false}\n";
    let stack = crate::stack::parse(std::path::Path::new("s.yaml"), text).expect("valid");
    assert!(!stack.dax_clusters[0].enabled);
    // The stack's ownership records: none (one scan of the lock table).
    let records = [mock!(aws_sdk_dynamodb::Client::scan)
        .sequence()
        .output(|| ScanOutput::builder().build())
        .repeatedly()
        .build()];
    let dynamodb = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &records);
    let aws = crate::testing::aws_of(policy(), |a| a.dynamodb = dynamodb.clone());
    // A DAX client with no rules: any DAX call fails the read.
    let none: [&aws_smithy_mocks::Rule; 0] = [];
    aws.set_client(mock_sdk_client!(aws_sdk_dax, RuleMode::Sequential, none));
    let recorder = Recorder::default();
    let address = Address::new(Kind::DaxCluster, "cache");
    let api = Api {
        aws: &aws,
        reporter: Reporter {
            address: &address,
            sink: &recorder,
        },
    };
    let ctx = ReadContext::new(&aws, &stack, crate::plan::Mode::Converge);
    let live = <DaxCluster as ResourceIo>::read(api, &ctx, &stack.dax_clusters[0])
        .await
        .expect("read without DAX");
    assert_eq!(live, DaxLive::default());
    assert_eq!(records[0].num_calls(), 1);
}
