//! DAX clusters (DynamoDB Accelerator): the cache in front of a table, with the subnet
//! group and parameter group the tool makes for it. Pure.
//!
//! The first kind written against the per-kind contract alone: this folder and the
//! registry's line are all there is of it. A cluster costs money every hour it exists
//! (no free tier), so the stack file declares it `enabled: false` and an environment turns
//! it on; the plan prints what it costs while it is planned to exist (`cost_note`).
//!
//! AWS rules: the name, node type, role, subnet group, server-side encryption and
//! endpoint encryption cannot change (replace); the replication factor changes with
//! `IncreaseReplicationFactor`/`DecreaseReplicationFactor`, the description, parameter
//! group, security groups and maintenance window with `UpdateCluster`, an own group's
//! subnets with `UpdateSubnetGroup` and its TTLs with `UpdateParameterGroup`.
//!
//! Ownership: the cluster carries the ownership tag, set in `CreateCluster`. Subnet and
//! parameter groups cannot be tagged: the ones the tool makes are named after the stack
//! and the cluster (`own_group_name`) and carry ownership records in the lock table,
//! written before they are created. The cluster has a record too, so that a disabled
//! cluster is looked for only where the stack once made one: a stack that never enabled
//! its cluster makes no DAX call at all.
//!
//! In transition: DAX refuses `ListTags` while a cluster is `creating` or `modifying`, so
//! its tags are then unknown (`ClusterLive::tags_known`): not compared, never planned as
//! missing, and its owner is the one its record names.

pub mod aws;
mod plan;
pub mod stack;

use std::collections::{BTreeMap, BTreeSet};

use super::{Effect, Field, FieldDiff, Val, diff_fields};

/// The item actions DAX needs on a table it caches (AWS-RULES.md; DAX's developer guide,
/// "IAM service role for DAX").
pub const ITEM_ACTIONS: &[&str] = &[
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
];

/// The parameter group AWS gives a cluster created without one.
pub const DEFAULT_PARAMETER_GROUP: &str = "default.dax1.0";

/// DAX's default TTL for both caches, in milliseconds (five minutes).
pub const DEFAULT_TTL_MS: i64 = 300_000;

/// The DAX cluster kind, as the registry knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaxCluster;

/// Which subnets or security groups: the default VPC's, or these ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The default VPC's default subnets, or its `default` security group.
    Default,
    /// These ids.
    Ids(BTreeSet<String>),
}

/// Where the cluster's nodes run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subnets {
    /// A subnet group the tool makes for this cluster with these subnets.
    Own(Selection),
    /// An existing subnet group, by name (never changed or deleted by the tool).
    Existing(String),
}

/// The two settings of a DAX parameter group, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttls {
    /// `record-ttl-millis`: how long an item read by key stays cached.
    pub record: i64,
    /// `query-ttl-millis`: how long a query or scan result stays cached.
    pub query: i64,
}

/// A cluster as the stack declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSpec {
    /// Cluster name: 1–20 characters, a letter first.
    pub name: String,
    /// Node type, like `dax.t3.small`.
    pub node_type: String,
    /// Nodes: 1 (a primary only) to 10 (with 9 read replicas).
    pub replication_factor: i32,
    /// The role DAX assumes to reach the tables (a declared role).
    pub role: super::Address,
    /// Where the nodes run.
    pub subnets: Subnets,
    /// Security groups.
    pub security_groups: Selection,
    /// Server-side encryption at rest.
    pub encryption: bool,
    /// `NONE` or `TLS`.
    pub endpoint_encryption: String,
    /// TTLs of a parameter group the tool makes (`None`: AWS's default group).
    pub parameters: Option<Ttls>,
    /// Description (empty: none).
    pub description: String,
    /// `ddd:hh24:mi-ddd:hh24:mi`, UTC (`None`: AWS chooses).
    pub maintenance_window: Option<String>,
    /// Tags (never the ownership tag).
    pub tags: BTreeMap<String, String>,
}

/// A cluster in the shape compared with AWS, every selection resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// Cluster name.
    pub name: String,
    /// Node type.
    pub node_type: String,
    /// Nodes.
    pub replication_factor: i32,
    /// The role's ARN.
    pub role_arn: String,
    /// Subnet group name.
    pub subnet_group: String,
    /// The subnets of the group the tool makes (`None`: an existing group, not compared).
    pub own_subnets: Option<BTreeSet<String>>,
    /// Security group ids.
    pub security_groups: BTreeSet<String>,
    /// Server-side encryption.
    pub encryption: bool,
    /// `NONE` or `TLS`.
    pub endpoint_encryption: String,
    /// Parameter group name.
    pub parameter_group: String,
    /// The TTLs of the group the tool makes (`None`: AWS's default group).
    pub parameters: Option<Ttls>,
    /// Description.
    pub description: String,
    /// Maintenance window (`None` in a wanted config: whatever AWS chose).
    pub maintenance_window: Option<String>,
    /// Tags, without the ownership tag.
    pub tags: BTreeMap<String, String>,
}

/// A cluster as DAX reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterLive {
    /// Its configuration.
    pub config: ClusterConfig,
    /// Its ARN.
    pub arn: String,
    /// `creating`, `available`, `modifying`, `deleting`, …
    pub status: String,
    /// The discovery endpoint's URL (`dax://…` or `daxs://…`), once AWS reports it.
    pub endpoint: Option<String>,
    /// The stack named by its ownership tag; while the tags cannot be read, the stack whose
    /// ownership record names the cluster.
    pub owner: Option<String>,
    /// Whether DAX answered `ListTags`: `false` while the cluster is not `available`, when
    /// `config.tags` is empty because the tags are unknown, not because there are none.
    pub tags_known: bool,
}

/// A group the tool makes for a cluster, as AWS and the lock table report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLive<T> {
    /// Its name.
    pub name: String,
    /// What it holds: a subnet group's subnets, a parameter group's TTLs.
    pub value: T,
    /// The stack its ownership record names.
    pub owner: Option<String>,
}

/// What refresh reads for one declared cluster: the cluster, and the groups the tool
/// would make for it (found by their names, whether or not this cluster uses them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DaxLive {
    /// The cluster (`None`: absent, or disabled and never made by this stack).
    pub cluster: Option<ClusterLive>,
    /// The subnet group named `own_group_name`.
    pub subnet_group: Option<GroupLive<BTreeSet<String>>>,
    /// The parameter group named `own_group_name`.
    pub parameter_group: Option<GroupLive<Ttls>>,
    /// The name of the groups the tool made for this cluster when the stack's records hold
    /// them under their name from before names were made injective (`legacy_group_name`);
    /// `None`: `own_group_name`.
    pub legacy_group: Option<String>,
}

impl DaxLive {
    /// The name the groups the tool makes for cluster `cluster` of stack `stack` have, or
    /// will have: a stack keeps the groups it made under the old name, so that an upgrade
    /// never replaces its cluster (the subnet group cannot change in place).
    #[must_use]
    pub fn group_name(&self, stack: &str, cluster: &str) -> String {
        self.legacy_group
            .clone()
            .unwrap_or_else(|| own_group_name(stack, cluster))
    }
}

/// The longest group name the tool makes. DAX documents no limit for subnet and parameter
/// group names; `ElastiCache`, whose naming rules DAX's follow (stored lowercase, a letter
/// first, letters, digits and hyphens), allows 255: 63 stays well inside.
pub const GROUP_NAME_MAX: usize = 63;

/// The name of the subnet and parameter groups the tool makes for cluster `cluster` of
/// stack `stack`: `<stack>-<cluster>-<hash>`.
///
/// DAX stores group names lowercase and forbids `_`, so stack names that differ only in
/// case or in `_`/`-` (`my_app`, `my-app`, `My-App`) read the same once made valid: `<hash>`,
/// 8 hex digits of the SHA-256 of the exact stack name, keeps their groups apart. `<stack>`
/// is the readable part only (lowercase, every other character as one `-`, `stack-` in
/// front when it would not start with a letter, shortened to fit `GROUP_NAME_MAX`); the
/// cluster name is a valid DAX name already, unique within its stack, and is kept whole.
#[must_use]
pub fn own_group_name(stack: &str, cluster: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write as _;
    let hash = Sha256::digest(stack.as_bytes()).iter().take(4).fold(
        String::with_capacity(8),
        |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        },
    );
    let mut readable = String::with_capacity(stack.len());
    for c in stack.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            readable.push(c);
        } else if !readable.is_empty() && !readable.ends_with('-') {
            readable.push('-');
        }
    }
    if !readable.starts_with(|c: char| c.is_ascii_lowercase()) {
        readable.insert_str(0, "stack-");
    }
    // Two hyphens join the three parts.
    readable.truncate(GROUP_NAME_MAX.saturating_sub(cluster.len() + hash.len() + 2));
    let readable = readable.trim_end_matches('-');
    if readable.is_empty() {
        format!("{cluster}-{hash}")
    } else {
        format!("{readable}-{cluster}-{hash}")
    }
}

/// The name `own_group_name` gave before it was made injective: `<stack>-<cluster>`,
/// lowercase, `_` as `-`. Groups a stack made under it keep it (`DaxLive::legacy_group`).
#[must_use]
pub fn legacy_group_name(stack: &str, cluster: &str) -> String {
    format!("{stack}-{cluster}").to_ascii_lowercase().replace('_', "-")
}

/// The cluster's fields as plans show them.
#[must_use]
pub fn flatten(c: &ClusterConfig) -> Vec<Field> {
    // Exhaustive on purpose: a new field fails to compile here until it is shown and compared.
    let ClusterConfig {
        name,
        node_type,
        replication_factor,
        role_arn,
        subnet_group,
        own_subnets,
        security_groups,
        encryption,
        endpoint_encryption,
        parameter_group,
        parameters,
        description,
        maintenance_window,
        tags,
    } = c;
    let replace = |f: Field| f.with_effect(Effect::ReplacesResource);
    let mut fields = vec![
        replace(Field::new("name", Val::Str(name.clone()))),
        replace(Field::new("node_type", Val::Str(node_type.clone()))),
        Field::new("replication_factor", Val::Int(i64::from(*replication_factor))),
        replace(Field::new("role_arn", Val::Str(role_arn.clone()))),
        replace(Field::new("subnet_group", Val::Str(subnet_group.clone()))),
        Field::new(
            "security_groups",
            Val::Set(security_groups.iter().cloned().collect()),
        ),
        replace(Field::new("encryption", Val::Bool(*encryption))),
        replace(Field::new(
            "endpoint_encryption",
            Val::Str(endpoint_encryption.clone()),
        )),
        Field::new("parameter_group", Val::Str(parameter_group.clone())),
        Field::new("description", Val::Str(description.clone())),
    ];
    if let Some(subnets) = own_subnets {
        fields.push(Field::new(
            "subnet_group.subnets",
            Val::Set(subnets.iter().cloned().collect()),
        ));
    }
    if let Some(ttl) = parameters {
        let note = || {
            Effect::Note(
                "DAX applies a new TTL to a node when it restarts (RebootNode, or maintenance)"
                    .into(),
            )
        };
        fields.push(Field::new("parameters.record_ttl_ms", Val::Int(ttl.record)).with_effect(note()));
        fields.push(Field::new("parameters.query_ttl_ms", Val::Int(ttl.query)).with_effect(note()));
    }
    if let Some(window) = maintenance_window {
        fields.push(Field::new("maintenance_window", Val::Str(window.clone())));
    }
    for (k, v) in tags {
        fields.push(Field::new(format!("tags[{k:?}]"), Val::Str(v.clone())));
    }
    fields
}

/// What AWS reports, in the terms of what the stack asks for: the window AWS chose is not
/// compared when the stack names none, tags DAX would not list (the cluster mid-change)
/// are not compared at all, and the group the tool makes is compared by its subnets and
/// TTLs only where the stack asks for that group.
fn comparable(wanted: &ClusterConfig, live: &DaxLive, cluster: &ClusterLive) -> ClusterConfig {
    let mut have = cluster.config.clone();
    if wanted.maintenance_window.is_none() {
        have.maintenance_window = None;
    }
    // Unknown is not empty: planning every declared tag as missing would be wrong, and
    // tagging a cluster mid-change is refused anyway. The next plan compares them.
    if !cluster.tags_known {
        have.tags.clone_from(&wanted.tags);
    }
    have.own_subnets = wanted.own_subnets.as_ref().map(|_| {
        live.subnet_group
            .as_ref()
            .filter(|g| g.name == wanted.subnet_group)
            .map(|g| g.value.clone())
            .unwrap_or_default()
    });
    have.parameters = wanted.parameters.and_then(|_| {
        live.parameter_group
            .as_ref()
            .filter(|g| g.name == wanted.parameter_group)
            .map(|g| g.value)
    });
    have
}

/// What differs between the wanted cluster and the one found.
#[must_use]
pub fn diff(wanted: &ClusterConfig, live: &DaxLive, cluster: &ClusterLive) -> Vec<FieldDiff> {
    diff_fields(&flatten(wanted), &flatten(&comparable(wanted, live, cluster)))
}

/// The `UpdateCluster` settings that change (each `None` when it does not).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterSettings {
    /// New description.
    pub description: Option<String>,
    /// New parameter group.
    pub parameter_group: Option<String>,
    /// New security groups.
    pub security_groups: Option<BTreeSet<String>>,
    /// New maintenance window.
    pub maintenance_window: Option<String>,
}

/// An in-place update, in the order apply runs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterUpdate {
    /// Subnets for the group the tool makes (`UpdateSubnetGroup`).
    pub subnets: Option<BTreeSet<String>>,
    /// TTLs for the group the tool makes (made first if it does not exist yet).
    pub parameters: Option<Ttls>,
    /// `UpdateCluster`.
    pub settings: ClusterSettings,
    /// The new number of nodes (`Increase`/`DecreaseReplicationFactor`).
    pub replication_factor: Option<i32>,
    /// Tags to set.
    pub tag: BTreeMap<String, String>,
    /// Tag keys to remove.
    pub untag: Vec<String>,
    /// The group the tool made, no longer used once the cluster moves to AWS's default
    /// parameter group: deleted after `UpdateCluster`.
    pub drop_parameter_group: Option<String>,
}

/// The update that turns `cluster` into `wanted`.
#[must_use]
pub fn update(wanted: &ClusterConfig, live: &DaxLive, cluster: &ClusterLive) -> ClusterUpdate {
    let have = comparable(wanted, live, cluster);
    // Exhaustive on purpose: a new field fails to compile here until it is applied (or,
    // like the node type, replaced).
    let ClusterConfig {
        name: _,
        node_type: _,
        replication_factor,
        role_arn: _,
        subnet_group: _,
        own_subnets,
        security_groups,
        encryption: _,
        endpoint_encryption: _,
        parameter_group,
        parameters,
        description,
        maintenance_window,
        tags,
    } = wanted;
    let (tag, untag) = super::tag_changes(tags, &have.tags);
    let moves_to_default =
        *parameter_group != have.parameter_group && parameters.is_none();
    ClusterUpdate {
        subnets: own_subnets.clone().filter(|s| Some(s) != have.own_subnets.as_ref()),
        parameters: parameters.filter(|p| Some(p) != have.parameters.as_ref()),
        settings: ClusterSettings {
            description: (*description != have.description).then(|| description.clone()),
            parameter_group: (*parameter_group != have.parameter_group)
                .then(|| parameter_group.clone()),
            security_groups: (*security_groups != have.security_groups)
                .then(|| security_groups.clone()),
            maintenance_window: maintenance_window
                .clone()
                .filter(|w| Some(w) != have.maintenance_window.as_ref()),
        },
        replication_factor: (*replication_factor != have.replication_factor)
            .then_some(*replication_factor),
        tag,
        untag,
        drop_parameter_group: moves_to_default
            .then(|| have.parameter_group.clone())
            .filter(|g| g != DEFAULT_PARAMETER_GROUP),
    }
}

/// What apply does to one cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterOp {
    /// Make the groups it needs, create it, and wait until it is `available`.
    Create {
        /// What to create.
        config: ClusterConfig,
        /// Whether its role is created in the same run (IAM propagation is then retried).
        new_role: bool,
    },
    /// Change it in place, waiting until `available` after each step.
    Update {
        /// The cluster's name.
        name: String,
        /// The name of the groups the tool makes for it (`DaxLive::group_name`).
        group: String,
        /// The changes.
        update: ClusterUpdate,
    },
    /// Delete it and wait until it is gone, then create it again.
    Replace {
        /// What to create.
        config: ClusterConfig,
        /// Whether its role is created in the same run.
        new_role: bool,
    },
    /// Delete it, wait until it is gone, then delete the groups the stack made for it.
    Delete {
        /// The cluster's name.
        name: String,
    },
}

/// Hourly on-demand prices of DAX nodes in US East (N. Virginia), in US dollars, from
/// <https://aws.amazon.com/dynamodb/pricing/> (the DAX section, as published in 2026;
/// dax.t3.small at $0.04/h matches AWS-RULES.md). Other regions cost somewhat different
/// amounts; the plan says which figure it used.
pub const PRICES_US_EAST_1: &[(&str, f64)] = &[
    ("dax.t3.small", 0.04),
    ("dax.t3.medium", 0.08),
    ("dax.t2.small", 0.04),
    ("dax.t2.medium", 0.08),
    ("dax.r5.large", 0.269),
    ("dax.r5.xlarge", 0.537),
    ("dax.r5.2xlarge", 1.075),
    ("dax.r5.4xlarge", 2.15),
    ("dax.r5.8xlarge", 4.3),
    ("dax.r5.12xlarge", 6.45),
    ("dax.r5.16xlarge", 8.6),
    ("dax.r5.24xlarge", 12.9),
];

/// Hours in an average month (365 × 24 / 12), as AWS's pricing calculator counts them.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The plan's cost line for a cluster planned to exist: node type × nodes × hourly price
/// and the monthly figure, or why there is no figure.
#[must_use]
pub fn cost_note(name: &str, node_type: &str, nodes: i32, region: &str) -> String {
    match figure(node_type, nodes, region) {
        Some(figure) => format!(
            "cost: DAX cluster `{name}` is {figure} while it exists ({}; no free tier). Disable it to stop paying.",
            basis(region)
        ),
        None => format!(
            "cost: DAX cluster `{name}` is {node_type} × {nodes} node{}, billed per node-hour while it exists; the tool has no price for {node_type} (see https://aws.amazon.com/dynamodb/pricing/)",
            plural(nodes)
        ),
    }
}

/// What deleting a cluster stops paying.
#[must_use]
pub fn stop_note(name: &str, node_type: &str, nodes: i32, region: &str) -> String {
    match figure(node_type, nodes, region) {
        Some(figure) => format!(
            "stops costing once deleted: DAX cluster `{name}`, {figure} ({})",
            basis(region)
        ),
        None => format!(
            "stops costing once deleted: DAX cluster `{name}`, {node_type} × {nodes} node{} billed per node-hour",
            plural(nodes)
        ),
    }
}

/// `s` for any number of nodes but one.
fn plural(nodes: i32) -> &'static str {
    if nodes == 1 { "" } else { "s" }
}

/// Which price a figure uses.
fn basis(region: &str) -> String {
    if region == "us-east-1" {
        "us-east-1 on-demand price".to_string()
    } else {
        format!("us-east-1 on-demand price; {region} may differ")
    }
}

/// `node type × nodes × price = hourly, about monthly`, when the tool has a price.
fn figure(node_type: &str, nodes: i32, region: &str) -> Option<String> {
    let _ = region;
    let (_, price) = PRICES_US_EAST_1.iter().find(|(t, _)| *t == node_type)?;
    let hourly = price * f64::from(nodes);
    Some(format!(
        "{node_type} × {nodes} node{} × ${price:.3}/h = ${hourly:.3}/h, about ${:.0}/month",
        plural(nodes),
        hourly * HOURS_PER_MONTH
    ))
}

#[cfg(test)]
mod tests;
