//! Planning one function: configuration with references resolved, code compared by the
//! deterministic zip's hash, VPC placement, and its log group (made with its retention first). Pure.

use super::{Function, FunctionConfig, FunctionOp, FunctionSpec, Selection, VpcPlacement};
use crate::plan::checks::{Grant, Need, Want};
use crate::plan::{Action, Mode, Operation, Ownership, PlanError, Planner, Subject, waits_for};
use crate::resources::refs::{self, Attr, Ref};
use crate::resources::{Address, Adoption, Effect, FieldDiff, Kind, Resource, Val};
use crate::stack::Declared;
use crate::stack::{Diagnostic, Severity};

/// Resolves a function's VPC placement: `default` means the default VPC's subnets and its
/// `default` security group, read during refresh; an explicit list is taken as it is.
/// Only `default` subnets require the default VPC (`PlanError::Missing` without one):
/// `default` groups in a region without one resolve to no security groups.
fn placement(
    p: &Planner<'_>,
    address: &Address,
    sel: &(Selection, Selection),
) -> Result<VpcPlacement, PlanError> {
    let facts = p.live.vpcs.get("default");
    let missing = || {
        PlanError::Missing {
        address: address.clone(),
        message: "`default` VPC placement, but this region has no default VPC\n  help: list subnet and security group ids instead".into(),
    }
    };
    let subnets = match &sel.0 {
        Selection::Ids(ids) => ids.clone(),
        Selection::Default => facts.ok_or_else(missing)?.default_subnets.clone(),
    };
    let security_groups = match &sel.1 {
        Selection::Ids(ids) => ids.clone(),
        Selection::Default => facts
            .and_then(|f| f.default_security_group.clone())
            .into_iter()
            .collect(),
    };
    Ok(VpcPlacement {
        subnets,
        security_groups,
    })
}

/// Plans the log group of a function that is to exist: created with the stack's retention
/// when missing, its retention set when it differs (lowering it deletes the older events,
/// which the plan says on that line). Owned by derivation from the function.
fn plan_log_group(
    p: &mut Planner<'_>,
    f: &Declared<FunctionSpec>,
    live: Option<&crate::resources::logs::LogGroupFacts>,
) {
    let address = Address::new(Kind::LogGroup, &f.address.name);
    let name = super::log_group_name(&f.spec.name);
    let wanted = f.spec.log_retention_days;
    let field = "retention_in_days";
    match live {
        None => p.push(
            &address,
            &name,
            Action::Create,
            vec![FieldDiff {
                path: field.into(),
                old: None,
                new: Some(Val::Int(i64::from(wanted))),
                effect: Effect::InPlace,
            }],
            Operation::Function(FunctionOp::CreateLogGroup {
                retention_days: wanted,
            }),
            Vec::new(),
        ),
        Some(g) if g.retention_days != Some(wanted) => {
            let lowered = g.retention_days.is_none_or(|old| old > wanted);
            let effect = if lowered {
                Effect::Note(format!(
                    "lowering the retention deletes the log events older than {wanted} days"
                ))
            } else {
                Effect::InPlace
            };
            p.push(
                &address,
                &name,
                Action::Update,
                vec![FieldDiff {
                    path: field.into(),
                    old: Some(g.retention_days.map_or_else(
                        || Val::Str("never expire".into()),
                        |d| Val::Int(i64::from(d)),
                    )),
                    new: Some(Val::Int(i64::from(wanted))),
                    effect,
                }],
                Operation::Function(FunctionOp::SetRetention { days: wanted }),
                Vec::new(),
            );
        }
        Some(_) => {}
    }
}

/// The pure half of the function kind: validation of `functions:` entries and planning.
impl Resource for Function {
    const KIND: Kind = Kind::Function;
    const PREFIX: &'static str = "function";
    const NOUN: &'static str = "function";
    type Raw = super::stack::RawFunction;

    fn enabled(raw: &Self::Raw) -> Option<&serde_saphyr::Spanned<bool>> {
        raw.enabled.as_ref()
    }

    /// Every function exports `name` and `arn`; both are known before any AWS call (see
    /// `seed_known`), so references to them never wait for the function's change.
    fn exports(_: &super::stack::RawFunction) -> Vec<Attr> {
        vec![Attr::Name, Attr::Arn]
    }

    /// Checks one entry with `stack::function` (name, runtime, role, limits, environment,
    /// VPC placement); `base` resolves its `source` folder.
    fn validate(
        vd: &mut crate::stack::validate::Validator,
        raw: &serde_saphyr::Spanned<super::stack::RawFunction>,
        names: &crate::stack::validate::Names,
        base: &std::path::Path,
    ) -> FunctionSpec {
        super::stack::function(vd, raw, names, base)
    }

    /// A function is pointed at by its `source:`, the part a missing package is about.
    fn declared_at(
        _: &serde_saphyr::Spanned<String>,
        raw: &serde_saphyr::Spanned<super::stack::RawFunction>,
    ) -> Option<crate::stack::Loc> {
        crate::stack::validate::loc(&raw.value.source)
    }

    /// Function names are unique per account and region: two entries with one `name:`
    /// would be one function in AWS, so the second is an error.
    fn check_all(
        vd: &mut crate::stack::validate::Validator,
        entries: &[crate::resources::Entry<'_, super::stack::RawFunction, FunctionSpec>],
    ) {
        vd.unique_names(Self::NOUN, entries.iter().map(|(_, r, _)| &r.value.name));
    }
    type Spec = FunctionSpec;
    /// The function if it exists, and its log group if that exists.
    type Live = super::FunctionState;

    fn facts(live: &Self::Live) -> Vec<(&'static str, String)> {
        let Some(f) = &live.function else {
            return Vec::new();
        };
        let mut facts = vec![("state", f.state.clone())];
        if let Some(reason) = &f.state_reason {
            facts.push(("reason", reason.clone()));
        }
        facts
    }

    /// `name`, `arn`, and `log_group` (the group its logs go to, for `aws logs tail`) once
    /// that exists. Nothing while the function does not exist, even when a group kept
    /// from an earlier one (`keep_logs`) does.
    fn outputs(live: &Self::Live) -> Vec<(&'static str, String)> {
        let Some(f) = &live.function else {
            return Vec::new();
        };
        let mut outputs = vec![
            (Attr::Name.as_str(), f.config.name.clone()),
            (Attr::Arn.as_str(), f.arn.clone()),
        ];
        if live.log_group.is_some() {
            outputs.push(("log_group", super::log_group_name(&f.config.name)));
        }
        outputs
    }
    type Op = FunctionOp;

    /// The function's name, by which its mappings are listed and created.
    fn aws_name(spec: &FunctionSpec) -> Option<&str> {
        Some(&spec.name)
    }

    /// A function costs nothing while idle; its logs cost by the GB, for as long as they
    /// are kept.
    fn costs(region: &str, specs: &[&FunctionSpec], stopping: bool) -> Vec<String> {
        let groups: Vec<(String, i32)> = specs
            .iter()
            .filter(|s| !(stopping && s.keep_logs))
            .map(|s| (super::log_group_name(&s.name), s.log_retention_days))
            .collect();
        crate::resources::logs::cost_line(region, &groups, stopping)
            .into_iter()
            .collect()
    }

    /// `/aws/lambda/<name>`, which the tool creates before the function.
    fn log_groups(spec: &FunctionSpec) -> Vec<String> {
        vec![super::log_group_name(&spec.name)]
    }

    /// A placement on `default` subnets or security groups needs the default VPC's facts.
    fn vpcs(spec: &FunctionSpec) -> Vec<(String, bool)> {
        match &spec.vpc {
            Some((subnets, groups))
                if *subnets == Selection::Default || *groups == Selection::Default =>
            {
                vec![("default".to_string(), true)]
            }
            _ => Vec::new(),
        }
    }

    /// Records `stack` as the owner of the function read, answering the previous owner
    /// and the ARN `TagResource` takes; `Missing` when no function of that name exists.
    fn adopt(live: &mut Self::Live, stack: &str) -> Adoption {
        match &mut live.function {
            Some(l) => Adoption::Found {
                owner: l.owner.replace(stack.to_string()),
                target: l.arn.clone(),
            },
            None => Adoption::Missing,
        }
    }

    fn declares(d: &Declared<FunctionSpec>, name: &str) -> bool {
        d.spec.name == name
    }

    /// A function tagged for this stack but no longer declared is deleted with its stream
    /// mappings and log group (`FunctionOp::DeleteStray`).
    fn stray_op(_: &str) -> Option<FunctionOp> {
        Some(FunctionOp::DeleteStray)
    }

    fn arn(account: &str, region: &str, spec: &FunctionSpec) -> Option<String> {
        Some(super::arn(region, account, &spec.name))
    }

    /// A function runs as its role, which Lambda assumes.
    fn runs_as(d: &Declared<FunctionSpec>) -> Option<(Address, &'static str)> {
        Some((d.spec.role.clone(), "lambda.amazonaws.com"))
    }

    /// What a function needs from its role: to write its logs (a warning without: it runs
    /// and writes none); in a VPC, to manage its network interfaces (an error: Lambda
    /// refuses the function); and for each index whose name its environment hands the
    /// code, the table's actions on the index too (a warning: the notes' `AccessDenied`).
    fn needs(p: &Planner<'_>, d: &Declared<FunctionSpec>) -> Vec<Need> {
        let name = &d.spec.name;
        let need = |purpose: String, consequence: &str, severity, want, managed| Need {
            role: d.spec.role.clone(),
            by: d.address.clone(),
            purpose,
            consequence: consequence.to_string(),
            severity,
            want,
            managed,
        };
        // The tool makes the log group itself (before the function), so the function's
        // role needs only to write streams into it, not `logs:CreateLogGroup`. Checked on
        // one of its streams: a grant on `log-group:<name>:*` covers it, the bare group's
        // ARN does not.
        let group = format!(
            "arn:aws:logs:${{region}}:${{account}}:log-group:{}",
            super::log_group_name(name)
        );
        let mut out = vec![need(
            format!("to write its logs to `{}`", super::log_group_name(name)),
            "it will run and write no logs",
            Severity::Warning,
            Want::All(vec![
                Grant::new(
                    &["logs:CreateLogStream", "logs:PutLogEvents"],
                    format!("{group}:log-stream:(known after apply)"),
                )
                .written_as(format!("{group}:*")),
            ]),
            Some("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
        )];
        if d.spec.vpc.is_some() {
            // `DescribeNetworkInterfaces` has no resource-level permissions: only `*` grants
            // it. The others may be scoped to the account's network interfaces.
            out.push(need(
                "to attach it to the VPC (its network interfaces)".to_string(),
                "Lambda refuses to create or update it in the VPC",
                Severity::Error,
                Want::All(vec![
                    Grant::new(
                        &["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
                        "arn:aws:ec2:${region}:${account}:network-interface/*",
                    ),
                    Grant::new(&["ec2:DescribeNetworkInterfaces"], "*"),
                ]),
                Some("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"),
            ));
        }
        let given: Vec<(&String, String)> = d
            .spec
            .environment
            .iter()
            .map(|(k, v)| (k, refs::substitute(v, &p.known).0))
            .collect();
        for part in crate::resources::parts(p.stack) {
            for (variable, _) in given.iter().filter(|(_, v)| *v == part.name) {
                out.push(need(
                    format!(
                        "to use {}, whose name it is given in `{variable}`",
                        part.what
                    ),
                    "calls on the index fail with AccessDenied",
                    Severity::Warning,
                    Want::AlsoOn {
                        grant: Grant::new(&part.actions, part.arn.clone()),
                        parent: part.parent.clone(),
                    },
                    None,
                ));
            }
        }
        out
    }

    /// The function's own findings: a handler naming no module of the package (Lambda
    /// accepts it and fails the first invocation), and a runtime past AWS's dates (an
    /// error once Lambda refuses it, a warning from its deprecation).
    fn check(p: &Planner<'_>, d: &Declared<FunctionSpec>) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        match super::runtimes::handler_files(&d.spec.runtime, &d.spec.handler) {
            Err(message) => out.push(Diagnostic::new(
                message,
                d.spec.handler_loc,
                "write the module and the function, like `lambda_function.lambda_handler`",
            )),
            Ok(Some(candidates)) => {
                if let Some(artifact) = p.live.artifacts.get(&d.address)
                    && !candidates.iter().any(|c| artifact.files.contains_key(c))
                {
                    let looked: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
                    let has: Vec<&str> =
                        artifact.files.keys().map(String::as_str).take(8).collect();
                    out.push(Diagnostic::new(
                        format!(
                            "handler `{}` names a module that is not in `{}`: Lambda looked for {} and fails the first invocation with `Runtime.ImportModuleError`",
                            d.spec.handler,
                            d.spec.source.display(),
                            looked.join(" or ")
                        ),
                        d.spec.handler_loc,
                        format!("name a module the folder holds (it has {}), or add the file", has.join(", ")),
                    ));
                }
            }
            Ok(None) => {}
        }
        if let Some(runtime) = super::runtimes::find(&d.spec.runtime) {
            let exists = if p.ctx.offline {
                None
            } else {
                Some(
                    p.live
                        .functions
                        .get(&d.address)
                        .is_some_and(|s| s.function.is_some()),
                )
            };
            let help = format!(
                "move to `{}` (AWS's runtime lifecycle, as of {})",
                super::runtimes::replacement(runtime.id),
                super::runtimes::TAKEN
            );
            match super::runtimes::lifecycle(runtime, p.ctx.today, exists) {
                super::runtimes::Lifecycle::Blocked(m) => {
                    out.push(Diagnostic::new(m, d.spec.runtime_loc, help));
                }
                super::runtimes::Lifecycle::Deprecated(m) => {
                    out.push(Diagnostic::warning(m, d.spec.runtime_loc, help));
                }
                super::runtimes::Lifecycle::Supported => {}
            }
        }
        out
    }

    /// Exports the name and the ARN, which Lambda builds from region, account and name
    /// (`super::arn`), so both are known before the function exists.
    fn seed_known(p: &mut Planner<'_>, f: &Declared<FunctionSpec>) {
        p.export(&f.address, Attr::Name, f.spec.name.clone());
        p.export(
            &f.address,
            Attr::Arn,
            super::arn(&p.ctx.region, &p.ctx.account, &f.spec.name),
        );
    }

    /// Plans one function: its configuration with references resolved, its code compared by
    /// the deterministic zip's hash, and its log group (`plan_log_group`: made with its
    /// retention before the function; deleted after it by destroy, or when the function is
    /// disabled, unless `keep_logs`), owned by derivation from the function.
    ///
    /// Environment values are substituted with the known values for the diff, but the
    /// operation keeps the `${…}` template of any value with a reference not known yet;
    /// apply fills it in, and the change waits for the resources those references name as
    /// well as for its role. Only `name` (and a creation that ended `Failed`, see
    /// `super::diff`) forces replacement; everything else is updated in place by the steps
    /// of `super::update_steps`. A new code hash is shown as a note listing the package's
    /// files. Ownership is proven by the function's tag: in destroy, a function another
    /// stack owns is left in place, and so is its log group.
    ///
    /// # Errors
    ///
    /// `NotRefreshed` when refresh read no state or no package for the function; `Missing`
    /// for `default` subnets without a default VPC; `NotOwned` in converge when the
    /// function exists but is not this stack's; `Impossible` for an action that cannot
    /// apply to what was read.
    fn plan(p: &mut Planner<'_>, f: &Declared<Self::Spec>) -> Result<(), PlanError> {
        let state = p
            .live
            .functions
            .get(&f.address)
            .ok_or_else(|| PlanError::NotRefreshed(f.address.clone()))?;
        let live = state.function.as_ref();
        let artifact = p
            .live
            .artifacts
            .get(&f.address)
            .ok_or_else(|| PlanError::NotRefreshed(f.address.clone()))?;
        let mut missing = Vec::new();
        let mut environment = std::collections::BTreeMap::new();
        let mut templates = std::collections::BTreeMap::new();
        for (k, v) in &f.spec.environment {
            let (resolved, m) = refs::substitute(v, &p.known);
            templates.insert(
                k.clone(),
                if m.is_empty() {
                    resolved.clone()
                } else {
                    v.clone()
                },
            );
            missing.extend(m);
            environment.insert(k.clone(), resolved);
        }
        let vpc = f
            .spec
            .vpc
            .as_ref()
            .map(|sel| placement(p, &f.address, sel))
            .transpose()?;
        let role = p
            .known
            .get(&Ref::Attribute(f.spec.role.clone(), Attr::Arn))
            .cloned()
            .unwrap_or_default();
        let config = |environment| FunctionConfig {
            name: f.spec.name.clone(),
            runtime: f.spec.runtime.clone(),
            handler: f.spec.handler.clone(),
            role: role.clone(),
            memory: f.spec.memory,
            timeout: f.spec.timeout,
            description: f.spec.description.clone(),
            architecture: f.spec.architecture.clone(),
            environment,
            secrets: f.spec.secrets.clone(),
            vpc: vpc.clone(),
            code_sha256: artifact.sha256.clone(),
            tags: f.spec.tags.clone(),
        };
        let wanted = config(environment);
        let mut diffs = p.field_diffs(
            live,
            |l| super::diff(&wanted, l),
            || super::flatten(&wanted),
        );
        for d in &mut diffs {
            if d.path == "code_sha256" && d.old.is_some() {
                let files: Vec<&str> = artifact.files.keys().map(String::as_str).collect();
                d.effect = Effect::Note(format!(
                    "new package of {}: {} (the deployed files cannot be listed without downloading them)",
                    f.spec.source.display(),
                    files.join(", ")
                ));
            }
        }
        let subject = Subject {
            address: &f.address,
            name: &f.spec.name,
            exists: live.is_some(),
            owner: Ownership::Tagged(live.and_then(|l| l.owner.as_deref())),
            protected: false,
        };
        if let Some(action) = p.action(&subject, &diffs)? {
            let zip = artifact.zip.clone();
            let op = match (&action, live) {
                (Action::Create, _) => FunctionOp::Create {
                    config: config(templates),
                    zip,
                },
                (Action::Update, Some(l)) => FunctionOp::Update {
                    steps: super::update_steps(&wanted, l),
                    config: config(templates),
                    arn: l.arn.clone(),
                    zip,
                },
                (Action::Replace { .. }, _) => FunctionOp::Replace {
                    config: config(templates),
                    zip,
                },
                (Action::Update, None) | (Action::NoOp, _) => {
                    return Err(PlanError::impossible(&f.address, &action));
                }
                (Action::Delete, _) => FunctionOp::Delete {
                    in_vpc: live.is_some_and(|l| l.config.vpc.is_some()),
                },
            };
            // The log group first, with its retention: Lambda would make one that never
            // expires at the first invocation. (Dropped at the end when it has nothing to do.)
            let mut deps = vec![
                f.spec.role.clone(),
                Address::new(Kind::LogGroup, &f.address.name),
            ];
            deps.extend(waits_for(&missing));
            p.push(
                &f.address,
                &f.spec.name,
                action,
                diffs,
                Operation::Function(op),
                deps,
            );
        }
        if p.mode == Mode::Converge {
            plan_log_group(p, f, state.log_group.as_ref());
        }
        // Logs cost money for as long as they are kept, so destroy (or disabling the function)
        // removes the group unless the stack keeps it. Owned by derivation from the function.
        if p.mode == Mode::Destroy && !f.spec.keep_logs && state.log_group.is_some() {
            let function_skipped =
                live.is_some_and(|l| l.owner.as_deref() != Some(p.stack.name.as_str()));
            if !function_skipped {
                let address = Address::new(Kind::LogGroup, &f.address.name);
                let name = super::log_group_name(&f.spec.name);
                p.push(
                    &address,
                    &name,
                    Action::Delete,
                    Vec::new(),
                    Operation::Function(FunctionOp::DeleteLogGroup),
                    Vec::new(),
                );
                // Destroy walks edges backwards: the function goes first, then its logs.
                if let Some(function) = p.changes.iter_mut().find(|c| c.address == f.address)
                    && !function.depends_on.contains(&address)
                {
                    function.depends_on.push(address);
                }
            }
        }
        Ok(())
    }
}
