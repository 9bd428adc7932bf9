//! IAM roles: trust policy, description, session length, inline policies (compared as
//! normalized JSON), managed policy attachments (a set) and tags. Pure.
//!
//! AWS rules: name and path cannot change (replace); everything else changes in place.
//! `PutRolePolicy` is an upsert; a role cannot be deleted until its inline policies and
//! attachments are gone.

pub mod aws;
mod plan;
pub mod stack;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Effect, Field, FieldDiff, Val, diff_fields, policy};

/// A role in spec shape: what the stack asks for (references substituted) or what IAM has.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleConfig {
    /// Role name.
    pub name: String,
    /// Role path, `/` by default.
    pub path: String,
    /// The trust (assume-role) policy.
    pub trust: Value,
    /// Description (empty: none).
    pub description: String,
    /// Longest session, in seconds (AWS's default is 3600).
    pub max_session_seconds: i32,
    /// Inline policies by name.
    pub policies: BTreeMap<String, Value>,
    /// Attached managed policy ARNs.
    pub managed_policies: BTreeSet<String>,
    /// User tags (never the ownership tag).
    pub tags: BTreeMap<String, String>,
}

/// A role as IAM reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleLive {
    /// Its configuration.
    pub config: RoleConfig,
    /// Its ARN.
    pub arn: String,
    /// The stack named by its ownership tag.
    pub owner: Option<String>,
}

/// The role's ARN in `account`.
#[must_use]
pub fn arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role{path}{name}")
}

/// The role's fields as plans show them.
#[must_use]
pub fn flatten(c: &RoleConfig) -> Vec<Field> {
    // Exhaustive on purpose: a new field fails to compile here until it is shown and compared.
    let RoleConfig {
        name: _,
        path: _,
        trust: _,
        description: _,
        max_session_seconds: _,
        policies: _,
        managed_policies: _,
        tags: _,
    } = c;
    let mut fields = vec![
        Field::new("name", Val::Str(c.name.clone())).with_effect(Effect::ReplacesResource),
        Field::new("path", Val::Str(c.path.clone())).with_effect(Effect::ReplacesResource),
        Field::new("trust_policy", Val::Doc(policy::pretty(&c.trust))),
        Field::new("description", Val::Str(c.description.clone())),
        Field::new(
            "max_session_seconds",
            Val::Int(i64::from(c.max_session_seconds)),
        ),
    ];
    for (name, doc) in &c.policies {
        fields.push(Field::new(
            format!("policy[{name:?}]"),
            Val::Doc(policy::pretty(doc)),
        ));
    }
    fields.push(Field::new(
        "managed_policies",
        Val::Set(c.managed_policies.iter().cloned().collect()),
    ));
    for (k, v) in &c.tags {
        fields.push(Field::new(format!("tags[{k:?}]"), Val::Str(v.clone())));
    }
    fields
}

/// IAM's quota on the inline policies of one role, all together, in characters (IAM does
/// not count whitespace).
pub const INLINE_POLICY_QUOTA: usize = 10_240;

/// Why these inline policies would exceed IAM's quota, if they would: a `PutRolePolicy`
/// past it fails with `LimitExceeded` halfway through an apply, so the plan refuses first.
/// References still unknown count as their `${…}` text, so the check is a lower bound.
#[must_use]
pub fn inline_quota_problem(policies: &BTreeMap<String, Value>) -> Option<String> {
    let sizes: Vec<(usize, &str)> = policies
        .iter()
        .map(|(name, doc)| {
            (
                doc.to_string()
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .count(),
                name.as_str(),
            )
        })
        .collect();
    let total: usize = sizes.iter().map(|(n, _)| n).sum();
    (total > INLINE_POLICY_QUOTA).then(|| {
        let each: Vec<String> = sizes.iter().map(|(n, name)| format!("`{name}` {n}")).collect();
        format!(
            "the inline policies total {total} characters ({}), and IAM allows {INLINE_POLICY_QUOTA} per role\n  help: merge statements (one statement can list several actions and resources), or move some into a managed policy",
            each.join(", ")
        )
    })
}

/// What an over-broad statement allows (`` `*` ``, `` `dynamodb:*` ``), if it is one: an
/// `Allow` of every action, or every action of a service, on `Resource: "*"`.
#[must_use]
pub fn over_broad(statement: &Value) -> Option<String> {
    let strings = |key: &str| {
        statement
            .get(key)
            .map(policy::eval::strings)
            .unwrap_or_default()
    };
    if statement.get("Effect").and_then(Value::as_str) != Some("Allow")
        || !strings("Resource").contains(&"*")
    {
        return None;
    }
    let wide: Vec<String> = strings("Action")
        .into_iter()
        .filter(|a| *a == "*" || a.split_once(':').is_some_and(|(_, op)| op == "*"))
        .map(|a| format!("`{a}`"))
        .collect();
    (!wide.is_empty()).then(|| wide.join(", "))
}

/// What differs.
#[must_use]
pub fn diff(wanted: &RoleConfig, live: &RoleLive) -> Vec<FieldDiff> {
    diff_fields(&flatten(wanted), &flatten(&live.config))
}

/// One call of an in-place role update.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleStep {
    /// `UpdateAssumeRolePolicy`.
    Trust(Value),
    /// `UpdateRole` (description and session length).
    Settings {
        /// Description.
        description: String,
        /// Session length.
        max_session_seconds: i32,
    },
    /// `PutRolePolicy` (create or replace), with the template: references are resolved
    /// at apply time.
    PutPolicy(String, Value),
    /// `DeleteRolePolicy`.
    DeletePolicy(String),
    /// `AttachRolePolicy`.
    Attach(String),
    /// `DetachRolePolicy`.
    Detach(String),
    /// `TagRole`.
    Tag(BTreeMap<String, String>),
    /// `UntagRole`.
    Untag(Vec<String>),
}

/// The steps that turn `live` into `wanted`. `templates` are the stack's policies before
/// substitution, sent instead of the resolved ones so apply can fill in late values.
#[must_use]
pub fn update_steps(
    wanted: &RoleConfig,
    templates: &BTreeMap<String, Value>,
    live: &RoleLive,
) -> Vec<RoleStep> {
    // Exhaustive on purpose: a new field fails to compile here until it is applied (or, like the name and path, replaced).
    let RoleConfig {
        name: _,
        path: _,
        trust: _,
        description: _,
        max_session_seconds: _,
        policies: _,
        managed_policies: _,
        tags: _,
    } = wanted;
    let have = &live.config;
    let mut steps = Vec::new();
    if policy::normalize(&wanted.trust) != policy::normalize(&have.trust) {
        steps.push(RoleStep::Trust(wanted.trust.clone()));
    }
    if wanted.description != have.description
        || wanted.max_session_seconds != have.max_session_seconds
    {
        steps.push(RoleStep::Settings {
            description: wanted.description.clone(),
            max_session_seconds: wanted.max_session_seconds,
        });
    }
    for (name, doc) in &wanted.policies {
        let same = have
            .policies
            .get(name)
            .is_some_and(|h| policy::normalize(h) == policy::normalize(doc));
        if !same {
            steps.push(RoleStep::PutPolicy(
                name.clone(),
                templates.get(name).unwrap_or(doc).clone(),
            ));
        }
    }
    for name in have
        .policies
        .keys()
        .filter(|n| !wanted.policies.contains_key(*n))
    {
        steps.push(RoleStep::DeletePolicy(name.clone()));
    }
    // Detach before attach: a role holds at most 10 managed policies, so swapping one on a
    // full role only works in this order.
    for arn in have.managed_policies.difference(&wanted.managed_policies) {
        steps.push(RoleStep::Detach(arn.clone()));
    }
    for arn in wanted.managed_policies.difference(&have.managed_policies) {
        steps.push(RoleStep::Attach(arn.clone()));
    }
    let (to_tag, untag) = super::tag_changes(&wanted.tags, &have.tags);
    if !to_tag.is_empty() {
        steps.push(RoleStep::Tag(to_tag));
    }
    if !untag.is_empty() {
        steps.push(RoleStep::Untag(untag));
    }
    steps
}


/// An IAM role, as the registry knows the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role;

/// What apply must do to one role. Policies are templates: references not known at plan
/// time are filled in at apply time.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleOp {
    /// Create it.
    Create(RoleConfig),
    /// Run these steps.
    Update(Vec<RoleStep>),
    /// Delete it, then create this one.
    Replace(RoleConfig),
    /// Delete it (policies and attachments first).
    Delete,
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn config() -> RoleConfig {
        RoleConfig {
            name: "cruddur-messaging-stream-role".into(),
            path: "/".into(),
            trust: policy::trust_document(&["lambda.amazonaws.com".into()]),
            description: String::new(),
            max_session_seconds: 3600,
            policies: BTreeMap::from([(
                "dynamodb".to_string(),
                serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": ["arn:t"]}]}),
            )]),
            managed_policies: BTreeSet::from([
                "arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB".to_string(),
            ]),
            tags: BTreeMap::new(),
        }
    }

    fn live(config: RoleConfig) -> RoleLive {
        RoleLive {
            config,
            arn: "arn:aws:iam::123456789012:role/cruddur-messaging-stream-role".into(),
            owner: Some("cruddur".into()),
        }
    }

    #[test]
    fn equal_documents_in_another_shape_have_no_diff() {
        let mut have = config();
        have.policies.insert(
            "dynamodb".into(),
            serde_json::json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:t"}}),
        );
        assert_eq!(diff(&config(), &live(have.clone())), vec![]);
        assert_eq!(
            update_steps(&config(), &BTreeMap::new(), &live(have)),
            vec![]
        );
    }

    #[test]
    fn policy_change_is_a_doc_diff_and_one_put() {
        let mut wanted = config();
        wanted.policies.get_mut("dynamodb").unwrap()["Statement"][0]["Action"] =
            serde_json::json!(["dynamodb:Query", "dynamodb:PutItem"]);
        let diffs = diff(&wanted, &live(config()));
        assert_eq!(diffs.len(), 1);
        assert!(matches!(&diffs[0].new, Some(Val::Doc(d)) if d.contains("dynamodb:PutItem")));
        assert!(
            matches!(&update_steps(&wanted, &BTreeMap::new(), &live(config()))[..], [RoleStep::PutPolicy(n, _)] if n == "dynamodb")
        );
    }

    #[test]
    fn attachments_and_inline_policies_are_sets() {
        let mut wanted = config();
        wanted.managed_policies = BTreeSet::from(["arn:new".to_string()]);
        wanted.policies.clear();
        let steps = update_steps(&wanted, &BTreeMap::new(), &live(config()));
        assert_eq!(
            steps,
            vec![
                RoleStep::DeletePolicy("dynamodb".into()),
                RoleStep::Detach("arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB".into()),
                RoleStep::Attach("arn:new".into()),
            ]
        );
    }

    #[test]
    fn swapping_a_managed_policy_on_a_full_role_detaches_first() {
        // Guards issue 8.11: with 10 attached (IAM's quota), attaching the new one first
        // fails with LimitExceeded.
        let full: BTreeSet<String> = (0..10)
            .map(|i| format!("arn:aws:iam::aws:policy/P{i}"))
            .collect();
        let mut have = config();
        have.managed_policies.clone_from(&full);
        let mut wanted = config();
        wanted.managed_policies = full;
        wanted.managed_policies.remove("arn:aws:iam::aws:policy/P0");
        wanted
            .managed_policies
            .insert("arn:aws:iam::aws:policy/New".into());
        assert_eq!(
            update_steps(&wanted, &BTreeMap::new(), &live(have)),
            vec![
                RoleStep::Detach("arn:aws:iam::aws:policy/P0".into()),
                RoleStep::Attach("arn:aws:iam::aws:policy/New".into()),
            ]
        );
    }

    #[test]
    fn inline_policies_past_iams_quota_are_refused_at_plan_time() {
        // Guards issue 8.11: IAM allows 10,240 characters of inline policy per role, all
        // policies together, whitespace not counted.
        let statement = |i: usize| serde_json::json!({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": format!("arn:aws:dynamodb:ca-central-1:123456789012:table/t{i:04}")});
        let doc = |n: usize| serde_json::json!({"Version": "2012-10-17", "Statement": (0..n).map(statement).collect::<Vec<_>>()});
        let small = BTreeMap::from([("a".to_string(), doc(10)), ("b".to_string(), doc(10))]);
        assert_eq!(inline_quota_problem(&small), None);
        let big = BTreeMap::from([("a".to_string(), doc(60)), ("b".to_string(), doc(60))]);
        let message = inline_quota_problem(&big).expect("over the quota");
        assert!(message.contains("IAM allows 10240 per role"), "{message}");
        assert!(
            message.contains("`a` ") && message.contains("`b` "),
            "{message}"
        );
    }

    #[test]
    fn path_change_forces_replacement() {
        let mut wanted = config();
        wanted.path = "/service/".into();
        assert!(
            diff(&wanted, &live(config()))
                .iter()
                .any(FieldDiff::forces_replacement)
        );
    }
}

/// A role as the stack declares it, before references are substituted.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSpec {
    /// Role name.
    pub name: String,
    /// Role path.
    pub path: String,
    /// Services trusted to assume it.
    pub trust: Vec<String>,
    /// Description.
    pub description: String,
    /// Session length.
    pub max_session_seconds: i32,
    /// Inline policy templates (with `${…}` references).
    pub policies: BTreeMap<String, Value>,
    /// Managed policy ARNs.
    pub managed_policies: BTreeSet<String>,
    /// User tags.
    pub tags: BTreeMap<String, String>,
    /// Where its parts are written, for findings.
    pub locs: RoleLocs,
}

/// Where a role's parts are written in the stack file, for the checks' findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleLocs {
    /// Its `trust:` list.
    pub trust: Option<crate::stack::Loc>,
    /// Each inline policy's statements, in order.
    pub statements: BTreeMap<String, Vec<Option<crate::stack::Loc>>>,
    /// Each managed policy ARN.
    pub managed: BTreeMap<String, Option<crate::stack::Loc>>,
}

/// What refresh reads for one declared role: the role, and the documents of the managed
/// policies it attaches that are not bundled (`policy::managed`), for the checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoleState {
    /// The role, when IAM has one of the declared name.
    pub role: Option<RoleLive>,
    /// Documents of the attached managed policies that are not bundled, by ARN (the
    /// default version of each, from `GetPolicy` and `GetPolicyVersion`); `None` when IAM
    /// has no policy of that ARN.
    pub attached: BTreeMap<String, Option<Value>>,
}

#[cfg(test)]
mod properties {
    //! For generated pairs of a wanted and a live role of the same name and path, the diff
    //! is empty exactly when the update steps are empty.

    use proptest::prelude::*;

    use super::*;

    fn doc(actions: &[&str]) -> Value {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
    }

    fn role() -> impl Strategy<Value = RoleConfig> {
        (
            prop::sample::select(vec!["lambda.amazonaws.com", "dax.amazonaws.com"]),
            prop::sample::select(vec!["", "reads the stream"]),
            prop::sample::select(vec![3600, 7200]),
            prop::collection::btree_map(
                prop::sample::select(vec!["dynamodb", "logs"]),
                prop::sample::select(vec![
                    vec!["dynamodb:Query"],
                    vec!["dynamodb:Query", "dynamodb:PutItem"],
                ]),
                0..3,
            ),
            prop::collection::btree_set(
                prop::sample::select(vec![
                    "arn:aws:iam::aws:policy/A",
                    "arn:aws:iam::aws:policy/B",
                ]),
                0..3,
            ),
            prop::collection::btree_map(
                prop::sample::select(vec!["app", "team"]),
                prop::sample::select(vec!["1", "2"]),
                0..3,
            ),
        )
            .prop_map(|(service, description, session, policies, managed, tags)| {
                RoleConfig {
                    name: "r".into(),
                    path: "/".into(),
                    trust: policy::trust_document(&[service.to_string()]),
                    description: description.into(),
                    max_session_seconds: session,
                    policies: policies
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), doc(&v)))
                        .collect(),
                    managed_policies: managed.into_iter().map(String::from).collect(),
                    tags: tags
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                }
            })
    }

    proptest! {
        #[test]
        fn the_diff_is_empty_exactly_when_the_update_steps_are(have in role(), other in role(), k in 0..7u8) {
            // One field at a time from `other`, so a field compared but never applied shows.
            let mut wanted = have.clone();
            match k {
                1 => wanted.trust.clone_from(&other.trust),
                2 => wanted.description.clone_from(&other.description),
                3 => wanted.max_session_seconds = other.max_session_seconds,
                4 => wanted.policies.clone_from(&other.policies),
                5 => wanted.managed_policies.clone_from(&other.managed_policies),
                6 => wanted.tags.clone_from(&other.tags),
                _ => {}
            }
            let live = RoleLive { config: have, arn: "arn:r".into(), owner: Some("s".into()) };
            let steps = update_steps(&wanted, &BTreeMap::new(), &live);
            prop_assert_eq!(diff(&wanted, &live).is_empty(), steps.is_empty(), "{:?}", steps);
        }
    }
}
