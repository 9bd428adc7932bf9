//! Planning one role: its policies resolved for the diff but carried as templates (late
//! references are filled in at apply time), the inline-policy quota, the action and the
//! steps. Pure.
//!
//! A role is read by its declared name, so the name is its identity: a renamed role plans
//! as a create of the new name. The old one is left in place, since roles are never found
//! as strays (IAM is global and the Tagging API query does not cover it).

use super::{Role, RoleConfig, RoleOp, RoleSpec};
use crate::plan::checks::{Identity, IdentityPolicy};
use crate::plan::{Action, Mode, Operation, Ownership, PlanError, Planner, Subject, waits_for};
use crate::resources::refs::{self, Attr};
use crate::resources::{Adoption, Kind, Resource, policy};
use crate::stack::Declared;

impl Resource for Role {
    const KIND: Kind = Kind::Role;
    const PREFIX: &'static str = "role";
    const NOUN: &'static str = "role";
    type Raw = super::stack::RawRole;

    fn enabled(raw: &Self::Raw) -> Option<&serde_saphyr::Spanned<bool>> {
        raw.enabled.as_ref()
    }

    /// Name and ARN, both known at plan time (`seed_known`), so a reference to a role is
    /// substituted in the plan itself.
    fn exports(_: &super::stack::RawRole) -> Vec<Attr> {
        vec![Attr::Name, Attr::Arn]
    }

    fn validate(
        vd: &mut crate::stack::validate::Validator,
        raw: &serde_saphyr::Spanned<super::stack::RawRole>,
        names: &crate::stack::validate::Names,
        _: &std::path::Path,
    ) -> RoleSpec {
        super::stack::role(vd, raw, names)
    }

    /// Two entries may not name one IAM role: both would be planned against the same role.
    fn check_all(
        vd: &mut crate::stack::validate::Validator,
        entries: &[crate::resources::Entry<'_, super::stack::RawRole, RoleSpec>],
    ) {
        vd.unique_names(Self::NOUN, entries.iter().map(|(_, r, _)| &r.value.name));
    }
    type Spec = RoleSpec;
    /// The role (`None`: IAM has none of the declared name) and the documents of the
    /// managed policies it attaches that are not bundled.
    type Live = super::RoleState;

    fn facts(live: &Self::Live) -> Vec<(&'static str, String)> {
        // IAM roles have no state of their own: one that exists is usable.
        live.role
            .as_ref()
            .map(|r| vec![("state", "exists".to_string()), ("arn", r.arn.clone())])
            .unwrap_or_default()
    }

    /// `name` and `arn`, as IAM reports them.
    fn outputs(live: &Self::Live) -> Vec<(&'static str, String)> {
        live.role
            .as_ref()
            .map(|r| {
                vec![
                    (Attr::Name.as_str(), r.config.name.clone()),
                    (Attr::Arn.as_str(), r.arn.clone()),
                ]
            })
            .unwrap_or_default()
    }

    /// The role as the stack will make it: its trust, its inline policies (templates) and
    /// its managed policies, from the bundled copies or as refresh read them. A managed
    /// policy whose document is not known (customer-managed, offline) is listed as unread,
    /// never taken as empty.
    fn identity(p: &Planner<'_>, d: &Declared<RoleSpec>) -> Option<Identity> {
        let attached = p.live.roles.get(&d.address).map(|s| &s.attached);
        let mut policies: Vec<IdentityPolicy> = d
            .spec
            .policies
            .iter()
            .map(|(name, doc)| IdentityPolicy {
                label: format!("inline policy `{name}`"),
                document: doc.clone(),
            })
            .collect();
        let mut unread = Vec::new();
        for arn in &d.spec.managed_policies {
            let document = policy::managed::bundled(arn)
                .map(|m| m.document.clone())
                .or_else(|| attached.and_then(|a| a.get(arn)).cloned().flatten());
            match document {
                Some(document) => policies.push(IdentityPolicy {
                    label: format!("`{arn}`"),
                    document,
                }),
                None => unread.push((arn.clone(), d.spec.locs.managed.get(arn).copied().flatten())),
            }
        }
        Some(Identity {
            address: d.address.clone(),
            name: d.spec.name.clone(),
            loc: d.loc,
            trust: d.spec.trust.clone(),
            trust_loc: d.spec.locs.trust,
            policies,
            unread,
        })
    }

    /// Over-broad grants, as warnings: an inline statement allowing `*` or `<service>:*` on
    /// `Resource: "*"`, and an attached `AmazonDynamoDBFullAccess`, `AdministratorAccess` or
    /// `PowerUserAccess`. AWS's service-role policies are what a function needs and are not
    /// flagged. Offline, each attached policy whose document is unknown gets a note.
    fn check(p: &Planner<'_>, d: &Declared<RoleSpec>) -> Vec<crate::stack::Diagnostic> {
        use crate::stack::Diagnostic;
        let mut out = Vec::new();
        for (name, doc) in &d.spec.policies {
            let locs = d.spec.locs.statements.get(name);
            for (i, statement) in doc["Statement"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(what) = super::over_broad(statement) {
                    out.push(Diagnostic::warning(
                        format!(
                            "inline policy `{name}` of role `{}` allows {what} on every resource (`*`): far more than the stack's functions need, so a bug or a leaked key reaches everything",
                            d.spec.name
                        ),
                        locs.and_then(|l| l.get(i).copied().flatten()).or(d.loc),
                        "list the actions the code calls, on the stack's own ARNs (like `${table.messages.arn}`)",
                    ));
                }
            }
        }
        for arn in &d.spec.managed_policies {
            let at = d.spec.locs.managed.get(arn).copied().flatten().or(d.loc);
            if policy::managed::OVER_BROAD.contains(&arn.as_str()) {
                out.push(Diagnostic::warning(
                    format!(
                        "role `{}` attaches `{arn}`, which allows far more than the stack needs (every table of the account, or every service): pasting it in does not fix an index's AccessDenied, and a bug or a leaked key then reaches everything",
                        d.spec.name
                    ),
                    at,
                    "detach it, and grant the actions the code calls on the table and its indexes (`${table.messages.arn}`, `${table.messages.arn}/index/*`)",
                ));
            }
            let bundled = policy::managed::bundled(arn).is_some();
            let read = p
                .live
                .roles
                .get(&d.address)
                .and_then(|s| s.attached.get(arn));
            if let Some(None) = read {
                out.push(Diagnostic::new(
                    format!("role `{}` attaches `{arn}`, which IAM does not have", d.spec.name),
                    at,
                    "check the ARN (its path too, like `service-role/`), or create the policy first",
                ));
            }
            if p.ctx.offline && !bundled && read.is_none() {
                out.push(Diagnostic::note(
                    format!(
                        "`{arn}` is not checked offline: its document is read from IAM by `plan`, so what it grants to role `{}` is not known here",
                        d.spec.name
                    ),
                    at,
                    "run `cruddur-infra plan` to check this role with it",
                ));
            }
        }
        out
    }
    type Op = RoleOp;

    fn arn(account: &str, _: &str, spec: &RoleSpec) -> Option<String> {
        Some(super::arn(account, &spec.path, &spec.name))
    }

    fn aws_name(spec: &RoleSpec) -> Option<&str> {
        Some(&spec.name)
    }

    /// Roles are known to AWS by name (unique per account, whatever the path).
    fn declares(d: &Declared<RoleSpec>, name: &str) -> bool {
        d.spec.name == name
    }

    /// A role the stack's records name but its file no longer declares is deleted with
    /// its policies, attachments and instance-profile memberships.
    fn stray_op(_: &str) -> Option<RoleOp> {
        Some(RoleOp::Delete)
    }

    /// Adopted by name: the target is the role name `TagRole` takes.
    fn adopt(live: &mut Self::Live, stack: &str) -> Adoption {
        match &mut live.role {
            Some(l) => Adoption::Found {
                owner: l.owner.replace(stack.to_string()),
                target: l.config.name.clone(),
            },
            None => Adoption::Missing,
        }
    }

    /// IAM builds a role's ARN from the account, path and name (`super::arn`), so both are
    /// known before the role exists: policies and functions referring to a role being
    /// created need no apply-time value.
    fn seed_known(p: &mut Planner<'_>, r: &Declared<RoleSpec>) {
        p.export(&r.address, Attr::Name, r.spec.name.clone());
        p.export(
            &r.address,
            Attr::Arn,
            super::arn(&p.ctx.account, &r.spec.path, &r.spec.name),
        );
    }

    /// Plans one role. Its policies are resolved against the known values for the diff, but the
    /// operation carries the templates, so references known only at apply time (a new stream's
    /// ARN) are filled in then; the role then waits for the resources those references name. The
    /// inline-policy quota is checked here, on the resolved documents.
    ///
    /// A path change forces a replacement (IAM cannot move a role): the role is deleted,
    /// then created again under the same name, since role names are unique per account.
    /// The trust policy, description, session length, inline policies, managed attachments
    /// and tags change in place, through the steps `update_steps` computes (detaches before
    /// attaches). Ownership is proven by the role's own tag; roles have no deletion
    /// protection. In destroy mode the diff is empty, no quota is checked and no dependency
    /// is recorded: an owned role is deleted, any other left in place with a note.
    ///
    /// # Errors
    ///
    /// `NotRefreshed` when refresh did not read the role (a bug); `Quota` when the inline
    /// policies exceed IAM's 10,240 characters; `NotOwned` when a role of that name exists
    /// without this stack's tag; `Impossible` for an update of a role that was not found.
    fn plan(p: &mut Planner<'_>, r: &Declared<Self::Spec>) -> Result<(), PlanError> {
        let live = p
            .live
            .roles
            .get(&r.address)
            .ok_or_else(|| PlanError::NotRefreshed(r.address.clone()))?
            .role
            .as_ref();
        let mut missing = Vec::new();
        let resolved: std::collections::BTreeMap<String, serde_json::Value> = r
            .spec
            .policies
            .iter()
            .map(|(name, doc)| {
                let (v, m) = refs::substitute_json(doc, &p.known);
                missing.extend(m);
                (name.clone(), v)
            })
            .collect();
        let config = |policies| RoleConfig {
            name: r.spec.name.clone(),
            path: r.spec.path.clone(),
            trust: policy::trust_document(&r.spec.trust),
            description: r.spec.description.clone(),
            max_session_seconds: r.spec.max_session_seconds,
            policies,
            managed_policies: r.spec.managed_policies.clone(),
            tags: r.spec.tags.clone(),
        };
        let wanted = config(resolved);
        if p.mode == Mode::Converge
            && let Some(message) = super::inline_quota_problem(&wanted.policies)
        {
            return Err(PlanError::Quota {
                address: r.address.clone(),
                message,
            });
        }
        let diffs = p.field_diffs(
            live,
            |l| super::diff(&wanted, l),
            || super::flatten(&wanted),
        );
        let subject = Subject {
            address: &r.address,
            name: &r.spec.name,
            exists: live.is_some(),
            owner: Ownership::Tagged(live.and_then(|l| l.owner.as_deref())),
            protected: false,
        };
        let Some(action) = p.action(&subject, &diffs)? else {
            return Ok(());
        };
        let op = match (&action, live) {
            (Action::Create, _) => RoleOp::Create(config(r.spec.policies.clone())),
            (Action::Update, Some(l)) => {
                RoleOp::Update(super::update_steps(&wanted, &r.spec.policies, l))
            }
            (Action::Replace { .. }, _) => RoleOp::Replace(config(r.spec.policies.clone())),
            (Action::Delete, _) => RoleOp::Delete,
            (Action::Update, None) | (Action::NoOp, _) => {
                return Err(PlanError::impossible(&r.address, &action));
            }
        };
        let deps = if p.mode == Mode::Converge {
            waits_for(&missing)
        } else {
            Vec::new()
        };
        p.push(
            &r.address,
            &r.spec.name,
            action,
            diffs,
            Operation::Role(op),
            deps,
        );
        Ok(())
    }
}
