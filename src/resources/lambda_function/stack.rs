//! The stack file's `functions:` entries: raw serde types and validation (runtime, role,
//! source folder, environment and its references, VPC placement). Pure.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::stack::raw::{
    Case, Choices, OneOrMany, OneOrManyOf, SecurityGroupIds, SpannedMap, SubnetIds, words_pattern,
};
use crate::stack::validate::{Names, Validator, loc};
use std::path::Path;

use super::{FunctionSpec, Selection};
use crate::resources::{Address, Kind};

/// The architectures Lambda runs, exactly as the file spells them.
pub const ARCHITECTURES: [&str; 2] = ["x86_64", "arm64"];

/// The runtimes the tool accepts (`runtimes::RUNTIMES`), exactly as the file spells them.
#[must_use]
pub fn runtime_ids() -> Vec<&'static str> {
    super::runtimes::RUNTIMES.iter().map(|r| r.id).collect()
}

/// A Lambda function.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFunction {
    /// `false`: absent from every environment that does not `enable` it.
    #[schemars(with = "Option<bool>")]
    pub enabled: Option<Spanned<bool>>,
    /// Function name: 1 to 64 of `A-Za-z0-9-_`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Runtime, like `python3.12`: one Lambda lists (`runtimes::RUNTIMES`), as AWS spells it.
    #[schemars(with = "String", regex(pattern = words_pattern(&runtime_ids(), Case::Exact)))]
    pub runtime: Spanned<String>,
    /// Handler.
    #[schemars(with = "String")]
    pub handler: Spanned<String>,
    /// Source folder, relative to the stack file.
    #[schemars(with = "String")]
    pub source: Spanned<String>,
    /// Logical name of its role.
    #[schemars(with = "String")]
    pub role: Spanned<String>,
    /// Memory in MB: 128 to 10,240, default 128.
    #[schemars(with = "Option<i64>")]
    pub memory: Option<Spanned<i64>>,
    /// Timeout in seconds: 1 to 900, default 3.
    #[schemars(with = "Option<i64>")]
    pub timeout: Option<Spanned<i64>>,
    /// Description.
    #[schemars(with = "Option<String>")]
    pub description: Option<Spanned<String>>,
    /// `x86_64` (the default) or `arm64`.
    #[schemars(
        with = "Option<String>",
        regex(pattern = words_pattern(&ARCHITECTURES, Case::Exact))
    )]
    pub architecture: Option<Spanned<String>>,
    /// Environment variables (values may hold references).
    #[serde(default)]
    pub environment: SpannedMap<Spanned<String>>,
    /// Environment variables never shown in plans; a name may not also be in
    /// `environment`.
    #[serde(default)]
    pub secret_environment: SpannedMap<Spanned<String>>,
    /// VPC placement.
    #[schemars(with = "Option<RawVpcPlacement>")]
    pub vpc: Option<Spanned<RawVpcPlacement>>,
    /// Keep `/aws/lambda/<name>` on destroy.
    #[schemars(with = "Option<bool>")]
    pub keep_logs: Option<Spanned<bool>>,
    /// Days `CloudWatch` Logs keeps the function's logs (default 14), one of the periods it
    /// accepts.
    #[schemars(with = "Option<RetentionDays>")]
    pub log_retention_days: Option<Spanned<i64>>,
    /// User tags.
    #[serde(default)]
    pub tags: SpannedMap<Spanned<String>>,
}

/// Subnets and security groups of a VPC function.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVpcPlacement {
    /// `default` (the default VPC's subnets) or subnet ids.
    #[schemars(with = "OneOrManyOf<SubnetIds>")]
    pub subnets: Spanned<OneOrMany>,
    /// `default` (the default VPC's default group) or group ids.
    #[schemars(with = "OneOrManyOf<SecurityGroupIds>")]
    pub security_groups: Spanned<OneOrMany>,
}

/// Schema only, never read: `log_retention_days`, one of [`RETENTION_DAYS`].
pub struct RetentionDays;

impl JsonSchema for RetentionDays {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "RetentionDays".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "enum": RETENTION_DAYS })
    }
}

/// The retention periods CloudWatch Logs accepts (`PutRetentionPolicy`'s
/// `retentionInDays`), in days.
pub const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// The retention a function's log group gets when the stack says none.
pub const DEFAULT_RETENTION_DAYS: i32 = 14;

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

/// Subnets or security groups: `default` (the default VPC's), or a list of ids with `prefix`.
/// Any other single value, an empty list or an id without `prefix` is reported; a value is
/// still returned, so validation goes on and reports every problem.
fn selection(vd: &mut Validator, what: &str, raw: &Spanned<OneOrMany>, prefix: &str) -> Selection {
    match &raw.value {
        OneOrMany::One(s) if s == "default" => Selection::Default,
        OneOrMany::One(s) => {
            vd.error(
                format!("{what} `{s}` is not `default` or a list"),
                loc(raw),
                format!("write `default`, or a list of `{prefix}…` ids"),
            );
            Selection::Default
        }
        OneOrMany::Many(ids) => {
            if ids.is_empty() || ids.iter().any(|i| !i.starts_with(prefix)) {
                vd.error(
                    format!("{what} must be `{prefix}…` ids"),
                    loc(raw),
                    format!("list ids like `{prefix}0123456789abcdef0`, or write `default`"),
                );
            }
            Selection::Ids(ids.iter().cloned().collect())
        }
    }
}

/// Environment variables: names Lambda accepts and does not reserve for itself (`AWS_REGION`,
/// …), each set once across `environment` and `secret_environment`, values whose references
/// name declared resources.
fn env_vars(
    vd: &mut Validator,
    raw: &SpannedMap<Spanned<String>>,
    declared: &Names,
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
            vd.error(
                format!("environment variable name `{}` is not valid", k.value),
                loc(k),
                "start with a letter; use letters, digits and `_`",
            );
        } else if RESERVED_ENV.contains(&k.value.as_str()) {
            vd.error(
                format!("`{}` is reserved by Lambda", k.value),
                loc(k),
                "Lambda sets it itself (the region comes from AWS_REGION): remove it or rename it",
            );
        }
        if out.contains_key(&k.value) {
            vd.error(
                format!("environment variable `{}` is set twice", k.value),
                loc(k),
                "set it in `environment` or `secret_environment`, not both",
            );
        }
        vd.references(v, declared);
        out.insert(k.value.clone(), v.value.clone());
    }
}

/// One `functions:` entry: a valid function name; a runtime Lambda still accepts for new
/// functions; a handler; a declared role; memory (128–10,240 MB) and timeout (1–900 s) within
/// Lambda's limits; `x86_64` or `arm64`; its environment; VPC placement. `source` is resolved
/// against the stack file's folder (`base`), and shown without `..` segments.
pub(crate) fn function(
    vd: &mut Validator,
    raw: &Spanned<RawFunction>,
    declared: &Names,
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
        vd.error(
            format!("function name `{}` is not valid", f.name.value),
            loc(&f.name),
            "use 1 to 64 of `A-Za-z0-9-_`",
        );
    }
    let runtime = vd.one_of("runtime", &f.runtime, &runtime_ids());
    let log_retention_days = f
        .log_retention_days
        .as_ref()
        .map_or(DEFAULT_RETENTION_DAYS, |d| {
            if !RETENTION_DAYS.contains(&d.value) {
                let allowed: Vec<String> = RETENTION_DAYS.iter().map(ToString::to_string).collect();
                vd.error(
                    format!(
                        "log_retention_days `{}` is not a retention CloudWatch Logs accepts",
                        d.value
                    ),
                    loc(d),
                    format!("use one of {}", allowed.join(", ")),
                );
            }
            d.value.clamp(1, 3653) as i32
        });
    if f.handler.value.is_empty() {
        vd.error(
            "the handler is empty",
            loc(&f.handler),
            "name the entry point, like `lambda_function.lambda_handler`",
        );
    }
    let role = crate::resources::Address::new(crate::resources::Kind::Role, &f.role.value);
    vd.uses(&role, loc(&f.role));
    if !declared.declares(&role) {
        vd.error(
            format!("role `{}` is not declared in this stack", f.role.value),
            loc(&f.role),
            format!(
                "declare it under `roles:` (as `{}:`), or use the logical name of a declared role",
                f.role.value
            ),
        );
    }
    let architecture = f.architecture.as_ref().map_or_else(
        || "x86_64".to_string(),
        |a| vd.one_of("architecture", a, &ARCHITECTURES),
    );
    let mut environment = BTreeMap::new();
    env_vars(vd, &f.environment, declared, &mut environment);
    env_vars(vd, &f.secret_environment, declared, &mut environment);
    let vpc = f.vpc.as_ref().map(|v| {
        (
            selection(vd, "subnets", &v.value.subnets, SubnetIds::PREFIX),
            selection(
                vd,
                "security_groups",
                &v.value.security_groups,
                SecurityGroupIds::PREFIX,
            ),
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
            .map_or(128, |m| vd.int_in("memory", m, 128, 10240)),
        timeout: f
            .timeout
            .as_ref()
            .map_or(3, |t| vd.int_in("timeout", t, 1, 900)),
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
        log_retention_days,
        tags: vd.tags(&f.tags),
        handler_loc: loc(&f.handler),
        runtime_loc: loc(&f.runtime),
    }
}

/// Removes `.` and `dir/..` pairs, so messages show `lambda-artifacts/x`, not `stacks/../lambda-artifacts/x`.
/// Purely lexical: symlinks are not resolved, and a leading `..` is kept.
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
