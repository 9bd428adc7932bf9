//! The stack file's `roles:` entries: raw serde types and validation (names, path, trust,
//! inline policies and their references, IAM's quota of managed policies). Pure.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::stack::raw::{RawStatement, SpannedMap};
use crate::stack::validate::{Names, Validator, loc};

use super::RoleSpec;

/// An IAM role.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    /// `false`: absent from every environment that does not `enable` it.
    #[schemars(with = "Option<bool>")]
    pub enabled: Option<Spanned<bool>>,
    /// Role name.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Role path (default `/`).
    #[schemars(with = "Option<String>")]
    pub path: Option<Spanned<String>>,
    /// Services that may assume the role, like `lambda.amazonaws.com`.
    #[schemars(with = "Vec<String>")]
    pub trust: Spanned<Vec<Spanned<String>>>,
    /// Description.
    #[schemars(with = "Option<String>")]
    pub description: Option<Spanned<String>>,
    /// Longest session in seconds.
    #[schemars(with = "Option<i64>")]
    pub max_session_seconds: Option<Spanned<i64>>,
    /// Inline policies: name → statements.
    #[serde(default)]
    #[schemars(with = "SpannedMap<Spanned<Vec<RawStatement>>>")]
    pub policies: SpannedMap<Spanned<Vec<Spanned<RawStatement>>>>,
    /// Managed policy ARNs to attach.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub managed_policies: Vec<Spanned<String>>,
    /// User tags.
    #[serde(default)]
    pub tags: SpannedMap<Spanned<String>>,
}

/// IAM's default quota of managed policies attached to one role.
const MAX_MANAGED_POLICIES: usize = 10;

/// One `roles:` entry: an IAM name (64 characters of `A-Za-z0-9+=,.@_-`); a path that starts
/// and ends with `/`; at least one trusted service principal; a session of 1 to 12 hours;
/// inline policies with statements whose references name declared resources; managed policy
/// ARNs, at most 10 (IAM's default quota).
pub(crate) fn role(vd: &mut Validator, raw: &Spanned<RawRole>, declared: &Names) -> RoleSpec {
    let r = &raw.value;
    vd.iam_name("role name", &r.name, 64);
    let path = r
        .path
        .as_ref()
        .map_or_else(|| "/".to_string(), |p| p.value.clone());
    if let Some(p) = &r.path
        && !(p.value.starts_with('/') && p.value.ends_with('/'))
    {
        vd.error(
            format!("role path `{}` must start and end with `/`", p.value),
            loc(p),
            "use `/` or a path like `/service/`",
        );
    }
    if r.trust.value.is_empty() {
        vd.error(
            "the role trusts no service",
            loc(&r.trust),
            "list who may assume it, like `[lambda.amazonaws.com]`",
        );
    }
    for t in &r.trust.value {
        if !t.value.ends_with(".amazonaws.com") {
            vd.error(
                format!("`{}` is not a service principal", t.value),
                loc(t),
                "service principals look like `lambda.amazonaws.com`",
            );
        }
    }
    let max_session_seconds = r
        .max_session_seconds
        .as_ref()
        .map_or(3600, |m| vd.int_in("max_session_seconds", m, 3600, 43200));
    let mut policies = BTreeMap::new();
    let mut locs = super::RoleLocs {
        // The first service named, so the caret points at text, not at a `[`.
        trust: r.trust.value.first().map_or_else(|| loc(&r.trust), loc),
        ..super::RoleLocs::default()
    };
    for (name, statements) in &r.policies.0 {
        locs.statements.insert(
            name.value.clone(),
            statements.value.iter().map(loc).collect(),
        );
        vd.iam_name("policy name", name, 128);
        if statements.value.is_empty() {
            vd.error(
                format!("policy `{}` has no statements", name.value),
                loc(statements),
                "add a statement or remove the policy",
            );
        }
        policies.insert(
            name.value.clone(),
            vd.statements(&statements.value, declared, false),
        );
    }
    let mut managed_policies = BTreeSet::new();
    for m in &r.managed_policies {
        if !m.value.starts_with("arn:aws:iam::") || !m.value.contains(":policy/") {
            vd.error(
                format!("`{}` is not a managed policy ARN", m.value),
                loc(m),
                "use an ARN like `arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB`",
            );
        }
        managed_policies.insert(m.value.clone());
        locs.managed.insert(m.value.clone(), loc(m));
    }
    if let Some(extra) = r.managed_policies.get(MAX_MANAGED_POLICIES) {
        vd.error(
            format!(
                "role `{}` attaches {} managed policies, and IAM allows at most {MAX_MANAGED_POLICIES} per role",
                r.name.value,
                r.managed_policies.len()
            ),
            loc(extra),
            "remove some, or move their statements into an inline policy (a raised Service Quotas limit is not assumed)",
        );
    }
    RoleSpec {
        name: r.name.value.clone(),
        path,
        trust: r
            .trust
            .value
            .iter()
            .map(|t| t.value.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        description: r
            .description
            .as_ref()
            .map(|d| d.value.clone())
            .unwrap_or_default(),
        max_session_seconds,
        policies,
        managed_policies,
        tags: vd.tags(&r.tags),
        locs,
    }
}
