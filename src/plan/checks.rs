//! Plan-time checks: will each role let its users do what the stack makes them do, and
//! what else each kind finds wrong before any write (a handler that names no file, a
//! runtime past its date, an over-broad grant). Pure.
//!
//! Each kind declares, next to its planning, what it needs from the roles it names
//! (`Resource::needs`: a mapping needs its function's role to read the table's stream), what
//! a role grants (`Resource::identity`), which role it runs as and which service assumes it
//! (`Resource::runs_as`), and its own findings (`Resource::check`). This one checker
//! evaluates every role against everything that uses it with the IAM evaluator
//! (`policy::eval`), so a new kind adds its needs in its own folder.
//!
//! Values not known until apply (a new table's stream ARN) are checked in the shape AWS
//! will give them (`Resource::placeholder`), on both sides: a policy naming
//! `${table.messages.stream_arn}` grants exactly what a need of that stream asks for.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::Planner;
use crate::resources::Address;
use crate::resources::policy::eval::{self, Decision, Source};
use crate::resources::refs::{self, Known, Ref};
use crate::stack::{Diagnostic, Loc, Severity};

/// Some actions on one resource (a template: `${…}` references are resolved by the
/// checker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// IAM actions, like `dynamodb:GetRecords`.
    pub actions: Vec<String>,
    /// The resource: an ARN template, or `*` for actions without resource-level permissions.
    pub resource: String,
    /// The resource a fix should name, when it is wider than the one checked (the checked
    /// one is a log stream of the group; a fix grants every stream: `log-group:<name>:*`).
    pub written: Option<String>,
}

impl Grant {
    /// `actions` on `resource`.
    #[must_use]
    pub fn new(actions: &[&str], resource: impl Into<String>) -> Self {
        Self {
            actions: actions.iter().map(|a| (*a).to_string()).collect(),
            resource: resource.into(),
            written: None,
        }
    }

    /// The same grant, whose fix names `written` instead of the resource checked.
    #[must_use]
    pub fn written_as(mut self, written: impl Into<String>) -> Self {
        self.written = Some(written.into());
        self
    }
}

/// What a resource needs a role to allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// Every one of these.
    All(Vec<Grant>),
    /// Every action of at least one of these (a DAX cluster reaches one of the stack's
    /// tables, whichever).
    Any(Vec<Grant>),
    /// The actions of `grant` that the role allows on `parent` must be allowed on
    /// `grant.resource` too (a table's actions on its index: the notes' `AccessDenied`).
    AlsoOn {
        /// The part (an index) and the actions that reach it.
        grant: Grant,
        /// The whole (its table).
        parent: String,
    },
}

/// One thing a declared resource needs from a role of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// The role, by address.
    pub role: Address,
    /// The resource that needs it.
    pub by: Address,
    /// What for, completing "which `by` needs …" (like "to read the stream of a table").
    pub purpose: String,
    /// What happens without it (`Lambda refuses to create the mapping`).
    pub consequence: String,
    /// How serious its absence is.
    pub severity: Severity,
    /// What must be allowed.
    pub want: Want,
    /// A managed policy that grants it, for the help line.
    pub managed: Option<&'static str>,
}

/// One policy of a role, as the stack will make it.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityPolicy {
    /// How findings name it (an inline policy by its name, a managed one by its ARN).
    pub label: String,
    /// The document, with `${…}` references still in it.
    pub document: Value,
}

/// What a role grants, as the stack declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// Its address.
    pub address: Address,
    /// Its name in AWS.
    pub name: String,
    /// Where it is declared.
    pub loc: Option<Loc>,
    /// The services its trust policy lets assume it.
    pub trust: Vec<String>,
    /// Where `trust:` is written.
    pub trust_loc: Option<Loc>,
    /// Its inline and managed policies whose documents are known.
    pub policies: Vec<IdentityPolicy>,
    /// Attached policies whose documents are not known here (customer-managed ones,
    /// offline): a missing permission may be granted by one, so it is not reported as
    /// missing.
    pub unread: Vec<(String, Option<Loc>)>,
}

/// A named part of a resource that code may be handed by name (a table's index): a role
/// allowing some of `actions` on `parent` must allow them on `arn` too, for code that uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Its name, as code is given it (`message-group-sk-index`).
    pub name: String,
    /// Its ARN template (`${table.messages.arn}/index/message-group-sk-index`).
    pub arn: String,
    /// Its whole's ARN template (`${table.messages.arn}`).
    pub parent: String,
    /// The actions that reach it (`dynamodb:Query`, `dynamodb:Scan`).
    pub actions: Vec<&'static str>,
    /// How messages name it (an index and its table).
    pub what: String,
}

/// Who assumes which role: a resource runs as `role`, assumed by `service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunsAs {
    /// The resource.
    pub by: Address,
    /// The role, by address.
    pub role: Address,
    /// The service principal that assumes it, like `lambda.amazonaws.com`.
    pub service: &'static str,
}

/// Runs every check on the planned stack: each kind's own (`Resource::check`), the trust of
/// every role against who assumes it, and what every role allows against what its users
/// need. Enabled resources only; nothing for `destroy`, which only deletes.
#[must_use]
pub fn run(p: &Planner<'_>) -> Vec<Diagnostic> {
    let mut out = crate::resources::check_every_kind(p);
    let identities: BTreeMap<Address, Identity> = crate::resources::identities(p)
        .into_iter()
        .map(|i| (i.address.clone(), i))
        .collect();
    for runs in crate::resources::runs_as_every_kind(p.stack) {
        if let Some(id) = identities.get(&runs.role) {
            trust(&mut out, id, &runs);
        }
    }
    let needs = crate::resources::needs_every_kind(p);
    let known = check_values(p, &identities, &needs);
    for need in &needs {
        if let Some(id) = identities.get(&need.role) {
            permission(&mut out, id, need, &known);
        }
    }
    out
}

/// Whether the role's trust policy names the service that assumes it.
fn trust(out: &mut Vec<Diagnostic>, id: &Identity, runs: &RunsAs) {
    if id.trust.iter().any(|t| t == runs.service) {
        return;
    }
    out.push(Diagnostic::new(
        format!(
            "role `{}` does not trust `{}`, but `{}` runs as it: AWS refuses to let the service assume it",
            id.name, runs.service, runs.by
        ),
        id.trust_loc.or(id.loc),
        format!("add `{}` to the role's `trust:`", runs.service),
    ));
}

/// Every reference the templates of `identities` and `needs` make, resolved: the known
/// values, and for each value known only after apply its placeholder.
fn check_values(
    p: &Planner<'_>,
    identities: &BTreeMap<Address, Identity>,
    needs: &[Need],
) -> Known {
    let mut texts: Vec<String> = Vec::new();
    for id in identities.values() {
        for policy in &id.policies {
            strings_of(&policy.document, &mut texts);
        }
    }
    for need in needs {
        match &need.want {
            Want::All(g) | Want::Any(g) => texts.extend(g.iter().map(|g| g.resource.clone())),
            Want::AlsoOn { grant, parent } => {
                texts.push(grant.resource.clone());
                texts.push(parent.clone());
            }
        }
    }
    let mut known = p.known.clone();
    for text in &texts {
        for r in refs::parse(text).unwrap_or_default() {
            if known.contains_key(&r) {
                continue;
            }
            let value = match &r {
                Ref::Attribute(address, attr) => crate::resources::placeholder(p, address, *attr),
                Ref::Account | Ref::Region => None,
            };
            known.insert(
                r.clone(),
                value.unwrap_or_else(|| format!("({r}, known after apply)")),
            );
        }
    }
    known
}

/// Every string in a JSON value.
fn strings_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings_of(i, out)),
        Value::Object(m) => m.values().for_each(|i| strings_of(i, out)),
        _ => {}
    }
}

/// What a role falls short of for one grant: the grant as the stack writes it, its
/// resource resolved, and each action not surely allowed with the evaluator's answer.
struct Shortfall {
    grant: Grant,
    resource: String,
    actions: Vec<(String, Decision)>,
}

/// The decisions of `id` on every action of `grant`, resolved with `known`.
fn decide(
    sources: &[Source<'_>],
    grant: &Grant,
    known: &Known,
) -> (String, Vec<(String, Decision)>) {
    let resource = refs::substitute(&grant.resource, known).0;
    let decisions = grant
        .actions
        .iter()
        .map(|a| (a.clone(), eval::evaluate(sources, a, &resource)))
        .collect();
    (resource, decisions)
}

/// Checks one need against one role and reports what is missing.
fn permission(out: &mut Vec<Diagnostic>, id: &Identity, need: &Need, known: &Known) {
    let documents: Vec<(String, Value)> = id
        .policies
        .iter()
        .map(|p| (p.label.clone(), refs::substitute_json(&p.document, known).0))
        .collect();
    let sources: Vec<Source<'_>> = documents
        .iter()
        .map(|(label, document)| Source { label, document })
        .collect();
    let mut missing: Vec<Shortfall> = Vec::new();
    let short = |grant: &Grant| {
        let (resource, decisions) = decide(&sources, grant, known);
        Shortfall {
            grant: grant.clone(),
            resource,
            actions: decisions
                .into_iter()
                .filter(|(_, d)| !d.is_allowed())
                .collect(),
        }
    };
    match &need.want {
        Want::All(grants) => {
            missing.extend(grants.iter().map(short).filter(|s| !s.actions.is_empty()));
        }
        Want::Any(grants) => {
            let tried: Vec<Shortfall> = grants.iter().map(short).collect();
            if !tried.iter().any(|s| s.actions.is_empty()) {
                // Name the alternative that comes closest.
                missing.extend(tried.into_iter().min_by_key(|s| s.actions.len()));
            }
        }
        Want::AlsoOn { grant, parent } => {
            let on_parent = Grant::new(&[], parent.clone());
            let on_parent = Grant {
                actions: grant.actions.clone(),
                ..on_parent
            };
            let (_, granted) = decide(&sources, &on_parent, known);
            let (resource, decisions) = decide(&sources, grant, known);
            let actions: Vec<(String, Decision)> = decisions
                .into_iter()
                .zip(granted)
                .filter(|((_, here), (_, there))| there.may_be_allowed() && !here.is_allowed())
                .map(|(here, _)| here)
                .collect();
            if !actions.is_empty() {
                let grant = Grant {
                    actions: actions.iter().map(|(a, _)| a.clone()).collect(),
                    ..grant.clone()
                };
                missing.push(Shortfall {
                    grant,
                    resource,
                    actions,
                });
            }
        }
    }
    if missing.is_empty() {
        return;
    }
    out.push(finding(id, need, &missing));
}

/// The diagnostic for a need `id` does not meet: what is missing, why (a deny, a
/// condition), and the smallest stack-file statement that fixes it.
fn finding(id: &Identity, need: &Need, missing: &[Shortfall]) -> Diagnostic {
    let parts: Vec<String> = missing
        .iter()
        .map(|s| {
            let actions: Vec<String> = s.actions.iter().map(|(a, _)| format!("`{a}`")).collect();
            format!("{} on `{}`", actions.join(", "), s.resource)
        })
        .collect();
    let reasons: Vec<String> = missing
        .iter()
        .flat_map(|s| s.actions.iter())
        .filter_map(|(a, d)| match d {
            Decision::ExplicitDeny { by } => Some(format!("`{a}` is denied by {}", by.join(", "))),
            Decision::ConditionallyDenied { by } => Some(format!(
                "`{a}` is denied when the condition of {} holds",
                by.join(", ")
            )),
            Decision::ConditionallyAllowed { by } => Some(format!(
                "`{a}` is allowed only when the condition of {} holds",
                by.join(", ")
            )),
            Decision::Allowed | Decision::ImplicitDeny => None,
        })
        .collect();
    // A finding that rests on a condition cannot be sure: it is at most a warning.
    let conditional = missing
        .iter()
        .flat_map(|s| s.actions.iter())
        .all(|(_, d)| d.may_be_allowed());
    // A policy not read may grant what is missing, but can never lift an explicit deny.
    let denied = missing
        .iter()
        .flat_map(|s| s.actions.iter())
        .any(|(_, d)| matches!(d, Decision::ExplicitDeny { .. }));
    let unread = !id.unread.is_empty() && !denied;
    let severity = if unread {
        Severity::Note
    } else if conditional {
        need.severity.min(Severity::Warning)
    } else {
        need.severity
    };
    let mut message = format!(
        "role `{}` does not allow {}, which `{}` needs {}: {}",
        id.name,
        parts.join(" and "),
        need.by,
        need.purpose,
        need.consequence
    );
    if !reasons.is_empty() {
        let _ = write!(message, " ({})", reasons.join("; "));
    }
    if unread {
        let names: Vec<String> = id.unread.iter().map(|(a, _)| format!("`{a}`")).collect();
        message = format!(
            "not checked: {message} — unless {} grants it, whose document is not known here",
            names.join(", ")
        );
    }
    let help = if let Want::AlsoOn { .. } = &need.want {
        let arns: Vec<String> = missing
            .iter()
            .map(|s| format!("`{}`", s.resource))
            .collect();
        let templates: Vec<String> = missing
            .iter()
            .map(|s| format!("`{}`", s.grant.resource))
            .collect();
        format!(
            "add {} to the resources of the statement that allows it on the table (in the stack file: {})",
            arns.join(", "),
            templates.join(", ")
        )
    } else {
        let mut statements = String::new();
        for s in missing {
            let actions: Vec<&str> = s.actions.iter().map(|(a, _)| a.as_str()).collect();
            let _ = write!(
                statements,
                "\n      - effect: Allow\n        actions: [{}]\n        resources: [\"{}\"]",
                actions.join(", "),
                s.grant.written.as_ref().unwrap_or(&s.grant.resource)
            );
        }
        let managed = need
            .managed
            .map(|m| format!(", or attach `{m}`"))
            .unwrap_or_default();
        format!(
            "add this to one of the role's `policies:` (as it is written in the stack file){managed}:{statements}"
        )
    };
    let at = if unread {
        id.unread.first().and_then(|(_, l)| *l).or(id.loc)
    } else {
        id.loc
    };
    Diagnostic {
        severity,
        message,
        loc: at,
        help: Some(if unread {
            format!("{help}\n  `plan` reads that policy and checks this for sure")
        } else {
            help
        }),
    }
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
