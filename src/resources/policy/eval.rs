//! A small evaluator of identity-based IAM policies: may one role do this action on this
//! resource? Pure; it follows AWS's documented evaluation logic for a request inside one
//! account, with no resource policy, permissions boundary, session policy or SCP in play:
//!
//! - an explicit `Deny` that applies overrides every `Allow`;
//! - without an applying `Allow`, the request is implicitly denied;
//! - `Action`/`NotAction` patterns match case-insensitively, with `*` and `?`;
//! - `Resource`/`NotResource` patterns match case-sensitively, with `*` and `?` inside the
//!   colon-separated ARN segments (a `*` at the end of a segment may run past the colon);
//! - a statement with a `Condition` block is never taken as applying or not: conditions
//!   depend on the request (tags, source IP, time), which a plan cannot know, so a result
//!   resting on one says so (`ConditionallyAllowed`, `ConditionallyDenied`).
//!
//! `iam-rs` (docs.rs) was considered first: it evaluates conditions against a request
//! context, so a condition whose keys a plan cannot know makes a statement simply not
//! apply, and a plan could not tell "denied" from "allowed only if". This evaluator keeps
//! that third answer, which every finding resting on a condition needs.

use serde_json::Value;

/// The account of a request whose account is not known (`validate`, which makes no AWS
/// call): the ARN segment it fills matches any pattern's segment.
pub const UNKNOWN_ACCOUNT: &str = "<account>";

/// The region of a request whose region is not known, like `UNKNOWN_ACCOUNT`.
pub const UNKNOWN_REGION: &str = "<region>";

/// One policy document and what messages call it (an inline policy's name, a managed ARN).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// How findings name it.
    pub label: &'a str,
    /// The document (`Version`, `Statement`).
    pub document: &'a Value,
}

/// The answer for one action on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An allow without a condition applies, and no deny does.
    Allowed,
    /// Only allows with conditions apply: allowed only when a condition holds.
    ConditionallyAllowed {
        /// The statements that would allow it (`label` statement `n`).
        by: Vec<String>,
    },
    /// Allowed, unless the condition of a deny that applies holds.
    ConditionallyDenied {
        /// The conditional deny statements.
        by: Vec<String>,
    },
    /// A deny without a condition applies: nothing can allow it.
    ExplicitDeny {
        /// The deny statements.
        by: Vec<String>,
    },
    /// No statement allows it.
    ImplicitDeny,
}

impl Decision {
    /// Whether the request is allowed whatever the conditions say.
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        *self == Decision::Allowed
    }

    /// Whether it may be allowed (at least when some condition holds).
    #[must_use]
    pub fn may_be_allowed(&self) -> bool {
        matches!(
            self,
            Decision::Allowed
                | Decision::ConditionallyAllowed { .. }
                | Decision::ConditionallyDenied { .. }
        )
    }
}

/// What one statement says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applies {
    /// It does not match the request.
    No,
    /// It matches and has no condition.
    Yes,
    /// It matches, but only applies when its condition holds.
    IfCondition,
}

/// The strings of a string-or-list policy value (`"Action": "s3:*"` or `["s3:*"]`).
pub(crate) fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a statement's action element (`Action` or `NotAction`) matches `action`.
fn action_matches(statement: &serde_json::Map<String, Value>, action: &str) -> bool {
    if let Some(v) = statement.get("Action") {
        strings(v).iter().any(|p| action_pattern(p, action))
    } else if let Some(v) = statement.get("NotAction") {
        !strings(v).iter().any(|p| action_pattern(p, action))
    } else {
        false
    }
}

/// Whether a statement's resource element (`Resource` or `NotResource`) matches `arn`: for
/// certain, perhaps (only through a pattern with a `${…}` policy variable, which takes its
/// value from the request, when `variables`), or not.
fn resource_matches(
    statement: &serde_json::Map<String, Value>,
    variables: bool,
    arn: &str,
) -> Applies {
    let variable = |p: &str| variables && p.contains("${");
    // Whether a literal pattern matches, and whether a variable one could.
    let matched = |patterns: &[&str]| {
        let literal = patterns
            .iter()
            .any(|p| !variable(p) && resource_pattern(p, arn));
        let perhaps = patterns
            .iter()
            .any(|p| variable(p) && resource_pattern(&without_variables(p), arn));
        (literal, perhaps)
    };
    if let Some(v) = statement.get("Resource") {
        match matched(&strings(v)) {
            (true, _) => Applies::Yes,
            (false, true) => Applies::IfCondition,
            (false, false) => Applies::No,
        }
    } else if let Some(v) = statement.get("NotResource") {
        match matched(&strings(v)) {
            (true, _) => Applies::No,
            (false, true) => Applies::IfCondition,
            (false, false) => Applies::Yes,
        }
    } else {
        Applies::No
    }
}

/// `pattern` with each `${…}` policy variable replaced by `*`.
fn without_variables(pattern: &str) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        out.push('*');
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether one statement applies to `action` on `arn`. In a `2012-10-17` document a
/// policy variable (`${aws:username}`) in the resource element takes its value from the
/// request, so, like a condition, it makes a statement that matches only through it apply
/// perhaps (AWS's `2008-10-17` reads it as literal text).
fn applies(
    statement: &serde_json::Map<String, Value>,
    variables: bool,
    action: &str,
    arn: &str,
) -> Applies {
    if !action_matches(statement, action) {
        return Applies::No;
    }
    let resource = resource_matches(statement, variables, arn);
    let conditional = matches!(statement.get("Condition"), Some(Value::Object(c)) if !c.is_empty());
    match resource {
        Applies::No => Applies::No,
        Applies::Yes if !conditional => Applies::Yes,
        Applies::Yes | Applies::IfCondition => Applies::IfCondition,
    }
}

/// The statements of a document, numbered from 1 as a reader counts them.
fn statements(document: &Value) -> Vec<(usize, &serde_json::Map<String, Value>)> {
    let list: Vec<&Value> = match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    list.into_iter()
        .enumerate()
        .filter_map(|(i, s)| s.as_object().map(|m| (i + 1, m)))
        .collect()
}

/// Evaluates `action` on `arn` against every policy in `sources`, which together are the
/// identity's policies (AWS joins them: order and grouping carry no meaning).
#[must_use]
pub fn evaluate(sources: &[Source<'_>], action: &str, arn: &str) -> Decision {
    let mut deny = Vec::new();
    let mut deny_if = Vec::new();
    let mut allow = false;
    let mut allow_if = Vec::new();
    for source in sources {
        let variables =
            source.document.get("Version").and_then(Value::as_str) == Some("2012-10-17");
        for (n, statement) in statements(source.document) {
            let name = || match statement.get("Sid").and_then(Value::as_str) {
                Some(sid) if !sid.is_empty() => format!("{} statement `{sid}`", source.label),
                _ => format!("{} statement {n}", source.label),
            };
            let effect = statement.get("Effect").and_then(Value::as_str);
            // IAM refuses any effect but these two when a policy is stored.
            match (effect, applies(statement, variables, action, arn)) {
                (Some("Deny"), Applies::Yes) => deny.push(name()),
                (Some("Deny"), Applies::IfCondition) => deny_if.push(name()),
                (Some("Allow"), Applies::Yes) => allow = true,
                (Some("Allow"), Applies::IfCondition) => allow_if.push(name()),
                _ => {}
            }
        }
    }
    // A deny that applies only under a condition matters only against a certain allow:
    // with no allow, or only conditional ones, the request is denied or conditional anyway.
    if !deny.is_empty() {
        Decision::ExplicitDeny { by: deny }
    } else if allow && !deny_if.is_empty() {
        Decision::ConditionallyDenied { by: deny_if }
    } else if allow {
        Decision::Allowed
    } else if !allow_if.is_empty() {
        Decision::ConditionallyAllowed { by: allow_if }
    } else {
        Decision::ImplicitDeny
    }
}

/// Whether the action pattern `pattern` (`dynamodb:Get*`, `*`) matches `action`. Action
/// names and service prefixes are case-insensitive in IAM.
#[must_use]
pub fn action_pattern(pattern: &str, action: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let a: Vec<char> = action.to_ascii_lowercase().chars().collect();
    glob(&p, &a, &|_| true)
}

/// Whether the resource pattern `pattern` matches the ARN `arn`.
///
/// IAM splits an ARN into segments at its first five colons (`arn`, partition, service,
/// region, account, resource). `*` and `?` match within a segment; a `*` that is the last
/// character of one of the first five segments may match past the colon; in the resource
/// segment, which holds colons of its own (`log-group:/aws/lambda/x:*`), `*` matches
/// anything. ARNs are case-sensitive. A request segment that is `UNKNOWN_ACCOUNT` or
/// `UNKNOWN_REGION` matches any pattern segment.
#[must_use]
pub fn resource_pattern(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let (pattern, arn) = with_unknown_segments(pattern, arn);
    let p: Vec<char> = pattern.chars().collect();
    let a: Vec<char> = arn.chars().collect();
    // For each `*` or `?` of the pattern, whether it may take a `:`: anything in the
    // resource segment may; before it, only a `*` that ends its segment.
    let crossing: Vec<bool> = {
        let mut colons = 0;
        p.iter()
            .enumerate()
            .map(|(i, c)| {
                if *c == ':' {
                    colons += 1;
                }
                colons >= 5 || (*c == '*' && p.get(i + 1).is_none_or(|next| *next == ':'))
            })
            .collect()
    };
    glob(&p, &a, &|i| crossing[i])
}

/// `pattern` and `arn` with every unknown segment of `arn` made to match: that segment of
/// the pattern becomes `*` and the request's a placeholder without a colon.
fn with_unknown_segments(pattern: &str, arn: &str) -> (String, String) {
    let mut a: Vec<&str> = arn.splitn(6, ':').collect();
    let mut p: Vec<&str> = pattern.splitn(6, ':').collect();
    if a.len() < 6 {
        return (pattern.to_string(), arn.to_string());
    }
    for i in [3, 4] {
        if a[i] == UNKNOWN_ACCOUNT || a[i] == UNKNOWN_REGION {
            a[i] = "x";
            // A pattern that ends before this segment (`arn:aws:logs:*`) keeps its own end.
            if i + 1 < p.len() {
                p[i] = "*";
            }
        }
    }
    (p.join(":"), a.join(":"))
}

/// Matches `text` against `pattern`, where `*` matches any run of characters and `?` any
/// one (neither takes a `:` where `crosses(i)` denies it for the wildcard at `i`).
/// Recursive and memoized on (pattern position, text position): O(pattern × text), for
/// patterns and ARNs of a few hundred characters at most.
fn glob(pattern: &[char], text: &[char], crosses: &dyn Fn(usize) -> bool) -> bool {
    // Memoized over (pattern position, text position): patterns and ARNs are short.
    let mut memo = vec![None; (pattern.len() + 1) * (text.len() + 1)];
    glob_at(pattern, text, 0, 0, crosses, &mut memo)
}

fn glob_at(
    pattern: &[char],
    text: &[char],
    pi: usize,
    ti: usize,
    crosses: &dyn Fn(usize) -> bool,
    memo: &mut Vec<Option<bool>>,
) -> bool {
    let key = pi * (text.len() + 1) + ti;
    if let Some(known) = memo[key] {
        return known;
    }
    let result = match pattern.get(pi) {
        None => ti == text.len(),
        Some('*') => {
            // Take nothing, or one more character and stay on the `*`.
            glob_at(pattern, text, pi + 1, ti, crosses, memo)
                || text.get(ti).is_some_and(|c| *c != ':' || crosses(pi))
                    && glob_at(pattern, text, pi, ti + 1, crosses, memo)
        }
        Some('?') => {
            text.get(ti).is_some_and(|c| *c != ':' || crosses(pi))
                && glob_at(pattern, text, pi + 1, ti + 1, crosses, memo)
        }
        Some(c) => text.get(ti) == Some(c) && glob_at(pattern, text, pi + 1, ti + 1, crosses, memo),
    };
    memo[key] = Some(result);
    result
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
