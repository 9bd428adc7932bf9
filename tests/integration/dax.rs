//! The DAX cluster end to end on moto (through the test launcher, which stores what moto
//! ignores, serves the group calls, and holds a new or changed cluster `creating` or
//! `modifying` for a while, refusing what AWS refuses meanwhile): enabled by an environment
//! it is created and awaited, the next plan is empty and carries the cost line, a
//! replication-factor change is made in place, and disabling it deletes it with its groups
//! and role. A plan while the cluster changes reads its tags as unknown, not missing; groups
//! a crash left after the cluster's deletion are deleted once the cluster is no longer
//! declared. The shipped stack, where it is disabled, makes no DAX call at all. Every
//! result is checked with the SDK directly.

use cruddur_infra::resources::dax_cluster::own_group_name;

use crate::harness::{
    Run, block_on, emulator, passthrough, private_emulator, sdk_config, sdk_config_for, start_proxy,
};
use crate::seed::{SeedCopy, seed_copy};

fn dax() -> aws_sdk_dax::Client {
    aws_sdk_dax::Client::new(&sdk_config())
}

/// The cluster `name`, if DAX reports one.
async fn cluster(name: &str) -> Option<aws_sdk_dax::types::Cluster> {
    cluster_at(&dax(), name).await
}

/// The cluster `name`, if the DAX behind `client` reports one.
async fn cluster_at(
    client: &aws_sdk_dax::Client,
    name: &str,
) -> Option<aws_sdk_dax::types::Cluster> {
    match client.describe_clusters().cluster_names(name).send().await {
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

/// A copy of the seed stack whose cluster (named `tag`, like the stack) and role are
/// enabled in `local`, and its text.
fn enabled_copy(tag: &str) -> (SeedCopy, String) {
    let copy = seed_copy(tag);
    let shipped = std::fs::read_to_string(&copy.stack).unwrap();
    let enabled = shipped
        .replace("name: cruddur-dax\n", &format!("name: {tag}\n"))
        .replace("cruddur-dax-role", &format!("{tag}-dax-role"))
        .replace(
            "    region: ca-central-1\n  # The bootcamp's",
            "    region: ca-central-1\n    enable: [dax_cluster.cache, role.dax]\n  # The bootcamp's",
        );
    assert_ne!(
        enabled, shipped,
        "the local environment enables the cluster"
    );
    std::fs::write(&copy.stack, &enabled).unwrap();
    (copy, enabled)
}

/// Whether DAX behind `client` lists a subnet group, and a parameter group, named `name`.
async fn groups_named(client: &aws_sdk_dax::Client, name: &str) -> (bool, bool) {
    let subnet = client.describe_subnet_groups().send().await.unwrap();
    let parameter = client.describe_parameter_groups().send().await.unwrap();
    (
        subnet
            .subnet_groups()
            .iter()
            .any(|g| g.subnet_group_name() == Some(name)),
        parameter
            .parameter_groups()
            .iter()
            .any(|g| g.parameter_group_name() == Some(name)),
    )
}

/// Makes the emulator at `url` hold a DAX cluster `creating`, `modifying` or `deleting` for
/// `seconds` (the launcher's transition is moto's state manager's, settable at run time).
fn hold_dax_transitions(url: &str, seconds: u32) {
    use std::io::{Read, Write};
    let host = url.trim_start_matches("http://");
    let body = format!(
        r#"{{"model_name": "dax::cluster", "transition": {{"progression": "time", "seconds": {seconds}}}}}"#
    );
    let mut stream = std::net::TcpStream::connect(host).expect("reach the emulator");
    write!(
        stream,
        "POST /moto-api/state-manager/set-transition HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer
            .split_whitespace()
            .nth(1)
            .is_some_and(|s| s.starts_with('2')),
        "{answer}"
    );
}

#[test]
fn an_enabled_cluster_is_created_updated_in_place_and_deleted_once_disabled() {
    let (copy, enabled) = enabled_copy("it-dax");
    let url = emulator().url.clone();
    // The groups the tool makes: named after the stack and cluster, with the stack name's
    // hash.
    let group = own_group_name("it-dax", "it-dax");
    assert!(group.starts_with("it-dax-it-dax-"), "{group}");
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
        assert_eq!(c.subnet_group(), Some(group.as_str()));
        assert_eq!(
            c.parameter_group().and_then(|g| g.parameter_group_name()),
            Some(group.as_str())
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
            .parameter_group_name(&group)
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
        assert_eq!(groups_named(&dax(), &group).await, (false, false));
        // Gone, not merely unreadable: IAM answers that no such role exists.
        let err = aws_sdk_iam::Client::new(&sdk_config())
            .get_role()
            .role_name("it-dax-dax-role")
            .send()
            .await
            .expect_err("the role is gone");
        let service = err.as_service_error().expect("an answer from IAM");
        assert!(service.is_no_such_entity_exception(), "{err:?}");
        assert_eq!(
            aws_smithy_types::error::metadata::ProvideErrorMetadata::message(service),
            Some("Role it-dax-dax-role not found"),
            "{err:?}"
        );
    });
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let destroy = run(&["destroy", "--yes"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
}

#[test]
fn a_plan_while_the_cluster_changes_reads_its_tags_as_unknown_not_missing() {
    // An emulator of its own: this test holds every DAX cluster in it `modifying`.
    let emulator = private_emulator();
    let url = emulator.url.clone();
    let (copy, enabled) = enabled_copy("it-daxmod");
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", url.as_str()]);
        Run::new(&copy.stack, &all).run()
    };
    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");

    // More nodes, by hand, and the stack says so too: the cluster is `modifying` for a
    // minute, and DAX refuses to list its tags meanwhile.
    hold_dax_transitions(&url, 60);
    let client = aws_sdk_dax::Client::new(&sdk_config_for(&url));
    block_on(async {
        client
            .increase_replication_factor()
            .cluster_name("it-daxmod")
            .new_replication_factor(3)
            .send()
            .await
            .expect("more nodes");
        let c = cluster_at(&client, "it-daxmod").await.expect("the cluster");
        assert_eq!(c.status(), Some("modifying"));
        let err = client
            .list_tags()
            .resource_name(c.cluster_arn().unwrap())
            .send()
            .await
            .expect_err("no tags while modifying");
        assert!(
            err.as_service_error().is_some_and(
                aws_sdk_dax::operation::list_tags::ListTagsError::is_invalid_cluster_state_fault
            ),
            "{err:?}"
        );
        let err = client
            .delete_subnet_group()
            .subnet_group_name(own_group_name("it-daxmod", "it-daxmod"))
            .send()
            .await
            .expect_err("the cluster uses it");
        assert!(
            err.as_service_error()
                .is_some_and(aws_sdk_dax::operation::delete_subnet_group::DeleteSubnetGroupError::is_subnet_group_in_use_fault),
            "{err:?}"
        );
    });
    std::fs::write(
        &copy.stack,
        enabled.replace("replication_factor: 1", "replication_factor: 3"),
    )
    .unwrap();
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code, 0,
        "no tag is planned as missing while DAX will not list them: {plan:?}"
    );
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    assert!(
        plan.stdout.contains(
            "dax_cluster.cache: DAX lists no tags while the cluster is `modifying`: its tags are not compared in this plan"
        ),
        "{}",
        plan.stdout
    );

    // Done changing: the tags are read again, and the stack destroys cleanly.
    hold_dax_transitions(&url, 0);
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        !plan.stdout.contains("DAX lists no tags"),
        "{}",
        plan.stdout
    );
    let destroy = run(&["destroy", "--yes"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
}

#[test]
fn groups_left_by_a_crash_after_the_clusters_deletion_are_deleted_once_it_is_undeclared() {
    let (copy, enabled) = enabled_copy("it-daxgone");
    let url = emulator().url.clone();
    let group = own_group_name("it-daxgone", "it-daxgone");
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", url.as_str()]);
        Run::new(&copy.stack, &all).run()
    };
    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");

    // A run that crashed right after the cluster's deletion: the cluster is gone, its
    // groups (and their ownership records) are not.
    block_on(async {
        dax()
            .delete_cluster()
            .cluster_name("it-daxgone")
            .send()
            .await
            .expect("deleting");
        let start = std::time::Instant::now();
        while cluster("it-daxgone").await.is_some() {
            assert!(start.elapsed().as_secs() < 60, "the cluster is never gone");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(groups_named(&dax(), &group).await, (true, true));
    });

    // The cluster is no longer declared at all: its groups are the stack's strays.
    let start = enabled
        .find("\ndax_clusters:\n")
        .expect("the cluster's section");
    let end = start
        + enabled[start..]
            .find("\nfunctions:\n")
            .expect("the next section");
    let undeclared = format!("{}{}", &enabled[..start], &enabled[end..]).replace(
        "enable: [dax_cluster.cache, role.dax]",
        "enable: [role.dax]",
    );
    std::fs::write(&copy.stack, &undeclared).unwrap();
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code, 2,
        "the groups are planned for deletion: {plan:?}"
    );
    assert!(
        plan.stdout.contains(
            "dax_cluster.it-daxgone: owned by stack `it-daxgone` but no longer declared in the stack file"
        ),
        "{}",
        plan.stdout
    );
    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    block_on(async {
        assert_eq!(groups_named(&dax(), &group).await, (false, false));
    });
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "nothing left: {plan:?}");
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
