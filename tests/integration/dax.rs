//! The DAX cluster end to end on moto (through the test launcher, which stores what moto
//! ignores and serves the group calls): enabled by an environment it is created and
//! awaited, the next plan is empty and carries the cost line, a replication-factor change
//! is made in place, and disabling it deletes it with its groups and role. The shipped
//! stack, where it is disabled, makes no DAX call at all. Every result is checked with the
//! SDK directly.

use crate::harness::{Run, block_on, emulator, passthrough, sdk_config, start_proxy};
use crate::seed::seed_copy;

fn dax() -> aws_sdk_dax::Client {
    aws_sdk_dax::Client::new(&sdk_config())
}

/// The cluster `name`, if DAX reports one.
async fn cluster(name: &str) -> Option<aws_sdk_dax::types::Cluster> {
    match dax().describe_clusters().cluster_names(name).send().await {
        Ok(out) => out.clusters().first().cloned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(aws_sdk_dax::operation::describe_clusters::DescribeClustersError::is_cluster_not_found_fault) =>
        {
            None
        }
        Err(e) => panic!("DescribeClusters: {e:?}"),
    }
}

#[test]
fn an_enabled_cluster_is_created_updated_in_place_and_deleted_once_disabled() {
    let copy = seed_copy("it-dax");
    let url = emulator().url.clone();
    let shipped = std::fs::read_to_string(&copy.stack).unwrap();
    let enabled = shipped
        .replace("name: cruddur-dax\n", "name: it-dax\n")
        .replace("cruddur-dax-role", "it-dax-dax-role")
        .replace(
            "    region: ca-central-1\n  # The bootcamp's",
            "    region: ca-central-1\n    enable: [dax_cluster.cache, role.dax]\n  # The bootcamp's",
        );
    assert_ne!(
        enabled, shipped,
        "the local environment enables the cluster"
    );
    std::fs::write(&copy.stack, &enabled).unwrap();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", url.as_str()]);
        Run::new(&copy.stack, &all).run()
    };

    // Created, and awaited until available, with its role, subnet and parameter groups.
    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply.stdout.contains("dax_cluster.cache will be created"),
        "{}",
        apply.stdout
    );
    assert!(
        apply
            .stdout
            .contains("cost: DAX cluster `it-dax` is dax.t3.small × 1 node × $0.040/h"),
        "{}",
        apply.stdout
    );
    assert!(
        apply
            .stderr
            .contains("dax_cluster.cache: waiting for the cluster to become available"),
        "{}",
        apply.stderr
    );
    block_on(async {
        let c = cluster("it-dax").await.expect("the cluster exists");
        assert_eq!(c.status(), Some("available"));
        assert_eq!(c.total_nodes(), Some(1));
        assert_eq!(c.subnet_group(), Some("it-dax-it-dax"));
        assert_eq!(
            c.parameter_group().and_then(|g| g.parameter_group_name()),
            Some("it-dax-it-dax")
        );
        assert_eq!(
            c.iam_role_arn(),
            Some("arn:aws:iam::123456789012:role/it-dax-dax-role")
        );
        assert_eq!(
            c.cluster_endpoint_encryption_type()
                .map(aws_sdk_dax::types::ClusterEndpointEncryptionType::as_str),
            Some("TLS")
        );
        let tags = dax()
            .list_tags()
            .resource_name(c.cluster_arn().unwrap())
            .send()
            .await
            .unwrap();
        assert!(
            tags.tags()
                .iter()
                .any(|t| t.key() == Some("cruddur-infra:stack") && t.value() == Some("it-dax"))
        );
        let params = dax()
            .describe_parameters()
            .parameter_group_name("it-dax-it-dax")
            .send()
            .await
            .unwrap();
        assert!(
            params
                .parameters()
                .iter()
                .any(|p| p.parameter_name() == Some("record-ttl-millis")
                    && p.parameter_value() == Some("300000"))
        );
    });
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "the plan after apply is empty: {plan:?}");
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("about $29/month while it exists"),
        "{}",
        plan.stdout
    );

    // More nodes: in place, never a replacement.
    std::fs::write(
        &copy.stack,
        enabled.replace("replication_factor: 1", "replication_factor: 3"),
    )
    .unwrap();
    let plan = run(&["plan"]);
    assert!(
        plan.stdout.contains("~ replication_factor = 1 → 3"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("× 3 nodes × $0.040/h = $0.120/h"),
        "{}",
        plan.stdout
    );
    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    block_on(async {
        assert_eq!(cluster("it-dax").await.unwrap().total_nodes(), Some(3));
    });
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");

    // Disabled again (the environment no longer enables it): the cluster, its groups and
    // its role are deleted, the cluster before its role.
    let disabled = enabled.replace("    enable: [dax_cluster.cache, role.dax]\n", "");
    assert_ne!(disabled, enabled);
    std::fs::write(&copy.stack, &disabled).unwrap();
    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert!(
        apply
            .stdout
            .contains("Plan: 0 to add, 0 to change, 2 to destroy."),
        "{}",
        apply.stdout
    );
    assert!(
        !apply.stdout.contains("cost: DAX"),
        "no cost line once disabled: {}",
        apply.stdout
    );
    let cluster_done = apply
        .stderr
        .find("dax_cluster.cache: Destruction complete")
        .expect("cluster deleted");
    let role_start = apply
        .stderr
        .find("role.dax: Destroying")
        .expect("role deleted");
    assert!(
        cluster_done < role_start,
        "the role goes after the cluster: {}",
        apply.stderr
    );
    block_on(async {
        assert!(cluster("it-dax").await.is_none());
        let groups = dax().describe_subnet_groups().send().await.unwrap();
        assert!(
            groups
                .subnet_groups()
                .iter()
                .all(|g| g.subnet_group_name() != Some("it-dax-it-dax"))
        );
        let groups = dax().describe_parameter_groups().send().await.unwrap();
        assert!(
            groups
                .parameter_groups()
                .iter()
                .all(|g| g.parameter_group_name() != Some("it-dax-it-dax"))
        );
        let role = aws_sdk_iam::Client::new(&sdk_config())
            .get_role()
            .role_name("it-dax-dax-role")
            .send()
            .await;
        assert!(role.is_err(), "the role is gone");
    });
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let destroy = run(&["destroy", "--yes"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
}

#[test]
fn the_shipped_stack_with_its_cluster_disabled_makes_no_dax_call() {
    let copy = seed_copy("it-nodax");
    let proxy = start_proxy(passthrough(&emulator().url));
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", proxy.url.as_str()]);
        Run::new(&copy.stack, &all).run()
    };
    let plan = run(&["plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("note: disabled in environment `local`: role.dax, dax_cluster.cache"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("dax_cluster.cache will"),
        "{}",
        plan.stdout
    );
    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let again = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{again:?}");
    let destroy = run(&["destroy", "--yes"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    let stats = proxy.stats.lock().unwrap();
    assert!(
        stats.calls.len() > 20,
        "the proxy saw the runs: {}",
        stats.calls.len()
    );
    let dax: Vec<String> = stats
        .calls
        .iter()
        .filter(|c| c.service == "dax")
        .map(|c| c.op.clone())
        .collect();
    assert!(
        dax.is_empty(),
        "DAX calls with the cluster disabled: {dax:?}"
    );
}
