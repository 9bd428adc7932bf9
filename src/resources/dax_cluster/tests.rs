//! The cluster's pure half: what differs and how it is applied, the stack file's rules,
//! per-environment enabling, the cost line, and that the kind lives in its folder alone.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::stack::{parse_duration, valid_name};
use super::*;

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
        parameter_group: "s-cache".into(),
        parameters: Some(Ttls {
            record: 300_000,
            query: 300_000,
        }),
        description: "d".into(),
        maintenance_window: None,
        tags: BTreeMap::from([("app".into(), "cruddur".into())]),
    }
}

/// What refresh reads for a cluster built from `c`, with the window AWS chose and the
/// tool's own groups holding what `c` asks for.
fn live(c: &ClusterConfig) -> (DaxLive, ClusterLive) {
    let mut reported = c.clone();
    reported.own_subnets = None;
    reported.parameters = None;
    reported.maintenance_window = Some("thu:23:30-fri:00:30".into());
    let cluster = ClusterLive {
        config: reported,
        arn: "arn:aws:dax:ca-central-1:1:cache/cache".into(),
        status: "available".into(),
        endpoint: Some("daxs://cache.x.dax-clusters.ca-central-1.amazonaws.com:9111".into()),
        owner: Some("s".into()),
        tags_known: true,
    };
    let live = DaxLive {
        cluster: Some(cluster.clone()),
        subnet_group: c.own_subnets.clone().map(|value| GroupLive {
            name: c.subnet_group.clone(),
            value,
            owner: Some("s".into()),
        }),
        parameter_group: c.parameters.map(|value| GroupLive {
            name: c.parameter_group.clone(),
            value,
            owner: Some("s".into()),
        }),
        legacy_group: None,
    };
    (live, cluster)
}

#[test]
fn what_aws_chose_for_an_unset_window_is_no_difference() {
    let (l, c) = live(&config());
    assert_eq!(diff(&config(), &l, &c), vec![]);
    assert_eq!(update(&config(), &l, &c), ClusterUpdate::default());
}

#[test]
fn the_node_type_role_subnet_group_and_encryption_force_a_replacement() {
    let (l, c) = live(&config());
    let changes: [fn(&mut ClusterConfig); 5] = [
        |w| w.node_type = "dax.r5.large".into(),
        |w| w.role_arn = "arn:aws:iam::1:role/other".into(),
        |w| w.subnet_group = "other".into(),
        |w| w.encryption = false,
        |w| w.endpoint_encryption = "NONE".into(),
    ];
    for change in changes {
        let mut wanted = config();
        change(&mut wanted);
        let d = diff(&wanted, &l, &c);
        assert!(d.iter().any(FieldDiff::forces_replacement), "{d:?}");
    }
}

#[test]
fn replication_factor_settings_groups_and_tags_change_in_place() {
    let (l, c) = live(&config());
    let mut wanted = config();
    wanted.replication_factor = 3;
    wanted.description = "new".into();
    wanted.security_groups = BTreeSet::from(["sg-2".into()]);
    wanted.maintenance_window = Some("sun:05:00-sun:06:00".into());
    wanted.own_subnets = Some(BTreeSet::from(["subnet-1".into(), "subnet-2".into()]));
    wanted.parameters = Some(Ttls {
        record: 60_000,
        query: 300_000,
    });
    wanted.tags.insert("team".into(), "x".into());
    let d = diff(&wanted, &l, &c);
    assert!(
        !d.is_empty() && d.iter().all(|f| !f.forces_replacement()),
        "{d:?}"
    );
    let u = update(&wanted, &l, &c);
    assert_eq!(u.replication_factor, Some(3));
    assert_eq!(
        u.settings,
        ClusterSettings {
            description: Some("new".into()),
            parameter_group: None,
            security_groups: Some(BTreeSet::from(["sg-2".into()])),
            maintenance_window: Some("sun:05:00-sun:06:00".into()),
        }
    );
    assert_eq!(u.subnets, wanted.own_subnets);
    assert_eq!(u.parameters, wanted.parameters);
    assert_eq!(u.tag, BTreeMap::from([("team".into(), "x".into())]));
}

#[test]
fn leaving_the_own_parameter_group_for_the_default_deletes_it_after_the_move() {
    let (l, c) = live(&config());
    let mut wanted = config();
    wanted.parameter_group = DEFAULT_PARAMETER_GROUP.into();
    wanted.parameters = None;
    let u = update(&wanted, &l, &c);
    assert_eq!(
        u.settings.parameter_group.as_deref(),
        Some(DEFAULT_PARAMETER_GROUP)
    );
    assert_eq!(u.drop_parameter_group.as_deref(), Some("s-cache"));
}

#[test]
fn tags_dax_would_not_list_are_unknown_not_missing() {
    // What refresh reads of a cluster mid-change: DAX refused ListTags, so no tags.
    let (mut l, mut c) = live(&config());
    c.status = "modifying".into();
    c.config.tags.clear();
    c.tags_known = false;
    l.cluster = Some(c.clone());
    assert_eq!(diff(&config(), &l, &c), vec![], "no tag is missing");
    assert_eq!(update(&config(), &l, &c), ClusterUpdate::default());
    // Other fields are still compared.
    let mut wanted = config();
    wanted.replication_factor = 3;
    let paths: Vec<String> = diff(&wanted, &l, &c).into_iter().map(|d| d.path).collect();
    assert_eq!(paths, ["replication_factor"]);
    // Once DAX lists them, an empty list is no tags at all.
    c.tags_known = true;
    let paths: Vec<String> = diff(&config(), &l, &c)
        .into_iter()
        .map(|d| d.path)
        .collect();
    assert_eq!(paths, ["tags[\"app\"]"]);
}

#[test]
fn group_names_of_stacks_that_dax_would_read_alike_differ() {
    // DAX lowercases group names and forbids `_`: these stacks all read `my-app`.
    let names: BTreeSet<String> = ["my_app", "my-app", "My-App", "MY_APP", "my_App"]
        .iter()
        .map(|stack| own_group_name(stack, "cache"))
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    for name in &names {
        assert!(name.starts_with("my-app-cache-"), "{name}");
        assert!(valid_group_name(name), "{name}");
    }
    // The same stack and cluster always give the same name, and another cluster another.
    let name = |stack, cluster| own_group_name(stack, cluster);
    assert_eq!(name("my_app", "cache"), name("my_app", "cache"));
    assert_ne!(name("my_app", "cache"), name("my_app", "cache-2"));
    // Names that must be reshaped: a digit first, nothing readable, too long.
    for stack in ["2024_app", "_", "-", &"a_".repeat(64)] {
        let name = own_group_name(stack, "a-very-long-cluster1");
        assert!(valid_group_name(&name), "{stack}: {name}");
    }
    // The old name, kept for groups made under it.
    assert_eq!(legacy_group_name("My_App", "cache"), "my-app-cache");
}

/// Whether `name` is a group name DAX takes, within the tool's bound.
fn valid_group_name(name: &str) -> bool {
    super::stack::valid_dax_name(name, GROUP_NAME_MAX)
}

proptest! {
    #[test]
    fn group_names_are_valid_and_differ_for_different_stacks(
        a in "[A-Za-z0-9_-]{1,128}",
        b in "[A-Za-z0-9_-]{1,128}",
        cluster in "[a-z]([a-z0-9]|-[a-z0-9]){0,9}",
    ) {
        let (na, nb) = (own_group_name(&a, &cluster), own_group_name(&b, &cluster));
        prop_assert!(valid_group_name(&na), "{} -> {}", a, na);
        prop_assert_eq!(a == b, na == nb, "{} and {} -> {} and {}", a, b, na, nb);
    }

    #[test]
    fn the_diff_is_empty_exactly_when_the_update_is(
        k in 0..8u8,
        nodes in 1..4i32,
        window in prop::option::of(prop::sample::select(vec!["sun:05:00-sun:06:00", "thu:23:30-fri:00:30"])),
        ttl in prop::sample::select(vec![1_000i64, 300_000]),
    ) {
        let (l, c) = live(&config());
        let mut wanted = config();
        match k {
            1 => wanted.replication_factor = nodes,
            2 => wanted.maintenance_window = window.map(String::from),
            3 => wanted.parameters = Some(Ttls { record: ttl, query: 300_000 }),
            4 => wanted.own_subnets = Some(BTreeSet::from([format!("subnet-{nodes}")])),
            5 => wanted.security_groups = BTreeSet::from([format!("sg-{nodes}")]),
            6 => { wanted.tags.clear(); }
            7 => wanted.description = format!("d{}", nodes - 1).replace("d0", "d"),
            _ => {}
        }
        let u = update(&wanted, &l, &c);
        prop_assert_eq!(diff(&wanted, &l, &c).is_empty(), u == ClusterUpdate::default(), "{:?}", u);
    }
}

#[test]
fn names_durations_and_windows_follow_daxs_rules() {
    assert!(valid_name("cruddur-dax"));
    for bad in [
        "",
        "1cache",
        "Cache",
        "a--b",
        "cache-",
        "a-very-long-cluster-name",
    ] {
        assert!(!valid_name(bad), "{bad}");
    }
    assert_eq!(parse_duration("5m"), Some(300_000));
    assert_eq!(parse_duration("300s"), Some(300_000));
    assert_eq!(parse_duration("250ms"), Some(250));
    assert_eq!(parse_duration("1h"), Some(3_600_000));
    assert_eq!(parse_duration("5 parsecs"), None);
    assert_eq!(parse_duration("m"), None);
}

const STACK: &str = "name: s
environments:
  local: {region: ca-central-1}
  dev:
    region: ca-central-1
    enable: [dax_cluster.cache]
  prod:
    region: ca-central-1
    enable: [dax_cluster.cache, role.dax]
roles:
  dax: {name: r, trust: [dax.amazonaws.com], enabled: false}
dax_clusters:
  cache:
    name: cache
    node_type: dax.t3.small
    role: dax
    enabled: false
    parameters: {record_ttl: 1m}
";

#[test]
fn an_environment_enables_what_the_file_declares_off_and_refuses_a_disabled_reference() {
    let path = std::path::Path::new("s.yaml");
    let mut local = crate::stack::parse(path, STACK).expect("valid");
    assert_eq!(
        local.dax_clusters[0].spec.parameters,
        Some(Ttls {
            record: 60_000,
            query: DEFAULT_TTL_MS
        })
    );
    let (_, note) = local.select("local").expect("local");
    assert!(!local.dax_clusters[0].enabled && !local.roles[0].enabled);
    assert_eq!(
        note.as_deref(),
        Some(
            "disabled in environment `local`: role.dax, dax_cluster.cache (never created here; deleted if the stack owns one)"
        )
    );
    let mut prod = crate::stack::parse(path, STACK).expect("valid");
    let (_, note) = prod.select("prod").expect("prod");
    assert!(prod.dax_clusters[0].enabled && prod.roles[0].enabled && note.is_none());
    // `dev` enables the cluster but not the role it uses.
    let mut dev = crate::stack::parse(path, STACK).expect("valid");
    let err = dev
        .select("dev")
        .expect_err("a reference to a disabled role");
    let d = &err.diagnostics[0];
    assert_eq!(
        d.message,
        "`dax_cluster.cache` refers to `role.dax`, which is disabled in environment `dev`"
    );
    assert_eq!(d.loc.map(|l| l.line), Some(16));
    assert!(
        d.help
            .as_deref()
            .unwrap()
            .contains("add `role.dax` to `enable:`")
    );
}

#[test]
fn an_environment_naming_an_undeclared_address_is_refused_with_its_line() {
    let text = STACK.replace(
        "enable: [dax_cluster.cache]",
        "enable: [dax_cluster.cach, cache]",
    );
    let err = crate::stack::parse(std::path::Path::new("s.yaml"), &text).expect_err("invalid");
    let messages: Vec<(&str, Option<u64>)> = err
        .diagnostics
        .iter()
        .map(|d| (d.message.as_str(), d.loc.map(|l| l.line)))
        .collect();
    assert_eq!(
        messages,
        vec![
            (
                "environment `dev` names `dax_cluster.cach`, which this stack does not declare",
                Some(6)
            ),
            ("`cache` is not a resource address", Some(6)),
        ]
    );
}

#[test]
fn the_cost_line_multiplies_nodes_by_the_hourly_price_and_says_its_basis() {
    assert_eq!(
        cost_note("cache", "dax.t3.small", 3, "us-east-1"),
        "cost: DAX cluster `cache` is dax.t3.small × 3 nodes × $0.040/h = $0.120/h, about $88/month while it exists (us-east-1 on-demand price; no free tier). Disable it to stop paying."
    );
    assert!(
        cost_note("cache", "dax.t3.small", 1, "ca-central-1").contains("ca-central-1 may differ")
    );
    assert!(
        cost_note("cache", "dax.x9.tiny", 1, "us-east-1")
            .contains("the tool has no price for dax.x9.tiny")
    );
    assert_eq!(
        stop_note("cache", "dax.t3.small", 3, "us-east-1"),
        "stops costing once deleted: DAX cluster `cache`, dax.t3.small × 3 nodes × $0.040/h = $0.120/h, about $88/month (us-east-1 on-demand price)"
    );
}

/// Acceptance of issue 12: outside tests, the kind is its folder and the registry's line.
#[test]
fn no_code_outside_the_folder_names_the_kind_but_the_registry() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let folder = src.join("resources").join("dax_cluster");
    let mut found = Vec::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.starts_with(&folder) {
                continue;
            }
            // Tests are allowed to build stacks with every kind's field, and their
            // snapshots to show them.
            if path.is_dir() {
                if !path.ends_with("snapshots") {
                    stack.push(path);
                }
            } else if path
                .file_name()
                .is_some_and(|n| !n.to_string_lossy().ends_with("tests.rs"))
            {
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines().filter(|l| l.contains("dax_cluster")) {
                    found.push(format!("{}: {}", path.display(), line.trim()));
                }
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].ends_with("dax_cluster::DaxCluster in dax_clusters from \"dax_clusters\","),
        "{found:?}"
    );
}
