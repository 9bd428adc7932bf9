//! Validation of roles, functions, stream mappings and VPC endpoints, including the
//! references between resources (`role: stream`, `${table.messages.arn}`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use serde_saphyr::Spanned;

use super::raw::{
    OneOrMany, RawEndpoint, RawFunction, RawMapping, RawRole, RawStatement, SpannedMap,
};
use super::validate::{Validator, loc};
use crate::resources::event_source_mapping::{MappingSpec, normalize_pattern};
use crate::resources::iam_role::RoleSpec;
use crate::resources::lambda_function::{FunctionSpec, Selection};
use crate::resources::policy::{self, Statement};
use crate::resources::refs::{self, Attr, Ref};
use crate::resources::vpc_endpoint::{EndpointSpec, RouteTables, VpcChoice};
use crate::resources::{Address, Kind};

/// IAM's default quota of managed policies attached to one role.
const MAX_MANAGED_POLICIES: usize = 10;

/// Runtimes Lambda accepts for new functions (deprecated ones are refused by AWS).
const RUNTIMES: &[&str] = &[
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "java11",
    "java17",
    "java21",
    "dotnet8",
    "ruby3.3",
    "ruby3.4",
    "provided.al2",
    "provided.al2023",
];

/// Environment variable names Lambda reserves for itself.
const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// The logical names the stack declares, for checking references.
pub(super) struct Declared {
    /// Tables, with whether each has a stream.
    pub tables: BTreeMap<String, bool>,
    /// Roles.
    pub roles: BTreeSet<String>,
    /// Functions.
    pub functions: BTreeSet<String>,
}

impl Validator {
    fn int_in(&mut self, what: &str, v: &Spanned<i64>, min: i64, max: i64) -> i32 {
        if v.value < min || v.value > max {
            self.error(
                format!("{what} is `{}`", v.value),
                loc(v),
                format!("use a value from {min} to {max}"),
            );
        }
        v.value.clamp(min, max) as i32
    }

    fn one_of(&mut self, what: &str, v: &Spanned<String>, allowed: &[&str]) -> String {
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

    /// Checks every `${…}` reference in `text` against the declared resources.
    fn references(&mut self, text: &Spanned<String>, declared: &Declared) {
        match refs::parse(&text.value) {
            Err(e) => self.error(e, loc(text), "references look like `${table.messages.arn}`"),
            Ok(found) => {
                for r in found {
                    let Ref::Attribute(address, attr) = &r else {
                        continue;
                    };
                    let exists = match address.kind {
                        Kind::Table => declared.tables.contains_key(&address.name),
                        Kind::Role => declared.roles.contains(&address.name),
                        Kind::Function => declared.functions.contains(&address.name),
                        _ => false,
                    };
                    if !exists {
                        self.error(
                            format!("`${{{r}}}` refers to `{address}`, which this stack does not declare"),
                            loc(text),
                            format!("declare `{}` under `{}s:`, or fix the name", address.name, address.kind.as_str()),
                        );
                    } else if *attr == Attr::StreamArn
                        && (address.kind != Kind::Table
                            || declared.tables.get(&address.name) == Some(&false))
                    {
                        self.error(
                            format!("`${{{r}}}` refers to a stream, but `{address}` has none"),
                            loc(text),
                            "turn the table's stream on (`stream: NEW_IMAGE`), or refer to its `arn`",
                        );
                    }
                }
            }
        }
    }

    fn statements(
        &mut self,
        raw: &[Spanned<RawStatement>],
        declared: &Declared,
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
    fn iam_name(&mut self, what: &str, name: &Spanned<String>, max: usize) {
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

    pub(super) fn role(&mut self, raw: &Spanned<RawRole>, declared: &Declared) -> RoleSpec {
        let r = &raw.value;
        self.iam_name("role name", &r.name, 64);
        let path = r
            .path
            .as_ref()
            .map_or_else(|| "/".to_string(), |p| p.value.clone());
        if let Some(p) = &r.path
            && !(p.value.starts_with('/') && p.value.ends_with('/'))
        {
            self.error(
                format!("role path `{}` must start and end with `/`", p.value),
                loc(p),
                "use `/` or a path like `/service/`",
            );
        }
        if r.trust.value.is_empty() {
            self.error(
                "the role trusts no service",
                loc(&r.trust),
                "list who may assume it, like `[lambda.amazonaws.com]`",
            );
        }
        for t in &r.trust.value {
            if !t.value.ends_with(".amazonaws.com") {
                self.error(
                    format!("`{}` is not a service principal", t.value),
                    loc(t),
                    "service principals look like `lambda.amazonaws.com`",
                );
            }
        }
        let max_session_seconds = r
            .max_session_seconds
            .as_ref()
            .map_or(3600, |m| self.int_in("max_session_seconds", m, 3600, 43200));
        let mut policies = BTreeMap::new();
        for (name, statements) in &r.policies.0 {
            self.iam_name("policy name", name, 128);
            if statements.value.is_empty() {
                self.error(
                    format!("policy `{}` has no statements", name.value),
                    loc(statements),
                    "add a statement or remove the policy",
                );
            }
            policies.insert(
                name.value.clone(),
                self.statements(&statements.value, declared, false),
            );
        }
        let mut managed_policies = BTreeSet::new();
        for m in &r.managed_policies {
            if !m.value.starts_with("arn:aws:iam::") || !m.value.contains(":policy/") {
                self.error(
                    format!("`{}` is not a managed policy ARN", m.value),
                    loc(m),
                    "use an ARN like `arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB`",
                );
            }
            managed_policies.insert(m.value.clone());
        }
        if let Some(extra) = r.managed_policies.get(MAX_MANAGED_POLICIES) {
            self.error(
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
            tags: self.tags(&r.tags),
        }
    }

    fn selection(&mut self, what: &str, raw: &Spanned<OneOrMany>, prefix: &str) -> Selection {
        match &raw.value {
            OneOrMany::One(s) if s == "default" => Selection::Default,
            OneOrMany::One(s) => {
                self.error(
                    format!("{what} `{s}` is not `default` or a list"),
                    loc(raw),
                    format!("write `default`, or a list of `{prefix}…` ids"),
                );
                Selection::Default
            }
            OneOrMany::Many(ids) => {
                if ids.is_empty() || ids.iter().any(|i| !i.starts_with(prefix)) {
                    self.error(
                        format!("{what} must be `{prefix}…` ids"),
                        loc(raw),
                        format!("list ids like `{prefix}0123456789abcdef0`, or write `default`"),
                    );
                }
                Selection::Ids(ids.iter().cloned().collect())
            }
        }
    }

    fn env_vars(
        &mut self,
        raw: &SpannedMap<Spanned<String>>,
        declared: &Declared,
        out: &mut BTreeMap<String, String>,
    ) {
        for (k, v) in &raw.0 {
            let valid = k
                .value
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && k.value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                self.error(
                    format!("environment variable name `{}` is not valid", k.value),
                    loc(k),
                    "start with a letter; use letters, digits and `_`",
                );
            } else if RESERVED_ENV.contains(&k.value.as_str()) {
                self.error(format!("`{}` is reserved by Lambda", k.value), loc(k), "Lambda sets it itself (the region comes from AWS_REGION): remove it or rename it");
            }
            if out.contains_key(&k.value) {
                self.error(
                    format!("environment variable `{}` is set twice", k.value),
                    loc(k),
                    "set it in `environment` or `secret_environment`, not both",
                );
            }
            self.references(v, declared);
            out.insert(k.value.clone(), v.value.clone());
        }
    }

    pub(super) fn function(
        &mut self,
        raw: &Spanned<RawFunction>,
        declared: &Declared,
        base: &Path,
    ) -> FunctionSpec {
        let f = &raw.value;
        let name_ok = !f.name.value.is_empty()
            && f.name.value.len() <= 64
            && f.name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            self.error(
                format!("function name `{}` is not valid", f.name.value),
                loc(&f.name),
                "use 1 to 64 of `A-Za-z0-9-_`",
            );
        }
        let runtime = self.one_of("runtime", &f.runtime, RUNTIMES);
        if f.handler.value.is_empty() {
            self.error(
                "the handler is empty",
                loc(&f.handler),
                "name the entry point, like `lambda_function.lambda_handler`",
            );
        }
        if !declared.roles.contains(&f.role.value) {
            self.error(
                format!("role `{}` is not declared in this stack", f.role.value),
                loc(&f.role),
                format!("declare it under `roles:` (as `{}:`), or use the logical name of a declared role", f.role.value),
            );
        }
        let architecture = f.architecture.as_ref().map_or_else(
            || "x86_64".to_string(),
            |a| self.one_of("architecture", a, &["x86_64", "arm64"]),
        );
        let mut environment = BTreeMap::new();
        self.env_vars(&f.environment, declared, &mut environment);
        self.env_vars(&f.secret_environment, declared, &mut environment);
        let vpc = f.vpc.as_ref().map(|v| {
            (
                self.selection("subnets", &v.value.subnets, "subnet-"),
                self.selection("security_groups", &v.value.security_groups, "sg-"),
            )
        });
        FunctionSpec {
            name: f.name.value.clone(),
            runtime,
            handler: f.handler.value.clone(),
            source: normalize_path(&base.join(&f.source.value)),
            role: Address::new(Kind::Role, &f.role.value),
            memory: f
                .memory
                .as_ref()
                .map_or(128, |m| self.int_in("memory", m, 128, 10240)),
            timeout: f
                .timeout
                .as_ref()
                .map_or(3, |t| self.int_in("timeout", t, 1, 900)),
            description: f
                .description
                .as_ref()
                .map(|d| d.value.clone())
                .unwrap_or_default(),
            architecture,
            environment,
            secrets: f
                .secret_environment
                .0
                .iter()
                .map(|(k, _)| k.value.clone())
                .collect(),
            vpc,
            keep_logs: f.keep_logs.as_ref().is_some_and(|k| k.value),
            tags: self.tags(&f.tags),
        }
    }

    pub(super) fn mapping(
        &mut self,
        raw: &Spanned<RawMapping>,
        declared: &Declared,
    ) -> MappingSpec {
        let m = &raw.value;
        match declared.tables.get(&m.table.value) {
            None => self.error(
                format!("table `{}` is not declared in this stack", m.table.value),
                loc(&m.table),
                "use the logical name of a table under `tables:`",
            ),
            Some(false) => self.error(
                format!("table `{}` has no stream to read", m.table.value),
                loc(&m.table),
                "turn its stream on with `stream: NEW_IMAGE` (or another view type)",
            ),
            Some(true) => {}
        }
        if !declared.functions.contains(&m.function.value) {
            self.error(
                format!(
                    "function `{}` is not declared in this stack",
                    m.function.value
                ),
                loc(&m.function),
                "use the logical name of a function under `functions:`",
            );
        }
        let starting_position = m.starting_position.as_ref().map_or_else(
            || "LATEST".to_string(),
            |s| {
                if s.value == "AT_TIMESTAMP" {
                    self.error(
                        "`AT_TIMESTAMP` is not valid for DynamoDB streams",
                        loc(s),
                        "use `LATEST` or `TRIM_HORIZON`",
                    );
                    return s.value.clone();
                }
                self.one_of("starting_position", s, &["LATEST", "TRIM_HORIZON"])
            },
        );
        let mut filter_patterns = BTreeSet::new();
        for p in &m.filter_patterns {
            if !serde_json::from_str::<Value>(&p.value).is_ok_and(|v| v.is_object()) {
                self.error(
                    "filter pattern is not a JSON object",
                    loc(p),
                    r#"write it as JSON, like '{"eventName": ["INSERT"]}'"#,
                );
            }
            filter_patterns.insert(normalize_pattern(&p.value));
        }
        MappingSpec {
            table: Address::table(&m.table.value),
            function: Address::new(Kind::Function, &m.function.value),
            batch_size: m
                .batch_size
                .as_ref()
                .map_or(100, |b| self.int_in("batch_size", b, 1, 10000)),
            starting_position,
            enabled: m.enabled.as_ref().is_none_or(|e| e.value),
            filter_patterns,
            maximum_retry_attempts: m
                .maximum_retry_attempts
                .as_ref()
                .map_or(-1, |r| self.int_in("maximum_retry_attempts", r, -1, 10000)),
            bisect_batch_on_function_error: m
                .bisect_batch_on_function_error
                .as_ref()
                .is_some_and(|b| b.value),
            maximum_batching_window_seconds: m
                .maximum_batching_window_seconds
                .as_ref()
                .map_or(0, |w| {
                    self.int_in("maximum_batching_window_seconds", w, 0, 300)
                }),
        }
    }

    pub(super) fn endpoint(
        &mut self,
        raw: &Spanned<RawEndpoint>,
        declared: &Declared,
    ) -> EndpointSpec {
        let e = &raw.value;
        let service = e.service.as_ref().map_or_else(
            || "dynamodb".to_string(),
            |s| self.one_of("gateway endpoint service", s, &["dynamodb", "s3"]),
        );
        let vpc = match &e.vpc {
            None => VpcChoice::Default,
            Some(v) if v.value == "default" => VpcChoice::Default,
            Some(v) if v.value.starts_with("vpc-") => VpcChoice::Id(v.value.clone()),
            Some(v) => {
                self.error(
                    format!("vpc `{}` is not `default` or a VPC id", v.value),
                    loc(v),
                    "write `default`, or an id like `vpc-0123456789abcdef0`",
                );
                VpcChoice::Default
            }
        };
        let route_tables = match e.route_tables.as_ref().map(|r| (&r.value, r)) {
            None => RouteTables::Main,
            Some((OneOrMany::One(s), _)) if s == "main" => RouteTables::Main,
            Some((OneOrMany::One(s), _)) if s == "all" => RouteTables::All,
            Some((OneOrMany::Many(ids), r)) => {
                if ids.is_empty() || ids.iter().any(|i| !i.starts_with("rtb-")) {
                    self.error(
                        "route_tables must be `rtb-…` ids",
                        loc(r),
                        "list ids like `rtb-0123456789abcdef0`, or write `main` or `all`",
                    );
                }
                RouteTables::Ids(ids.iter().cloned().collect())
            }
            Some((OneOrMany::One(s), r)) => {
                self.error(
                    format!("route_tables `{s}` is not `main`, `all` or a list"),
                    loc(r),
                    "write `main`, `all`, or a list of route table ids",
                );
                RouteTables::Main
            }
        };
        let policy = e
            .policy
            .as_ref()
            .map(|p| self.statements(&p.value, declared, true));
        let mut tags = self.tags(&e.tags);
        if tags.contains_key("Name") {
            self.error(
                "the endpoint's `Name` tag comes from `name:`",
                loc(&e.name),
                "remove `Name` from `tags`",
            );
        }
        tags.insert("Name".into(), e.name.value.clone());
        EndpointSpec {
            service,
            vpc,
            route_tables,
            policy,
            tags,
        }
    }
}

/// Removes `.` and `dir/..` pairs, so messages show `lambda-artifacts/x`, not `stacks/../lambda-artifacts/x`.
fn normalize_path(path: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        std::path::PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}
