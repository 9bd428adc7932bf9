//! Planning one VPC endpoint, found by VPC and service: the one to keep, duplicates the
//! stack owns, the action and the operation. Pure.
//!
//! An endpoint has no name AWS knows it by: it exports nothing to references, and it is
//! found as a stray by its id (`ec2:vpc-endpoint` in the Tagging API). Every endpoint of
//! its VPC and service that refresh found is claimed by the declared one, so duplicates
//! are planned here, never as strays.

use super::{Endpoint, EndpointConfig, EndpointOp, EndpointSpec, RouteTables, VpcChoice};
use crate::plan::{Action, Mode, Operation, Ownership, PlanError, Planner, Subject, waits_for};
use crate::resources::refs::{self};
use crate::resources::{Adoption, Effect, FieldDiff, Kind, Resource, Val};
use crate::stack::Declared;

/// `exports` and `aws_name` keep their defaults: nothing refers to an endpoint.
impl Resource for Endpoint {
    const KIND: Kind = Kind::Endpoint;
    const PREFIX: &'static str = "vpc_endpoint";
    const NOUN: &'static str = "VPC endpoint";
    type Raw = super::stack::RawEndpoint;

    fn enabled(raw: &Self::Raw) -> Option<&serde_saphyr::Spanned<bool>> {
        raw.enabled.as_ref()
    }

    fn validate(
        vd: &mut crate::stack::validate::Validator,
        raw: &serde_saphyr::Spanned<super::stack::RawEndpoint>,
        names: &crate::stack::validate::Names,
        _: &std::path::Path,
    ) -> EndpointSpec {
        super::stack::endpoint(vd, raw, names)
    }

    /// A gateway endpoint is found by VPC and service: one per pair.
    fn check_all(
        vd: &mut crate::stack::validate::Validator,
        entries: &[crate::resources::Entry<'_, super::stack::RawEndpoint, EndpointSpec>],
    ) {
        for (i, (logical, _, spec)) in entries.iter().enumerate() {
            if entries[..i]
                .iter()
                .any(|(_, _, o)| o.vpc == spec.vpc && o.service == spec.service)
            {
                vd.error(
                    "a second endpoint for the same VPC and service",
                    crate::stack::validate::loc(logical),
                    "AWS finds a gateway endpoint by VPC and service: keep one",
                );
            }
        }
    }
    type Spec = EndpointSpec;
    /// Every endpoint of the declared service in the declared VPC, whoever owns it, but
    /// none `deleted`, `deleting`, `rejected` or `failed`; empty when there is none, or
    /// when the region has no default VPC and the endpoint asks for it.
    type Live = Vec<super::EndpointLive>;

    fn facts(live: &Self::Live) -> Vec<(&'static str, String)> {
        live.first()
            .map(|e| vec![("state", e.state.clone()), ("id", e.id.clone())])
            .unwrap_or_default()
    }

    /// `id` (`vpce-…`), of the first endpoint found (normally the only one: `apply` deletes
    /// duplicates the stack owns).
    fn outputs(live: &Self::Live) -> Vec<(&'static str, String)> {
        live.first()
            .map(|e| vec![("id", e.id.clone())])
            .unwrap_or_default()
    }
    type Op = EndpointOp;

    /// The declared VPC, under the key `LiveState::vpcs` uses (`default` or its id). An
    /// endpoint needs its route tables only, never a placement.
    fn vpcs(spec: &EndpointSpec) -> Vec<(String, bool)> {
        let key = match &spec.vpc {
            VpcChoice::Default => "default".to_string(),
            VpcChoice::Id(id) => id.clone(),
        };
        vec![(key, false)]
    }

    /// The first endpoint found for the VPC and service (the plan keeps the oldest id).
    fn adopt(live: &mut Self::Live, stack: &str) -> Adoption {
        match live.first_mut() {
            Some(l) => Adoption::Found {
                owner: l.owner.replace(stack.to_string()),
                target: l.id.clone(),
            },
            None => Adoption::Missing,
        }
    }

    /// A declared endpoint claims every endpoint of its VPC and service it found, duplicates
    /// included (its own planning deletes those).
    fn claims(live: &Vec<super::EndpointLive>, id: &str) -> bool {
        live.iter().any(|e| e.id == id)
    }

    /// A stray is deleted by the id its ARN ends in (`EndpointOp::Delete`, which waits
    /// until EC2 reports it deleted).
    fn stray_op(id: &str) -> Option<EndpointOp> {
        Some(EndpointOp::Delete(vec![id.to_string()]))
    }

    /// An endpoint has no name or ARN that others reference.
    fn seed_known(_: &mut Planner<'_>, _: &Declared<EndpointSpec>) {}

    /// Plans one VPC endpoint, found by VPC and service. When the stack owns more than one
    /// there (a lost create answer), the oldest is kept and the others are deleted; one owned
    /// by nobody or by another stack stops the plan, as for named resources.
    ///
    /// The VPC's facts come from refresh: `main` and `all` resolve against its route
    /// tables, and the policy's references are substituted with the values known (the
    /// rest make the endpoint wait for the resources they name, when converging).
    ///
    /// The VPC and the service force a replacement (EC2 cannot move an endpoint): the old
    /// one is deleted, then a new one created. Route tables (added and removed as sets),
    /// the policy and the tags change in place. Duplicates show as a note field, so they
    /// alone make an update, which deletes them; a destroy deletes them with the endpoint;
    /// a replacement does not carry them.
    ///
    /// # Errors
    ///
    /// `Missing` when the endpoint asks for the default VPC and the region has none;
    /// `NotRefreshed` when refresh did not read the endpoint (a bug); `NotOwned` when the
    /// endpoint found is not tagged as this stack's (converging only: destroy leaves it);
    /// `Impossible` for an update, replacement or deletion with no endpoint found.
    fn plan(p: &mut Planner<'_>, e: &Declared<Self::Spec>) -> Result<(), PlanError> {
        let key = match &e.spec.vpc {
            VpcChoice::Default => "default".to_string(),
            VpcChoice::Id(id) => id.clone(),
        };
        let facts = p.live.vpcs.get(&key).ok_or_else(|| PlanError::Missing {
        address: e.address.clone(),
        message: format!("VPC `{key}` was not found in this region\n  help: use `vpc: default` only where a default VPC exists, or give an existing VPC id"),
    })?;
        let route_tables = match &e.spec.route_tables {
            RouteTables::Main => facts.main_route_table.iter().cloned().collect(),
            RouteTables::All => facts.route_tables.clone(),
            RouteTables::Ids(ids) => ids.clone(),
        };
        let (policy_doc, missing) = match &e.spec.policy {
            Some(doc) => {
                let (v, m) = refs::substitute_json(doc, &p.known);
                (Some(v), m)
            }
            None => (None, Vec::new()),
        };
        let wanted = EndpointConfig {
            vpc_id: facts.vpc_id.clone(),
            service_name: super::service_name(&e.spec.service, &p.ctx.region),
            route_tables,
            policy: policy_doc,
            tags: e.spec.tags.clone(),
        };
        let live = p
            .live
            .endpoints
            .get(&e.address)
            .ok_or_else(|| PlanError::NotRefreshed(e.address.clone()))?;
        let mut ours: Vec<&super::EndpointLive> = live
            .iter()
            .filter(|l| l.owner.as_deref() == Some(p.stack.name.as_str()))
            .collect();
        ours.sort_by(|a, b| a.id.cmp(&b.id));
        // A lost create answer can leave two endpoints of ours: keep the oldest id.
        let found = ours.first().copied().or_else(|| live.first());
        let duplicates: Vec<String> = ours.iter().skip(1).map(|l| l.id.clone()).collect();
        let name = e.spec.tags.get("Name").cloned().unwrap_or_default();
        let mut diffs = p.field_diffs(
            found,
            |l| super::diff(&wanted, l),
            || super::flatten(&wanted),
        );
        if p.mode == Mode::Converge && !duplicates.is_empty() {
            diffs.push(FieldDiff {
                path: "duplicate_endpoints".into(),
                old: Some(Val::Set(duplicates.clone())),
                new: None,
                effect: Effect::Note(
                    "the stack owns more than one endpoint here: the extra ones are deleted".into(),
                ),
            });
        }
        let subject = Subject {
            address: &e.address,
            name: found.map_or(name.as_str(), |l| l.id.as_str()),
            exists: found.is_some(),
            owner: Ownership::Tagged(found.and_then(|l| l.owner.as_deref())),
            protected: false,
        };
        let Some(action) = p.action(&subject, &diffs)? else {
            return Ok(());
        };
        let op = match (&action, found) {
            (Action::Create, _) => EndpointOp::Create(wanted),
            (Action::Update, Some(l)) => EndpointOp::Update {
                id: l.id.clone(),
                update: super::update(&wanted, l),
                duplicates: duplicates.clone(),
            },
            (Action::Replace { .. }, Some(l)) => EndpointOp::Replace {
                id: l.id.clone(),
                config: wanted,
            },
            (Action::Delete, Some(l)) => {
                EndpointOp::Delete(std::iter::once(l.id.clone()).chain(duplicates).collect())
            }
            (Action::Update | Action::Replace { .. } | Action::Delete, None)
            | (Action::NoOp, _) => return Err(PlanError::impossible(&e.address, &action)),
        };
        let deps = if p.mode == Mode::Converge {
            waits_for(&missing)
        } else {
            Vec::new()
        };
        p.push(
            &e.address,
            &name,
            action,
            diffs,
            Operation::Endpoint(op),
            deps,
        );
        Ok(())
    }
}
