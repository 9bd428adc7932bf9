//! `permissions`: the least-privilege identity policy a person or a CI role needs to plan,
//! apply and destroy this stack (or, with `--plan-only`, to plan it), as JSON on stdout,
//! ready for `aws iam put-user-policy`. Its actions come from each kind's own declarations
//! (`ResourceIo::permissions`) and from what every run does (the account id, the Tagging
//! API, the lock table, VPC facts). Scoped to the stack's ARNs where IAM has resource-level
//! permissions; each `*` statement's `Sid` says why, and a note on stderr says it in words,
//! with the permissions AWS checks inside other calls (which no emulator shows).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write as _};

use serde_json::{Value, json};

use super::{CommandError, target};
use crate::aws::{Aws, WaitPolicy};
use crate::cli::{GlobalArgs, PermissionsArgs};
use crate::resources::permissions::{self, Permission, Phase, Scope};
use crate::stack;

/// What every run needs besides the kinds' own calls.
fn shared(scope: &Scope<'_>, tagging: bool) -> Vec<Permission> {
    let mut out = vec![Permission::any(
        "AccountIdHasNoResource",
        Phase::Plan,
        &["sts:GetCallerIdentity"],
        "`sts:GetCallerIdentity` (the account id in every ARN) has no resource; AWS answers it even without this grant, which names it for completeness",
    )];
    if tagging && !crate::resources::stray_types().is_empty() {
        out.push(Permission::any(
            "NoResourceTypeForTaggingApi",
            Phase::Plan,
            &["tag:GetResources"],
            "`tag:GetResources` (finding what the stack owns but no longer declares) has no resource type: it needs `*`",
        ));
    }
    out.extend(permissions::lock_table(scope));
    let uses = crate::resources::vpc_uses(scope.stack);
    let mut ec2: Vec<&'static str> = Vec::new();
    if uses.iter().any(|(key, _)| key == "default") {
        ec2.push("ec2:DescribeVpcs");
    }
    if !uses.is_empty() {
        ec2.push("ec2:DescribeRouteTables");
    }
    if uses
        .iter()
        .any(|(key, placement)| key == "default" && *placement)
    {
        ec2.extend(["ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"]);
    }
    if !ec2.is_empty() {
        out.push(Permission::any(
            "NoResourceTypeForEc2Describe",
            Phase::Plan,
            &ec2,
            "EC2's describe calls have no resource type in IAM: they need `*`",
        ));
    }
    out
}

/// One statement being built: its actions and resources (sets), its condition.
#[derive(Default)]
struct Statement {
    actions: std::collections::BTreeSet<&'static str>,
    resources: std::collections::BTreeSet<String>,
    condition: Option<Value>,
}

/// The policy document for `perms`: one statement per `Sid`, in the order first seen.
#[must_use]
pub fn document(perms: &[Permission]) -> Value {
    let mut order: Vec<String> = Vec::new();
    let mut by_sid: BTreeMap<String, Statement> = BTreeMap::new();
    for p in perms {
        if !by_sid.contains_key(&p.sid) {
            order.push(p.sid.clone());
        }
        let s = by_sid.entry(p.sid.clone()).or_default();
        s.actions.extend(p.actions.iter().copied());
        s.resources.extend(p.resources.iter().cloned());
        if let Some(c) = &p.condition {
            merge_condition(&mut s.condition, c);
        }
    }
    let statements: Vec<Value> = order
        .iter()
        .filter_map(|sid| by_sid.get(sid).map(|s| (sid, s)))
        .map(|(sid, s)| {
            let mut v = json!({
                "Sid": sid,
                "Effect": "Allow",
                "Action": s.actions.iter().collect::<Vec<_>>(),
                "Resource": if s.resources.len() == 1 && s.resources.contains("*") {
                    json!("*")
                } else {
                    json!(s.resources.iter().collect::<Vec<_>>())
                },
            });
            if let Some(c) = &s.condition {
                v["Condition"] = c.clone();
            }
            v
        })
        .collect();
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Joins the values of two condition blocks of one statement (`StringEquals` on one key
/// with more values: any of them).
fn merge_condition(into: &mut Option<Value>, add: &Value) {
    let Some(existing) = into else {
        *into = Some(add.clone());
        return;
    };
    let (Value::Object(have), Value::Object(more)) = (existing, add) else {
        return;
    };
    for (op, keys) in more {
        let entry = have.entry(op.clone()).or_insert_with(|| json!({}));
        let (Value::Object(entry), Value::Object(keys)) = (entry, keys) else {
            continue;
        };
        for (key, value) in keys {
            let mut values: Vec<Value> = match entry.get(key) {
                Some(Value::Array(a)) => a.clone(),
                Some(v) => vec![v.clone()],
                None => Vec::new(),
            };
            match value {
                Value::Array(a) => values.extend(a.iter().cloned()),
                v => values.push(v.clone()),
            }
            values.sort_by_key(ToString::to_string);
            values.dedup();
            entry.insert(
                key.clone(),
                if values.len() == 1 {
                    values.remove(0)
                } else {
                    Value::Array(values)
                },
            );
        }
    }
}

/// Every permission the stack needs in `scope`, the `plan`-only ones when `plan_only`.
#[must_use]
pub fn needed(scope: &Scope<'_>, tagging: bool, plan_only: bool) -> Vec<Permission> {
    let mut perms = shared(scope, tagging);
    perms.extend(crate::resources::permissions_every_kind(scope));
    if plan_only {
        perms.retain(|p| p.phase == Phase::Plan);
    }
    perms
}

/// The note for stderr: why each `*` statement is `*`, which permissions AWS checks inside
/// other calls, and what the policy leaves out.
#[must_use]
pub fn note(perms: &[Permission], stack: &stack::Stack) -> String {
    let mut out = String::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in perms.iter().filter(|p| p.resources == ["*"] && !p.aws_only) {
        if seen.insert(&p.sid) {
            let _ = writeln!(
                out,
                "note: `Resource: \"*\"` in `{}`: {}",
                p.sid,
                p.why.unwrap_or("")
            );
        }
    }
    let mut aws_only: Vec<&str> = perms
        .iter()
        .filter(|p| p.aws_only)
        .flat_map(|p| p.actions.iter().copied())
        .collect();
    aws_only.sort_unstable();
    aws_only.dedup();
    if !aws_only.is_empty() {
        let _ = writeln!(
            out,
            "note: needed on AWS only (checked inside other calls, never a call of the tool's own, so an emulator never shows them): {}",
            aws_only.join(", ")
        );
        for p in perms.iter().filter(|p| p.aws_only) {
            if seen.insert(&p.sid) {
                let _ = writeln!(out, "  {}: {}", p.sid, p.why.unwrap_or(""));
            }
        }
    }
    let off: Vec<String> = crate::resources::declared_resources(stack)
        .into_iter()
        .filter(|(_, enabled, _)| !enabled)
        .map(|(a, _, _)| a.to_string())
        .collect();
    if !off.is_empty() {
        let _ = writeln!(
            out,
            "note: disabled here: {}: only what it takes to see they are absent is included; to delete one the stack made earlier, print this with it enabled and keep those grants until it is gone",
            off.join(", ")
        );
    }
    out.push_str("note: the ARNs are this stack file's names: a resource renamed in the file is deleted under its old name, which this policy does not cover; print it again before renaming\n");
    out
}

/// Runs `permissions`.
pub async fn run(global: &GlobalArgs, args: &PermissionsArgs) -> Result<(), CommandError> {
    let mut stack = stack::load(&global.stack).map_err(CommandError::Stack)?;
    let engine = stack
        .environment(&args.env)
        .map_err(CommandError::Stack)?
        .engine;
    crate::resources::fit_to_engine(&mut stack, engine);
    let (env, _) = stack.select(&args.env).map_err(CommandError::Stack)?;
    let target = target(global, &env);
    let aws = Aws::connect(&target, WaitPolicy::default()).await?;
    let account = match &args.account {
        Some(account) => account.clone(),
        None => aws.account_id().await?,
    };
    let scope = Scope {
        account: &account,
        region: &aws.region,
        stack: &stack,
        backup: args.backup,
    };
    let perms = needed(&scope, engine.has_tagging_api(), args.plan_only);
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&document(&perms)).unwrap_or_default()
    )?;
    // Best effort, like all diagnostics.
    let _ = io::stderr().write_all(note(&perms, &stack).as_bytes());
    Ok(())
}
