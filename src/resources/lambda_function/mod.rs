//! Lambda functions: configuration, code (compared by the deterministic zip's SHA-256
//! against Lambda's `CodeSha256`), VPC placement and tags; and the log group Lambda makes
//! for each function, which destroy removes. Pure.
//!
//! AWS rules: the name cannot change (replace). Code and configuration are separate calls,
//! and the second fails with `ResourceConflictException` until `LastUpdateStatus` is
//! `Successful`, so apply waits in between.

pub mod aws;
mod plan;
pub mod runtimes;
pub mod stack;

use std::collections::{BTreeMap, BTreeSet};

use super::{Effect, Field, FieldDiff, Val, diff_fields};

/// Subnets and security groups, resolved to ids. Sets, so neither the stack's order nor
/// Lambda's causes a diff; a function in no VPC has no placement (not empty sets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcPlacement {
    /// Subnet ids.
    pub subnets: BTreeSet<String>,
    /// Security group ids.
    pub security_groups: BTreeSet<String>,
}

/// A function in spec shape, for both sides of a diff: the wanted configuration (the
/// stack's, references resolved) and the live one (`aws::read`, Lambda's defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    /// Function name.
    pub name: String,
    /// Runtime, like `python3.12`.
    pub runtime: String,
    /// Handler, like `lambda_function.lambda_handler`.
    pub handler: String,
    /// Execution role ARN.
    pub role: String,
    /// Memory in MB.
    pub memory: i32,
    /// Timeout in seconds.
    pub timeout: i32,
    /// Description.
    pub description: String,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// Environment variables.
    pub environment: BTreeMap<String, String>,
    /// Names of environment variables never to show.
    pub secrets: BTreeSet<String>,
    /// VPC placement, when in a VPC.
    pub vpc: Option<VpcPlacement>,
    /// Base64 SHA-256 of the deployment zip, compared with Lambda's `CodeSha256`; the zip
    /// is deterministic, so unchanged sources hash the same.
    pub code_sha256: String,
    /// User tags.
    pub tags: BTreeMap<String, String>,
}

/// A function as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionLive {
    /// Its configuration.
    pub config: FunctionConfig,
    /// Its ARN.
    pub arn: String,
    /// The stack named by its ownership tag (taken out of `config.tags`, so it never shows
    /// as a user tag).
    pub owner: Option<String>,
    /// `Pending`, `Active`, `Failed`, …
    pub state: String,
    /// Why Lambda put the function in its state (set for `Failed`).
    pub state_reason: Option<String>,
}

/// What refresh reads for one declared function: the function, and its log group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionState {
    /// The function, when it exists.
    pub function: Option<FunctionLive>,
    /// `/aws/lambda/<name>`, when it exists (from the stack's one listing of log groups).
    pub log_group: Option<super::logs::LogGroupFacts>,
}

/// The function's ARN, built as Lambda builds it so that it is known before the function
/// exists.
#[must_use]
pub fn arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{account}:function:{name}")
}

/// The log group Lambda writes the function's logs to. The tool creates it, with the
/// function's retention, before the function (so Lambda never makes one that keeps logs
/// forever), and deletes it with the function unless `keep_logs`.
#[must_use]
pub fn log_group_name(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

/// The function's fields as plans show them; secrets compare by value but render as
/// `(sensitive)`.
///
/// Only `name` forces replacement. Each environment variable and tag is its own field, so
/// a plan names the one that changed; the VPC fields are absent for a function in no VPC.
#[must_use]
pub fn flatten(c: &FunctionConfig) -> Vec<Field> {
    // Exhaustive on purpose: a new field fails to compile here until it is shown and compared.
    let FunctionConfig {
        name: _,
        runtime: _,
        handler: _,
        role: _,
        memory: _,
        timeout: _,
        description: _,
        architecture: _,
        environment: _,
        secrets: _,
        vpc: _,
        code_sha256: _,
        tags: _,
    } = c;
    let mut fields = vec![
        Field::new("name", Val::Str(c.name.clone())).with_effect(Effect::ReplacesResource),
        Field::new("runtime", Val::Str(c.runtime.clone())),
        Field::new("handler", Val::Str(c.handler.clone())),
        Field::new("role", Val::Str(c.role.clone())),
        Field::new("memory", Val::Int(i64::from(c.memory))),
        Field::new("timeout", Val::Int(i64::from(c.timeout))),
        Field::new("description", Val::Str(c.description.clone())),
        Field::new("architecture", Val::Str(c.architecture.clone())),
        Field::new("code_sha256", Val::Str(c.code_sha256.clone())),
    ];
    for (k, v) in &c.environment {
        let value = if c.secrets.contains(k) {
            Val::Sensitive(v.clone())
        } else {
            Val::Str(v.clone())
        };
        fields.push(Field::new(format!("environment[{k:?}]"), value));
    }
    if let Some(vpc) = &c.vpc {
        fields.push(Field::new(
            "vpc.subnets",
            Val::Set(vpc.subnets.iter().cloned().collect()),
        ));
        fields.push(Field::new(
            "vpc.security_groups",
            Val::Set(vpc.security_groups.iter().cloned().collect()),
        ));
    }
    for (k, v) in &c.tags {
        fields.push(Field::new(format!("tags[{k:?}]"), Val::Str(v.clone())));
    }
    fields
}

/// What differs. Secrets stay hidden on both sides: a live value is shown only when the
/// stack declares its variable plain; one the stack marks secret, or no longer declares
/// (a secret taken out of `secret_environment` is still a secret in AWS), shows as
/// sensitive.
///
/// A function whose creation ended `Failed` accepts no fix in place (AWS: delete it and
/// create it again), so its state is a replace-forcing field carrying AWS's reason. A
/// failed *update* is not: the previous configuration stays live and the next update is
/// accepted.
#[must_use]
pub fn diff(wanted: &FunctionConfig, live: &FunctionLive) -> Vec<FieldDiff> {
    let mut have = live.config.clone();
    have.secrets = live
        .config
        .environment
        .keys()
        .filter(|k| !wanted.environment.contains_key(*k) || wanted.secrets.contains(*k))
        .cloned()
        .collect();
    let mut diffs = diff_fields(&flatten(wanted), &flatten(&have));
    if live.state == "Failed" {
        diffs.insert(
            0,
            FieldDiff {
                path: "state".into(),
                old: Some(Val::Str(format!(
                    "Failed: {}",
                    live.state_reason.as_deref().unwrap_or("no reason given")
                ))),
                new: Some(Val::Str("Active".into())),
                effect: Effect::ReplacesResource,
            },
        );
    }
    diffs
}

/// One call of an in-place function update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionStep {
    /// `UpdateFunctionCode` with the new zip (and architecture), then wait.
    Code,
    /// `UpdateFunctionConfiguration` with the whole configuration, then wait.
    Configuration,
    /// `TagResource`.
    Tag(BTreeMap<String, String>),
    /// `UntagResource`.
    Untag(Vec<String>),
}

/// The steps that turn `live` into `wanted`: code first, then configuration (each waits
/// for `LastUpdateStatus=Successful`), then tags.
///
/// An architecture change goes with the code (`UpdateFunctionCode` takes it). Any change
/// to runtime, handler, role, memory, timeout, description, environment or VPC makes one
/// configuration step that sends them all. The name is never updated (it replaces).
#[must_use]
pub fn update_steps(wanted: &FunctionConfig, live: &FunctionLive) -> Vec<FunctionStep> {
    // Exhaustive on purpose: a new field fails to compile here until it is applied (or, like the name, replaced; secrets only change how values show).
    let FunctionConfig {
        name: _,
        runtime: _,
        handler: _,
        role: _,
        memory: _,
        timeout: _,
        description: _,
        architecture: _,
        environment: _,
        secrets: _,
        vpc: _,
        code_sha256: _,
        tags: _,
    } = wanted;
    let have = &live.config;
    let mut steps = Vec::new();
    if wanted.code_sha256 != have.code_sha256 || wanted.architecture != have.architecture {
        steps.push(FunctionStep::Code);
    }
    let config = |c: &FunctionConfig| {
        (
            c.runtime.clone(),
            c.handler.clone(),
            c.role.clone(),
            c.memory,
            c.timeout,
            c.description.clone(),
            c.environment.clone(),
            c.vpc.clone(),
        )
    };
    if config(wanted) != config(have) {
        steps.push(FunctionStep::Configuration);
    }
    let (to_tag, untag) = super::tag_changes(&wanted.tags, &have.tags);
    if !to_tag.is_empty() {
        steps.push(FunctionStep::Tag(to_tag));
    }
    if !untag.is_empty() {
        steps.push(FunctionStep::Untag(untag));
    }
    steps
}


/// A Lambda function (and its log group), as the registry knows the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function;

/// What apply must do to one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionOp {
    /// Create it from this package.
    Create {
        /// Configuration (environment values may hold late references).
        config: FunctionConfig,
        /// The deployment package built from the function's `source` folder.
        zip: Vec<u8>,
    },
    /// Run these steps.
    Update {
        /// Wanted configuration; environment values may hold late references.
        config: FunctionConfig,
        /// The function ARN (tags).
        arn: String,
        /// The zip (used by a code step).
        zip: Vec<u8>,
        /// The steps.
        steps: Vec<FunctionStep>,
    },
    /// Delete it, then create it from this package. The delete does not wait for the old
    /// function's VPC network interfaces.
    Replace {
        /// Configuration.
        config: FunctionConfig,
        /// The zip.
        zip: Vec<u8>,
    },
    /// Delete it; for a function in a VPC, wait until Lambda has released its network
    /// interfaces (the role it depends on is deleted after, and Lambda needs it for that).
    Delete {
        /// Whether the function is in a VPC.
        in_vpc: bool,
    },
    /// Create the function's log group (ownership tag in the call) with this retention;
    /// its own change, before the function's.
    CreateLogGroup {
        /// Days to keep its events.
        retention_days: i32,
    },
    /// Set the retention of the function's log group.
    SetRetention {
        /// Days to keep its events.
        days: i32,
    },
    /// Delete the function's log group (its own change, after the function's).
    DeleteLogGroup,
    /// Delete a function the stack no longer declares: its stream mappings (which outlive
    /// it), the function (waiting for VPC interfaces, its configuration unread), its log group.
    DeleteStray,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FunctionConfig {
        FunctionConfig {
            name: "cruddur-messaging-stream".into(),
            runtime: "python3.12".into(),
            handler: "lambda_function.lambda_handler".into(),
            role: "arn:aws:iam::123456789012:role/r".into(),
            memory: 128,
            timeout: 3,
            description: String::new(),
            architecture: "x86_64".into(),
            environment: BTreeMap::from([
                ("TABLE_NAME".into(), "cruddur-messages".into()),
                ("TOKEN".into(), "s3cret".into()),
            ]),
            secrets: BTreeSet::from(["TOKEN".into()]),
            vpc: None,
            code_sha256: "abc=".into(),
            tags: BTreeMap::new(),
        }
    }

    fn live(config: FunctionConfig) -> FunctionLive {
        let mut config = config;
        config.secrets.clear();
        FunctionLive {
            config,
            arn: "arn:f".into(),
            owner: Some("cruddur".into()),
            state: "Active".into(),
            state_reason: None,
        }
    }

    #[test]
    fn same_function_has_no_diff_or_steps() {
        assert_eq!(diff(&config(), &live(config())), vec![]);
        assert_eq!(update_steps(&config(), &live(config())), vec![]);
    }

    #[test]
    fn a_code_change_is_a_code_update_only() {
        let mut wanted = config();
        wanted.code_sha256 = "new=".into();
        let diffs = diff(&wanted, &live(config()));
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].path, "code_sha256");
        assert_eq!(
            update_steps(&wanted, &live(config())),
            vec![FunctionStep::Code]
        );
    }

    #[test]
    fn secrets_are_compared_but_never_shown() {
        let mut wanted = config();
        wanted.environment.insert("TOKEN".into(), "rotated".into());
        let diffs = diff(&wanted, &live(config()));
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].old.as_ref().unwrap().to_string(), "(sensitive)");
        assert_eq!(diffs[0].new.as_ref().unwrap().to_string(), "(sensitive)");
        assert_eq!(
            update_steps(&wanted, &live(config())),
            vec![FunctionStep::Configuration]
        );
    }

    #[test]
    fn a_variable_no_longer_declared_shows_its_live_value_as_sensitive() {
        let mut wanted = config();
        wanted.environment.remove("TOKEN");
        wanted.secrets.clear();
        let diffs = diff(&wanted, &live(config()));
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert!(matches!(diffs[0].old, Some(Val::Sensitive(_))), "{diffs:?}");
        assert_eq!(diffs[0].new, None);
        // A variable the stack declares plain is shown on both sides.
        let mut plain = config();
        plain.environment.insert("PLAIN".into(), "b".into());
        let mut have = config();
        have.environment.insert("PLAIN".into(), "a".into());
        let diffs = diff(&plain, &live(have));
        assert_eq!(diffs[0].old, Some(Val::Str("a".into())), "{diffs:?}");
    }

    #[test]
    fn a_function_whose_create_failed_is_replaced_with_awss_reason() {
        let mut failed = live(config());
        failed.state = "Failed".into();
        failed.state_reason = Some("The subnet has no free IP addresses.".into());
        let diffs = diff(&config(), &failed);
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert!(diffs[0].forces_replacement());
        assert_eq!(
            diffs[0].old,
            Some(Val::Str(
                "Failed: The subnet has no free IP addresses.".into()
            ))
        );
    }

    #[test]
    fn a_failed_update_is_not_a_replacement() {
        // `LastUpdateStatus=Failed` leaves the function `Active` with the old configuration:
        // it differs from the stack and is updated in place.
        let mut wanted = config();
        wanted.memory = 512;
        let diffs = diff(&wanted, &live(config()));
        assert!(!diffs.iter().any(FieldDiff::forces_replacement));
        assert_eq!(
            update_steps(&wanted, &live(config())),
            vec![FunctionStep::Configuration]
        );
    }

    #[test]
    fn code_then_configuration_then_tags() {
        let mut wanted = config();
        wanted.code_sha256 = "new=".into();
        wanted.memory = 256;
        wanted.tags.insert("app".into(), "cruddur".into());
        assert_eq!(
            update_steps(&wanted, &live(config())),
            vec![
                FunctionStep::Code,
                FunctionStep::Configuration,
                FunctionStep::Tag(BTreeMap::from([("app".into(), "cruddur".into())]))
            ]
        );
    }
}

/// Which subnets or security groups: the default VPC's, or these ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The default VPC's subnets, or its `default` security group.
    Default,
    /// Explicit ids.
    Ids(BTreeSet<String>),
}

/// A function as the stack declares it, before references are substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// Function name.
    pub name: String,
    /// Runtime.
    pub runtime: String,
    /// Handler.
    pub handler: String,
    /// Source folder (resolved against the stack file's folder); the deterministic zip of
    /// it is what is deployed and hashed.
    pub source: std::path::PathBuf,
    /// The role's address; its ARN comes from the known values at plan time.
    pub role: super::Address,
    /// Memory in MB.
    pub memory: i32,
    /// Timeout in seconds.
    pub timeout: i32,
    /// Description.
    pub description: String,
    /// Architecture.
    pub architecture: String,
    /// Environment variable templates (with `${…}` references), secrets included.
    pub environment: BTreeMap<String, String>,
    /// Names of the secret ones (from `secret_environment`), shown as `(sensitive)`.
    pub secrets: BTreeSet<String>,
    /// VPC placement: subnets, then security groups.
    pub vpc: Option<(Selection, Selection)>,
    /// Keep the log group on destroy (by default destroy deletes it).
    pub keep_logs: bool,
    /// Days CloudWatch Logs keeps the function's logs.
    pub log_retention_days: i32,
    /// User tags.
    pub tags: BTreeMap<String, String>,
    /// Where `handler:` is written, for findings.
    pub handler_loc: Option<crate::stack::Loc>,
    /// Where `runtime:` is written, for findings.
    pub runtime_loc: Option<crate::stack::Loc>,
}

#[cfg(test)]
mod properties {
    //! For generated pairs of a wanted and a live function of the same name, the diff is
    //! empty exactly when the update steps are empty.

    use proptest::prelude::*;

    use super::*;

    fn function() -> impl Strategy<Value = FunctionConfig> {
        let pick = |v: Vec<&'static str>| prop::sample::select(v).prop_map(String::from);
        (
            (
                pick(vec!["python3.12", "python3.13"]),
                pick(vec!["a.handler", "b.handler"]),
                pick(vec!["arn:r1", "arn:r2"]),
            ),
            (
                prop::sample::select(vec![128, 256]),
                prop::sample::select(vec![3, 10]),
                pick(vec!["", "d"]),
            ),
            (pick(vec!["x86_64", "arm64"]), pick(vec!["sha-a", "sha-b"])),
            prop::collection::btree_map(pick(vec!["TABLE", "TOKEN"]), pick(vec!["1", "2"]), 0..3),
            prop::option::of((
                prop::collection::btree_set(pick(vec!["subnet-1", "subnet-2"]), 1..3),
                prop::collection::btree_set(pick(vec!["sg-1", "sg-2"]), 1..3),
            )),
            prop::collection::btree_map(pick(vec!["app", "team"]), pick(vec!["1", "2"]), 0..3),
        )
            .prop_map(
                |(
                    (runtime, handler, role),
                    (memory, timeout, description),
                    (architecture, code_sha256),
                    environment,
                    vpc,
                    tags,
                )| FunctionConfig {
                    name: "f".into(),
                    runtime,
                    handler,
                    role,
                    memory,
                    timeout,
                    description,
                    architecture,
                    environment,
                    secrets: BTreeSet::from(["TOKEN".to_string()]),
                    vpc: vpc.map(|(subnets, security_groups)| VpcPlacement {
                        subnets,
                        security_groups,
                    }),
                    code_sha256,
                    tags,
                },
            )
    }

    proptest! {
        #[test]
        fn the_diff_is_empty_exactly_when_the_update_steps_are(have in function(), other in function(), k in 0..13u8) {
            // One field at a time from `other`, so a field compared but never applied shows.
            let mut wanted = have.clone();
            match k {
                1 => wanted.runtime.clone_from(&other.runtime),
                2 => wanted.handler.clone_from(&other.handler),
                3 => wanted.role.clone_from(&other.role),
                4 => wanted.memory = other.memory,
                5 => wanted.timeout = other.timeout,
                6 => wanted.description.clone_from(&other.description),
                7 => wanted.architecture.clone_from(&other.architecture),
                8 => wanted.environment.clone_from(&other.environment),
                9 => wanted.vpc.clone_from(&other.vpc),
                10 => wanted.code_sha256.clone_from(&other.code_sha256),
                11 => wanted.tags.clone_from(&other.tags),
                12 => wanted.secrets = BTreeSet::new(),
                _ => {}
            }
            let live = FunctionLive { config: have, arn: "arn:f".into(), owner: None, state: "Active".into(), state_reason: None };
            let steps = update_steps(&wanted, &live);
            prop_assert_eq!(diff(&wanted, &live).is_empty(), steps.is_empty(), "{:?}", steps);
        }
    }
}
