//! Turns the raw file into a validated [`Stack`], collecting every problem at once.
//!
//! The rules are AWS's own limits, checked before any call so that `apply` never finds
//! them halfway: name lengths and characters, key types, attribute definitions that keys
//! actually use, capacity present exactly when provisioned, at most 20 indexes.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::Spanned;

use super::Environment;
use super::error::{Diagnostic, Loc};
use super::raw::{RawEnvironment, RawStack, RawStatement};
use crate::engine::Engine;
use serde_json::Value;

use crate::resources::policy::{self, Statement};
use crate::resources::refs::{self, Attr, Ref};
use crate::resources::{Address, OWNER_TAG};

/// AWS's limit on tags per resource (one is the ownership tag).
const MAX_TAGS: usize = 49;

pub(crate) fn loc<T>(s: &Spanned<T>) -> Option<Loc> {
    Loc::from_saphyr(s.referenced)
}

/// What the stack declares, for checking references between resources: every declared
/// address, with the attributes others may refer to (`arn`, `name`, `stream_arn`).
#[derive(Debug, Default)]
pub struct Names {
    exports: BTreeMap<Address, BTreeSet<Attr>>,
}

impl Names {
    /// Records a declared resource and what it exports.
    pub(crate) fn add(&mut self, address: Address, attrs: impl IntoIterator<Item = Attr>) {
        self.exports.entry(address).or_default().extend(attrs);
    }

    /// Whether the stack declares `address`.
    #[must_use]
    pub(crate) fn declares(&self, address: &Address) -> bool {
        self.exports.contains_key(address)
    }

    /// What the declared resource at `address` exports, in order.
    pub(crate) fn attributes(&self, address: &Address) -> impl Iterator<Item = Attr> + '_ {
        self.exports.get(address).into_iter().flatten().copied()
    }

    /// Whether the declared resource at `address` exports `attr`.
    #[must_use]
    pub(crate) fn exports(&self, address: &Address, attr: Attr) -> bool {
        self.exports.get(address).is_some_and(|a| a.contains(&attr))
    }
}

/// Collects diagnostics while building the validated stack.
pub struct Validator {
    problems: Vec<Diagnostic>,
    /// The entry being validated, whose references `uses` records.
    entry: Option<Address>,
    /// The references recorded so far.
    uses: Vec<super::Use>,
}

impl Validator {
    /// Reports every name in `names` seen before, as a second `noun` with that AWS name.
    pub(crate) fn unique_names<'n>(
        &mut self,
        noun: &str,
        names: impl IntoIterator<Item = &'n Spanned<String>>,
    ) {
        let mut seen = BTreeSet::new();
        for n in names {
            if !seen.insert(n.value.clone()) {
                self.error(
                    format!("two {noun}s are named `{}`", n.value),
                    loc(n),
                    format!("each {noun} needs its own AWS name"),
                );
            }
        }
    }

    pub(crate) fn error(
        &mut self,
        message: impl Into<String>,
        at: Option<Loc>,
        help: impl Into<String>,
    ) {
        self.problems.push(Diagnostic::new(message, at, help));
    }

    /// Checks an AWS resource name: `min..=max` characters of `A-Za-z0-9_.-`.
    pub(crate) fn aws_name(&mut self, what: &str, name: &Spanned<String>, min: usize, max: usize) {
        let value = &name.value;
        let bad: BTreeSet<char> = value
            .chars()
            .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
            .collect();
        let len = value.chars().count();
        if len < min || len > max {
            self.error(
                format!("{what} `{value}` is {len} characters long"),
                loc(name),
                format!("a {what} has {min} to {max} characters of `A-Za-z0-9_.-`"),
            );
        } else if !bad.is_empty() {
            let shown: String = bad.into_iter().collect();
            self.error(
                format!("{what} `{value}` contains characters AWS does not allow: `{shown}`"),
                loc(name),
                format!("a {what} may only use letters, digits, `_`, `.` and `-`"),
            );
        }
    }

    pub(crate) fn logical_name(&mut self, kind: &str, name: &Spanned<String>) {
        let ok = !name.value.is_empty()
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if !ok {
            self.error(
                format!(
                    "logical name `{}` of this {kind} is not a valid name",
                    name.value
                ),
                loc(name),
                "logical names use letters, digits, `_` and `-`, like `messages`",
            );
        }
    }

    fn environment(
        &mut self,
        name: &Spanned<String>,
        env: &Spanned<RawEnvironment>,
    ) -> Environment {
        self.logical_name("environment", name);
        let e = &env.value;
        if let Some(url) = &e.endpoint_url
            && !(url.value.starts_with("http://") || url.value.starts_with("https://"))
        {
            self.error(
                format!("endpoint `{}` is not an http(s) URL", url.value),
                loc(url),
                "write it as a full URL, like `http://127.0.0.1:4566`",
            );
        }
        if let Some(region) = &e.region {
            let parts: Vec<&str> = region.value.split('-').collect();
            let plausible = parts.len() >= 3
                && parts.iter().all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                })
                && parts
                    .last()
                    .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
            if !plausible {
                self.error(
                    format!("region `{}` is not an AWS region name", region.value),
                    loc(region),
                    "use a region code such as `ca-central-1` or `us-east-1`",
                );
            }
        }
        let engine = match &e.engine {
            None => Engine::Aws,
            Some(raw) => Engine::parse(&raw.value).unwrap_or_else(|| {
                let known: Vec<String> = Engine::ALL.iter().map(|e| format!("`{e}`")).collect();
                self.error(
                    format!("engine `{}` is not one this tool knows", raw.value),
                    loc(raw),
                    format!(
                        "write one of {} (`aws` covers AWS and the moto emulator)",
                        known.join(", ")
                    ),
                );
                Engine::Aws
            }),
        };
        // DynamoDB Local only ever runs on an endpoint of its own; without one, the SDK
        // would send this environment's calls to AWS itself.
        if engine == Engine::DynamodbLocal && e.endpoint_url.is_none() {
            self.error(
                format!("environment `{}` runs on DynamoDB Local but names no endpoint", name.value),
                loc(name),
                "add `endpoint_url: http://127.0.0.1:8000` (where `scripts/local-aws start dynamodb-local` runs it)",
            );
        }
        let enable = self.switches(e.enable.as_ref());
        let disable = self.switches(e.disable.as_ref());
        for (address, at) in &disable {
            if enable.iter().any(|(a, _)| a == address) {
                self.error(
                    format!(
                        "`{address}` is both enabled and disabled in environment `{}`",
                        name.value
                    ),
                    *at,
                    "keep it in one of `enable:` and `disable:`",
                );
            }
        }
        Environment {
            enable,
            disable,
            region: e.region.as_ref().map(|r| r.value.clone()),
            endpoint_url: e.endpoint_url.as_ref().map(|r| r.value.clone()),
            profile: e.profile.as_ref().map(|r| r.value.clone()),
            engine,
        }
    }

    /// An environment's `enable:` or `disable:` list: addresses written `kind.name`.
    fn switches(
        &mut self,
        raw: Option<&Spanned<Vec<Spanned<String>>>>,
    ) -> Vec<(Address, Option<Loc>)> {
        let mut out = Vec::new();
        for item in raw.map(|r| r.value.as_slice()).unwrap_or_default() {
            let parsed = item
                .value
                .split_once('.')
                .and_then(|(kind, name)| Some((crate::resources::Kind::parse(kind)?, name)));
            match parsed {
                Some((kind, name)) if !name.is_empty() => {
                    out.push((Address::new(kind, name), loc(item)));
                }
                _ => self.error(
                    format!("`{}` is not a resource address", item.value),
                    loc(item),
                    "write the kind and the logical name, like `role.dax` or `table.messages`",
                ),
            }
        }
        out
    }

    pub(crate) fn tags(
        &mut self,
        raw: &super::raw::SpannedMap<Spanned<String>>,
    ) -> BTreeMap<String, String> {
        if raw.0.len() > MAX_TAGS {
            self.error(
                format!("{} tags declared", raw.0.len()),
                loc(&raw.0[MAX_TAGS].0),
                format!(
                    "AWS allows 50 tags per resource and the tool sets one: keep at most {MAX_TAGS}"
                ),
            );
        }
        let mut tags = BTreeMap::new();
        for (k, v) in &raw.0 {
            if k.value == OWNER_TAG || k.value.starts_with("aws:") {
                self.error(
                    format!("tag `{}` is reserved", k.value),
                    loc(k),
                    format!("`{OWNER_TAG}` is set by cruddur-infra and `aws:` tags by AWS: use another key"),
                );
            } else if k.value.is_empty() || k.value.chars().count() > 128 {
                self.error(
                    "tag keys have 1 to 128 characters",
                    loc(k),
                    "shorten the key",
                );
            } else if v.value.chars().count() > 256 {
                self.error(
                    "tag values have at most 256 characters",
                    loc(v),
                    "shorten the value",
                );
            }
            tags.insert(k.value.clone(), v.value.clone());
        }
        tags
    }

    pub(crate) fn int_in(&mut self, what: &str, v: &Spanned<i64>, min: i64, max: i64) -> i32 {
        if v.value < min || v.value > max {
            self.error(
                format!("{what} is `{}`", v.value),
                loc(v),
                format!("use a value from {min} to {max}"),
            );
        }
        v.value.clamp(min, max) as i32
    }

    pub(crate) fn one_of(&mut self, what: &str, v: &Spanned<String>, allowed: &[&str]) -> String {
        let upper = v.value.clone();
        if !allowed.contains(&upper.as_str()) {
            let list: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
            self.error(
                format!("{what} `{}` is not one AWS accepts", v.value),
                loc(v),
                format!("use one of {}", list.join(", ")),
            );
        }
        upper
    }

    /// Starts validating the entry at `address`: the references reported from now on are
    /// its own.
    pub(crate) fn entry(&mut self, address: &Address) {
        self.entry = Some(address.clone());
    }

    /// Records that the entry being validated refers to `to` (by `${…}` or by a logical
    /// name), written at `at`.
    pub(crate) fn uses(&mut self, to: &Address, at: Option<Loc>) {
        if let Some(from) = &self.entry
            && from != to
        {
            self.uses.push(super::Use {
                from: from.clone(),
                to: to.clone(),
                loc: at,
            });
        }
    }

    /// The references recorded, leaving none.
    pub(crate) fn take_uses(&mut self) -> Vec<super::Use> {
        self.entry = None;
        std::mem::take(&mut self.uses)
    }

    /// Checks every `${…}` reference in `text` against the declared resources.
    pub(crate) fn references(&mut self, text: &Spanned<String>, declared: &Names) {
        match refs::parse(&text.value) {
            Err(e) => self.error(e, loc(text), "references look like `${table.messages.arn}`"),
            Ok(found) => {
                for r in found {
                    let Ref::Attribute(address, attr) = &r else {
                        continue;
                    };
                    let exists = declared.declares(address);
                    if !exists {
                        self.error(
                            format!("`${{{r}}}` refers to `{address}`, which this stack does not declare"),
                            loc(text),
                            format!("declare `{}` under `{}s:`, or fix the name", address.name, address.kind.as_str()),
                        );
                    } else if *attr == Attr::StreamArn
                        && !declared.exports(address, Attr::StreamArn)
                    {
                        self.error(
                            format!("`${{{r}}}` refers to a stream, but `{address}` has none"),
                            loc(text),
                            "turn the table's stream on (`stream: NEW_IMAGE`), or refer to its `arn`",
                        );
                    } else if !declared.exports(address, *attr) {
                        let offered: Vec<String> = declared
                            .attributes(address)
                            .map(|a| format!("`{}`", a.as_str()))
                            .collect();
                        self.error(
                            format!(
                                "`${{{r}}}` refers to `{}`, which `{address}` does not offer",
                                attr.as_str()
                            ),
                            loc(text),
                            if offered.is_empty() {
                                format!(
                                    "nothing refers to a {}: remove the reference",
                                    address.kind.as_str()
                                )
                            } else {
                                format!("refer to one of {}", offered.join(", "))
                            },
                        );
                    }
                    self.uses(address, loc(text));
                }
            }
        }
    }

    pub(crate) fn statements(
        &mut self,
        raw: &[Spanned<RawStatement>],
        declared: &Names,
        principal_allowed: bool,
    ) -> Value {
        let mut out = Vec::new();
        for s in raw {
            let st = &s.value;
            let effect = st.effect.value.to_ascii_lowercase();
            if effect != "allow" && effect != "deny" {
                self.error(
                    format!("effect `{}` is not `Allow` or `Deny`", st.effect.value),
                    loc(&st.effect),
                    "use `Allow` or `Deny`",
                );
            }
            if st.actions.value.is_empty() {
                self.error(
                    "statement has no actions",
                    loc(&st.actions),
                    "list actions like `dynamodb:Query`, or `*`",
                );
            }
            for a in &st.actions.value {
                if a.value != "*" && !a.value.contains(':') {
                    self.error(
                        format!("action `{}` has no service prefix", a.value),
                        loc(a),
                        "write actions as `service:Action`, like `dynamodb:PutItem`",
                    );
                }
            }
            if st.resources.value.is_empty() {
                self.error(
                    "statement has no resources",
                    loc(&st.resources),
                    "list ARNs, references like `${table.messages.arn}`, or `*`",
                );
            }
            for r in &st.resources.value {
                self.references(r, declared);
            }
            match (&st.principal, principal_allowed) {
                (Some(p), false) => self.error(
                    "a role's inline policy cannot name a principal",
                    loc(p),
                    "remove `principal`: the role itself is the principal (use `trust:` for who may assume it)",
                ),
                (None, true) => self.error(
                    "an endpoint policy statement needs a principal",
                    loc(&s.value.effect),
                    "add `principal: \"*\"` (or a mapping like `{AWS: [arn]}`)",
                ),
                _ => {}
            }
            out.push(Statement {
                sid: st.sid.as_ref().map(|s| s.value.clone()),
                allow: effect != "deny",
                principal: st.principal.as_ref().map(|p| p.value.clone()),
                actions: st.actions.value.iter().map(|a| a.value.clone()).collect(),
                resources: st.resources.value.iter().map(|r| r.value.clone()).collect(),
                conditions: st.conditions.as_ref().map(|c| c.value.clone()),
            });
        }
        policy::document(&out)
    }

    /// A role's name: 1–64 of `A-Za-z0-9+=,.@_-`.
    pub(crate) fn iam_name(&mut self, what: &str, name: &Spanned<String>, max: usize) {
        let ok = !name.value.is_empty()
            && name.value.len() <= max
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if !ok {
            self.error(
                format!("{what} `{}` is not valid", name.value),
                loc(name),
                format!("use 1 to {max} of `A-Za-z0-9+=,.@_-`"),
            );
        }
    }
}

/// The stack's own parts, validated: its name and its environments (each kind's entries are
/// the registry's, which calls back into this module's checks).
pub(super) fn stack_level(
    v: &mut Validator,
    raw: &RawStack,
) -> (BTreeMap<String, Environment>, Option<Loc>) {
    let name = &raw.name;
    let name_ok = !name.value.is_empty()
        && name.value.len() <= 128
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if !name_ok {
        v.error(
            format!("stack name `{}` cannot be used in a tag value", name.value),
            loc(name),
            "use 1 to 128 letters, digits, `_` or `-`, like `cruddur`",
        );
    }
    let mut environments = BTreeMap::new();
    for (env_name, env) in &raw.environments.value.0 {
        let env = v.environment(env_name, env);
        environments.insert(env_name.value.clone(), env);
    }
    if environments.is_empty() {
        v.error(
            "the stack declares no environment",
            loc(&raw.environments),
            "declare one, like `local: { endpoint_url: http://127.0.0.1:4566, region: ca-central-1 }`",
        );
    }
    (environments, loc(&raw.environments))
}

/// Checks that every address an environment enables or disables is declared.
pub(super) fn switches_declared(
    v: &mut Validator,
    environments: &BTreeMap<String, Environment>,
    stack: &super::Stack,
) {
    let declared = crate::resources::declared_resources(stack);
    for (name, env) in environments {
        for (address, at) in env.enable.iter().chain(&env.disable) {
            if !declared.iter().any(|(a, _, _)| a == address) {
                v.error(
                    format!(
                        "environment `{name}` names `{address}`, which this stack does not declare"
                    ),
                    *at,
                    "use the address of a declared resource, `kind.logical_name`",
                );
            }
        }
    }
}

impl Validator {
    /// A validator with no problems yet.
    pub(super) fn new() -> Self {
        Self {
            problems: Vec::new(),
            entry: None,
            uses: Vec::new(),
        }
    }

    /// `value` when nothing was reported, else every problem, in file order.
    pub(super) fn finish<T>(mut self, value: T) -> Result<T, Vec<Diagnostic>> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            self.problems
                .sort_by_key(|d| d.loc.map(|l| (l.line, l.column)));
            Err(self.problems)
        }
    }
}
