//! Gateway VPC endpoints (DynamoDB): VPC, service, route tables (a set), policy and tags.
//! Pure.
//!
//! An endpoint has no name of its own: it is found by its natural key (VPC and service)
//! among endpoints that are not `deleted` (AWS keeps listing deleted ones for a while).
//! AWS rules: VPC, service and type cannot change (replace); route tables are added and
//! removed as sets and the policy replaced through `ModifyVpcEndpoint`.

pub mod aws;
mod plan;
pub mod stack;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Effect, Field, FieldDiff, Val, diff_fields, policy};

/// An endpoint in spec shape, with selections (`default`, `main`) resolved to ids.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointConfig {
    /// VPC id.
    pub vpc_id: String,
    /// Full service name, like `com.amazonaws.ca-central-1.dynamodb`.
    pub service_name: String,
    /// Route table ids.
    pub route_tables: BTreeSet<String>,
    /// Endpoint policy (`None`: AWS's default full access).
    pub policy: Option<Value>,
    /// Tags, including `Name` (never the ownership tag).
    pub tags: BTreeMap<String, String>,
}

/// An endpoint as EC2 reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointLive {
    /// Endpoint id.
    pub id: String,
    /// Its configuration.
    pub config: EndpointConfig,
    /// The stack named by its ownership tag.
    pub owner: Option<String>,
    /// `available`, `pending`, … (lowercase, as EC2 sends it).
    pub state: String,
}

/// The policy AWS gives an endpoint created without one.
#[must_use]
pub fn default_policy() -> Value {
    serde_json::json!({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})
}

/// The service name of `service`'s gateway endpoint (`dynamodb` or `s3`) in `region`.
#[must_use]
pub fn service_name(service: &str, region: &str) -> String {
    format!("com.amazonaws.{region}.{service}")
}

/// The endpoint's fields as plans show them.
#[must_use]
pub fn flatten(c: &EndpointConfig) -> Vec<Field> {
    // Exhaustive on purpose: a new field fails to compile here until it is shown and compared.
    let EndpointConfig {
        vpc_id: _,
        service_name: _,
        route_tables: _,
        policy: _,
        tags: _,
    } = c;
    let policy = c.policy.clone().unwrap_or_else(default_policy);
    let mut fields = vec![
        Field::new("vpc_id", Val::Str(c.vpc_id.clone())).with_effect(Effect::ReplacesResource),
        Field::new("service_name", Val::Str(c.service_name.clone()))
            .with_effect(Effect::ReplacesResource),
        Field::new(
            "route_tables",
            Val::Set(c.route_tables.iter().cloned().collect()),
        ),
        Field::new("policy", Val::Doc(policy::pretty(&policy))),
    ];
    for (k, v) in &c.tags {
        fields.push(Field::new(format!("tags[{k:?}]"), Val::Str(v.clone())));
    }
    fields
}

/// What differs.
#[must_use]
pub fn diff(wanted: &EndpointConfig, live: &EndpointLive) -> Vec<FieldDiff> {
    diff_fields(&flatten(wanted), &flatten(&live.config))
}

/// An in-place endpoint update: route table sets, policy, tags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EndpointUpdate {
    /// Route tables to add.
    pub add_route_tables: BTreeSet<String>,
    /// Route tables to remove.
    pub remove_route_tables: BTreeSet<String>,
    /// New policy (`Some(None)`: reset to AWS's default).
    pub policy: Option<Option<Value>>,
    /// Tags to set.
    pub tag: BTreeMap<String, String>,
    /// Tag keys to remove.
    pub untag: Vec<String>,
}

/// The update that turns `live` into `wanted`.
#[must_use]
pub fn update(wanted: &EndpointConfig, live: &EndpointLive) -> EndpointUpdate {
    // Exhaustive on purpose: a new field fails to compile here until it is applied (or, like the VPC and service, replaced).
    let EndpointConfig {
        vpc_id: _,
        service_name: _,
        route_tables: _,
        policy: _,
        tags: _,
    } = wanted;
    let have = &live.config;
    let norm = |p: &Option<Value>| policy::normalize(&p.clone().unwrap_or_else(default_policy));
    let (tag, untag) = super::tag_changes(&wanted.tags, &have.tags);
    EndpointUpdate {
        add_route_tables: wanted
            .route_tables
            .difference(&have.route_tables)
            .cloned()
            .collect(),
        remove_route_tables: have
            .route_tables
            .difference(&wanted.route_tables)
            .cloned()
            .collect(),
        policy: (norm(&wanted.policy) != norm(&have.policy)).then(|| wanted.policy.clone()),
        tag,
        untag,
    }
}



/// A gateway VPC endpoint, as the registry knows the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint;

/// What apply must do to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointOp {
    /// Create it.
    Create(EndpointConfig),
    /// Update the endpoint `id` in place, and delete duplicates the stack owns.
    Update {
        /// Endpoint id.
        id: String,
        /// The changes.
        update: EndpointUpdate,
        /// Other endpoints of this stack for the same VPC and service.
        duplicates: Vec<String>,
    },
    /// Delete `id`, then create this one.
    Replace {
        /// The old endpoint.
        id: String,
        /// The new configuration.
        config: EndpointConfig,
    },
    /// Delete these (the endpoint and any duplicates the stack owns).
    Delete(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EndpointConfig {
        EndpointConfig {
            vpc_id: "vpc-1".into(),
            service_name: service_name("dynamodb", "ca-central-1"),
            route_tables: BTreeSet::from(["rtb-main".into()]),
            policy: None,
            tags: BTreeMap::from([("Name".into(), "cruddur-ddb".into())]),
        }
    }

    fn live(config: EndpointConfig) -> EndpointLive {
        EndpointLive {
            id: "vpce-1".into(),
            config,
            owner: Some("cruddur".into()),
            state: "available".into(),
        }
    }

    #[test]
    fn the_default_policy_equals_no_policy() {
        let mut have = config();
        have.policy = Some(default_policy());
        assert_eq!(diff(&config(), &live(have.clone())), vec![]);
        assert_eq!(update(&config(), &live(have)), EndpointUpdate::default());
    }

    #[test]
    fn route_tables_are_add_and_remove_sets() {
        let mut wanted = config();
        wanted.route_tables = BTreeSet::from(["rtb-a".into(), "rtb-main".into()]);
        let mut have = config();
        have.route_tables = BTreeSet::from(["rtb-main".into(), "rtb-old".into()]);
        let u = update(&wanted, &live(have));
        assert_eq!(u.add_route_tables, BTreeSet::from(["rtb-a".into()]));
        assert_eq!(u.remove_route_tables, BTreeSet::from(["rtb-old".into()]));
    }

    #[test]
    fn another_vpc_forces_replacement() {
        let mut wanted = config();
        wanted.vpc_id = "vpc-2".into();
        assert!(
            diff(&wanted, &live(config()))
                .iter()
                .any(FieldDiff::forces_replacement)
        );
    }
}

/// Which VPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VpcChoice {
    /// The region's default VPC.
    Default,
    /// This VPC id.
    Id(String),
}

/// Which route tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteTables {
    /// The VPC's main route table.
    Main,
    /// Every route table of the VPC.
    All,
    /// These ids.
    Ids(BTreeSet<String>),
}

/// An endpoint as the stack declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSpec {
    /// `dynamodb` or `s3`.
    pub service: String,
    /// Which VPC.
    pub vpc: VpcChoice,
    /// Which route tables.
    pub route_tables: RouteTables,
    /// Policy (`None`: AWS's default full access).
    pub policy: Option<Value>,
    /// Tags including `Name`.
    pub tags: BTreeMap<String, String>,
}

#[cfg(test)]
mod properties {
    //! For generated pairs of a wanted and a live endpoint in the same VPC for the same
    //! service, the diff is empty exactly when the in-place update is empty.

    use proptest::prelude::*;

    use super::*;

    fn endpoint() -> impl Strategy<Value = EndpointConfig> {
        let pick = |v: Vec<&'static str>| prop::sample::select(v).prop_map(String::from);
        (
            prop::collection::btree_set(pick(vec!["rtb-1", "rtb-2", "rtb-3"]), 0..4),
            prop::option::of(prop::sample::select(vec!["*", "dynamodb:Query"])),
            prop::collection::btree_map(pick(vec!["Name", "app"]), pick(vec!["1", "2"]), 0..3),
        )
            .prop_map(|(route_tables, action, tags)| EndpointConfig {
                vpc_id: "vpc-1".into(),
                service_name: "com.amazonaws.ca-central-1.dynamodb".into(),
                route_tables,
                // `*` spelled out is AWS's default policy: it must compare equal to none.
                policy: action.map(|a| serde_json::json!({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": a, "Resource": "*"}]})),
                tags,
            })
    }

    proptest! {
        #[test]
        fn the_diff_is_empty_exactly_when_the_update_is(have in endpoint(), other in endpoint(), k in 0..4u8) {
            // One field at a time from `other`, so a field compared but never applied shows.
            let mut wanted = have.clone();
            match k {
                1 => wanted.route_tables.clone_from(&other.route_tables),
                2 => wanted.policy.clone_from(&other.policy),
                3 => wanted.tags.clone_from(&other.tags),
                _ => {}
            }
            let live = EndpointLive { id: "vpce-1".into(), config: have, owner: None, state: "available".into() };
            let update = update(&wanted, &live);
            prop_assert_eq!(diff(&wanted, &live).is_empty(), update == EndpointUpdate::default(), "{:?}", update);
        }
    }
}
