//! Planning one DAX cluster: its selections resolved against the default VPC, the groups
//! the tool makes for it, the diff, the safety checks, the action and the cost line. Pure.

use super::{
    ClusterConfig, ClusterOp, ClusterSpec, DEFAULT_PARAMETER_GROUP, DaxCluster, DaxLive, Selection,
    Subnets,
};
use crate::plan::checks::{Grant, Need, Want};
use crate::plan::{Action, Mode, Operation, Ownership, PlanError, Planner, Subject};
use crate::resources::refs::{Attr, Ref};
use crate::resources::{Address, Kind, Resource};
use crate::stack::Declared;
use crate::stack::Severity;

/// The ARN DAX gives the cluster `name` (`arn:aws:dax:<region>:<account>:cache/<name>`).
fn arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:dax:{region}:{account}:cache/{name}")
}

/// The cluster as it should be, every selection resolved: `default` subnets and security
/// group from the default VPC's facts, the role's ARN from the known values, the groups
/// the tool makes named after the stack and cluster (or as refresh found them recorded).
///
/// # Errors
///
/// `Missing` when a `default` selection meets a region without a default VPC.
fn wanted(
    p: &Planner<'_>,
    d: &Declared<ClusterSpec>,
    live: &DaxLive,
) -> Result<ClusterConfig, PlanError> {
    let s = &d.spec;
    let facts = p.live.vpcs.get("default");
    let missing = || {
        PlanError::Missing {
        address: d.address.clone(),
        message: "`default` subnets or security groups, but this region has no default VPC\n  help: list subnet and security group ids instead".into(),
    }
    };
    let own = live.group_name(&p.stack.name, &s.name);
    let (subnet_group, own_subnets) = match &s.subnets {
        Subnets::Existing(name) => (name.clone(), None),
        Subnets::Own(Selection::Ids(ids)) => (own.clone(), Some(ids.clone())),
        Subnets::Own(Selection::Default) => (
            own.clone(),
            Some(facts.ok_or_else(missing)?.default_subnets.clone()),
        ),
    };
    let security_groups = match &s.security_groups {
        Selection::Ids(ids) => ids.clone(),
        Selection::Default => facts
            .ok_or_else(missing)?
            .default_security_group
            .iter()
            .cloned()
            .collect(),
    };
    Ok(ClusterConfig {
        name: s.name.clone(),
        node_type: s.node_type.clone(),
        replication_factor: s.replication_factor,
        role_arn: p
            .known
            .get(&Ref::Attribute(s.role.clone(), Attr::Arn))
            .cloned()
            .unwrap_or_default(),
        subnet_group,
        own_subnets,
        security_groups,
        encryption: s.encryption,
        endpoint_encryption: s.endpoint_encryption.clone(),
        parameter_group: if s.parameters.is_some() {
            own
        } else {
            DEFAULT_PARAMETER_GROUP.to_string()
        },
        parameters: s.parameters,
        description: s.description.clone(),
        maintenance_window: s.maintenance_window.clone(),
        tags: s.tags.clone(),
    })
}

/// A group the cluster needs under the name the tool gives it, found but not recorded as
/// this stack's: the tool never takes over what it did not make.
fn group_not_owned(
    p: &Planner<'_>,
    d: &Declared<ClusterSpec>,
    live: &DaxLive,
    config: &ClusterConfig,
) -> Option<PlanError> {
    let stack = p.stack.name.as_str();
    let subnet = live
        .subnet_group
        .as_ref()
        .filter(|g| config.own_subnets.is_some() && g.name == config.subnet_group);
    let parameter = live
        .parameter_group
        .as_ref()
        .filter(|g| config.parameters.is_some() && g.name == config.parameter_group);
    let (name, owner) = subnet
        .map(|g| (&g.name, &g.owner))
        .into_iter()
        .chain(parameter.map(|g| (&g.name, &g.owner)))
        .find(|(_, owner)| owner.as_deref() != Some(stack))?;
    Some(PlanError::NotOwned {
        address: d.address.clone(),
        name: name.clone(),
        owner: owner.clone(),
    })
}

/// A DAX cluster: exports its `name`, `arn` and `endpoint`.
impl Resource for DaxCluster {
    const KIND: Kind = Kind::DaxCluster;
    const PREFIX: &'static str = "dax_cluster";
    const NOUN: &'static str = "DAX cluster";
    type Raw = super::stack::RawCluster;
    type Spec = ClusterSpec;
    /// The cluster and the groups the tool would make for it; empty for a disabled cluster
    /// this stack has no record of having made.
    type Live = DaxLive;

    fn facts(live: &Self::Live) -> Vec<(&'static str, String)> {
        let Some(c) = &live.cluster else {
            return Vec::new();
        };
        let mut facts = vec![("state", c.status.clone())];
        if let Some(endpoint) = &c.endpoint {
            facts.push(("endpoint", endpoint.clone()));
        }
        facts
    }

    /// `name`, `arn`, and `endpoint` (the discovery URL a DAX client is given) once DAX
    /// reports it.
    fn outputs(live: &Self::Live) -> Vec<(&'static str, String)> {
        let Some(c) = &live.cluster else {
            return Vec::new();
        };
        let mut outputs = vec![
            (Attr::Name.as_str(), c.config.name.clone()),
            (Attr::Arn.as_str(), c.arn.clone()),
        ];
        if let Some(endpoint) = &c.endpoint {
            outputs.push((Attr::Endpoint.as_str(), endpoint.clone()));
        }
        outputs
    }
    type Op = ClusterOp;

    fn enabled(raw: &Self::Raw) -> Option<&serde_saphyr::Spanned<bool>> {
        raw.enabled.as_ref()
    }

    /// `name` and `arn` are known from the name; `endpoint` once the cluster is available.
    fn exports(_: &Self::Raw) -> Vec<Attr> {
        vec![Attr::Name, Attr::Arn, Attr::Endpoint]
    }

    fn validate(
        vd: &mut crate::stack::validate::Validator,
        raw: &serde_saphyr::Spanned<Self::Raw>,
        names: &crate::stack::validate::Names,
        _: &std::path::Path,
    ) -> ClusterSpec {
        super::stack::cluster(vd, raw, names)
    }

    /// Two entries cannot name one cluster.
    fn check_all(
        vd: &mut crate::stack::validate::Validator,
        entries: &[crate::resources::Entry<'_, Self::Raw, ClusterSpec>],
    ) {
        vd.unique_names(
            "DAX cluster",
            entries.iter().map(|(_, raw, _)| &raw.value.name),
        );
    }

    fn declares(d: &Declared<ClusterSpec>, name: &str) -> bool {
        d.spec.name == name
    }

    /// A cluster no longer declared is deleted with the groups the stack made for it; so are
    /// those groups alone when an interrupted deletion left them (`read_stray` finds them).
    fn stray_op(name: &str) -> Option<ClusterOp> {
        Some(ClusterOp::Delete {
            name: name.to_string(),
        })
    }

    /// Node type × nodes × hourly price; no free tier.
    fn costs(region: &str, specs: &[&ClusterSpec], stopping: bool) -> Vec<String> {
        specs
            .iter()
            .map(|s| {
                let note = if stopping {
                    super::stop_note
                } else {
                    super::cost_note
                };
                note(&s.name, &s.node_type, s.replication_factor, region)
            })
            .collect()
    }

    fn arn(account: &str, region: &str, spec: &ClusterSpec) -> Option<String> {
        Some(arn(region, account, &spec.name))
    }

    /// A cluster runs as its role, which DAX assumes.
    fn runs_as(d: &Declared<ClusterSpec>) -> Option<(Address, &'static str)> {
        Some((d.spec.role.clone(), "dax.amazonaws.com"))
    }

    /// DAX reaches the tables with its role: the item actions on at least one of the
    /// stack's tables (AWS-RULES.md), or every request through the cluster is refused.
    fn needs(p: &Planner<'_>, d: &Declared<ClusterSpec>) -> Vec<Need> {
        let tables: Vec<Grant> = crate::resources::declared_resources(p.stack)
            .into_iter()
            .filter(|(a, enabled, _)| a.kind == Kind::Table && *enabled)
            .map(|(a, _, _)| Grant::new(super::ITEM_ACTIONS, format!("${{table.{}.arn}}", a.name)))
            .collect();
        if tables.is_empty() {
            return Vec::new();
        }
        vec![Need {
            role: d.spec.role.clone(),
            by: d.address.clone(),
            purpose: "to read and write the tables it caches".to_string(),
            consequence: "every request through the cluster fails with AccessDenied".to_string(),
            severity: Severity::Error,
            want: Want::Any(tables),
            managed: None,
        }]
    }

    fn aws_name(spec: &ClusterSpec) -> Option<&str> {
        Some(&spec.name)
    }

    /// The default VPC, with its placement facts, when a selection says `default`.
    fn vpcs(spec: &ClusterSpec) -> Vec<(String, bool)> {
        let default = matches!(spec.subnets, Subnets::Own(Selection::Default))
            || spec.security_groups == Selection::Default;
        if default {
            vec![("default".into(), true)]
        } else {
            Vec::new()
        }
    }

    fn seed_known(p: &mut Planner<'_>, d: &Declared<ClusterSpec>) {
        let arn = arn(&p.ctx.region, &p.ctx.account, &d.spec.name);
        p.export(&d.address, Attr::Name, d.spec.name.clone());
        p.export(&d.address, Attr::Arn, arn);
    }

    /// Plans one cluster.
    ///
    /// Converging: the node type, role, subnet group, encryption and endpoint encryption
    /// force a replacement (delete, wait until gone, create); the replication factor,
    /// description, parameter group, security groups, maintenance window, the own groups'
    /// subnets and TTLs and the tags change in place. The plan warns below 3 nodes outside
    /// `local` (its cost line comes from `costs`). The
    /// endpoint is exported when the cluster is available and kept. Tags DAX would not
    /// list (the cluster mid-change) are not compared, with a note saying so; the owner is
    /// then the one the cluster's record names (refresh reads it so).
    ///
    /// Destroying, or disabled here: the cluster is deleted, and with it the groups the
    /// stack made for it; groups left by an interrupted deletion are deleted on their own.
    /// The cluster always depends on its role, so that a destroy deletes the role after it.
    ///
    /// # Errors
    ///
    /// `NotRefreshed` (a bug); `Missing` for `default` without a default VPC; `NotOwned`
    /// for a cluster, or a group under the tool's name, that is not this stack's
    /// (converging only); `Impossible` for an action that cannot apply to what was read.
    fn plan(p: &mut Planner<'_>, d: &Declared<ClusterSpec>) -> Result<(), PlanError> {
        let live = p
            .live
            .dax_clusters
            .get(&d.address)
            .ok_or_else(|| PlanError::NotRefreshed(d.address.clone()))?;
        let cluster = live.cluster.as_ref();
        let stack = p.stack.name.as_str();
        let wanted = match p.mode {
            Mode::Converge => Some(wanted(p, d, live)?),
            Mode::Destroy => None,
        };
        if let Some(w) = &wanted {
            if let Some(e) = group_not_owned(p, d, live, w) {
                return Err(e);
            }
            if let Some(c) = cluster.filter(|c| !c.tags_known) {
                p.notes.push(format!(
                    "{}: DAX lists no tags while the cluster is `{}`: its tags are not compared in this plan",
                    d.address, c.status
                ));
            }
            if d.spec.replication_factor < 3 && p.ctx.environment != "local" {
                p.notes.push(format!(
                    "{}: {} node{} in environment `{}`: AWS recommends at least 3, in different availability zones, so that one failure does not stop the cache",
                    d.address,
                    d.spec.replication_factor,
                    if d.spec.replication_factor == 1 { "" } else { "s" },
                    p.ctx.environment
                ));
            }
        }
        // Groups the stack made and an interrupted deletion left behind count as the
        // cluster's own, so that destroying it converges.
        let leftovers = live
            .subnet_group
            .as_ref()
            .map(|g| &g.owner)
            .into_iter()
            .chain(live.parameter_group.as_ref().map(|g| &g.owner))
            .any(|o| o.as_deref() == Some(stack));
        let exists = cluster.is_some() || (p.mode == Mode::Destroy && leftovers);
        let diffs = match &wanted {
            Some(w) => p.field_diffs(cluster, |c| super::diff(w, live, c), || super::flatten(w)),
            None => Vec::new(),
        };
        let subject = Subject {
            address: &d.address,
            name: &d.spec.name,
            exists,
            owner: Ownership::Tagged(cluster.map_or(Some(stack), |c| c.owner.as_deref())),
            protected: false,
        };
        let action = p.action(&subject, &diffs)?;
        let keeps = matches!(action, None | Some(Action::Update));
        if let (true, Some(endpoint)) = (keeps, cluster.and_then(|c| c.endpoint.clone())) {
            p.export(&d.address, Attr::Endpoint, endpoint);
        }
        let Some(action) = action else {
            return Ok(());
        };
        let new_role = p.changes.iter().any(|c| {
            c.address == d.spec.role && matches!(c.action, Action::Create | Action::Replace { .. })
        });
        let op = match (&action, wanted, cluster) {
            (Action::Create, Some(config), _) => ClusterOp::Create { config, new_role },
            (Action::Update, Some(w), Some(c)) => ClusterOp::Update {
                name: d.spec.name.clone(),
                group: live.group_name(stack, &d.spec.name),
                update: super::update(&w, live, c),
            },
            (Action::Replace { .. }, Some(config), Some(_)) => {
                ClusterOp::Replace { config, new_role }
            }
            (Action::Delete, _, _) => ClusterOp::Delete {
                name: d.spec.name.clone(),
            },
            _ => return Err(PlanError::impossible(&d.address, &action)),
        };
        let deps: Vec<Address> = vec![d.spec.role.clone()];
        p.push(
            &d.address,
            &d.spec.name,
            action,
            diffs,
            Operation::DaxCluster(op),
            deps,
        );
        Ok(())
    }
}
