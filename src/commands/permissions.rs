//! `permissions`: the least-privilege identity policy a person or a CI role needs to plan,
//! apply and destroy this stack (or, with `--plan-only`, to plan it), as JSON on stdout,
//! ready for IAM (a note says which call fits its size: `put-user-policy`, `create-policy`
//! or `put-role-policy`). Its actions come from each kind's own declarations
//! (`ResourceIo::permissions`) and from what every run does (the account id, the Tagging
//! API, the lock table, VPC facts). Scoped to the stack's ARNs where IAM has resource-level
//! permissions; each `*` statement's `Sid` says why, and a note on stderr says it in words,
//! with the permissions AWS checks inside other calls (which no emulator shows).

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
    sid: String,
    actions: std::collections::BTreeSet<&'static str>,
    resources: std::collections::BTreeSet<String>,
    condition: Option<Value>,
}

/// The `Sid` of the one statement that joins every `*` grant without a condition: each has
/// its own reason (the note on stderr says them all), and they are one statement so that
/// the policy stays within IAM's size limits.
pub const ANY_RESOURCE_SID: &str = "NoResourceTypeInIam";

/// The policy document for `perms`. Permissions are first joined by `Sid`, then statements
/// with the same resources and condition are joined again (a kind's reads and writes on
/// one ARN; every `*` grant without a condition, under `ANY_RESOURCE_SID`), keeping the
/// shortest `Sid` (`Tables` over `TablesRead`), in the order first seen: IAM counts every
/// character of a policy.
#[must_use]
pub fn document(perms: &[Permission]) -> Value {
    let mut by_sid: Vec<Statement> = Vec::new();
    for p in perms {
        let i = by_sid
            .iter()
            .position(|s| s.sid == p.sid)
            .unwrap_or_else(|| {
                by_sid.push(Statement {
                    sid: p.sid.clone(),
                    ..Statement::default()
                });
                by_sid.len() - 1
            });
        let s = &mut by_sid[i];
        s.actions.extend(p.actions.iter().copied());
        s.resources.extend(p.resources.iter().cloned());
        if let Some(c) = &p.condition {
            merge_condition(&mut s.condition, c);
        }
    }
    let mut joined: Vec<Statement> = Vec::new();
    for s in by_sid {
        let any = s.resources.len() == 1 && s.resources.contains("*") && s.condition.is_none();
        match joined
            .iter_mut()
            .find(|j| j.resources == s.resources && j.condition == s.condition)
        {
            Some(j) => {
                j.actions.extend(s.actions);
                if any {
                    j.sid = ANY_RESOURCE_SID.to_string();
                } else if s.sid.len() < j.sid.len() {
                    j.sid = s.sid;
                }
            }
            None => joined.push(s),
        }
    }
    let statements: Vec<Value> = joined
        .iter()
        .map(|s| {
            let mut v = json!({
                "Sid": s.sid,
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

/// The characters IAM counts in `policy` (it does not count whitespace), and a line saying
/// which way of granting it fits IAM's quotas.
#[must_use]
pub fn size_note(policy: &Value) -> String {
    let size = policy
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count();
    let fits = if size <= 2_048 {
        "it fits a user's inline policy (`aws iam put-user-policy`, 2,048)"
    } else if size <= 6_144 {
        "too large for a user's inline policy (`put-user-policy`, 2,048): create it as a managed policy (`aws iam create-policy`, 6,144) and attach it (`attach-user-policy`, `attach-role-policy`), or put it inline on a CI role (`put-role-policy`, 10,240)"
    } else if size <= 10_240 {
        "too large for a managed policy (`create-policy`, 6,144): put it inline on a role (`aws iam put-role-policy`, 10,240), or print `--plan-only` and the rest as two policies"
    } else {
        "too large for any single IAM policy: print `--plan-only` and the rest as separate policies"
    };
    format!("note: the policy is {size} characters without whitespace: {fits}\n")
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
    let any: Vec<&Permission> = perms
        .iter()
        .filter(|p| p.resources == ["*"] && p.condition.is_none())
        .collect();
    if !any.is_empty() {
        let _ = writeln!(
            out,
            "note: `Resource: \"*\"` in `{ANY_RESOURCE_SID}`: IAM has no resource to scope these to:"
        );
    }
    for p in &any {
        if seen.insert(&p.why) {
            let _ = writeln!(out, "  {}: {}", p.actions.join(", "), p.why.unwrap_or(""));
        }
    }
    for p in perms
        .iter()
        .filter(|p| p.resources == ["*"] && p.condition.is_some())
    {
        if seen.insert(&p.why) {
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
            if seen.insert(&p.why) {
                let _ = writeln!(out, "  {}: {}", p.actions.join(", "), p.why.unwrap_or(""));
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
    let (stack, env, _) = super::load(global, &args.env)?;
    let engine = env.engine;
    let target = target(global, &env);
    let aws = Aws::connect(&target, WaitPolicy::default()).await?;
    let account = match &args.account {
        Some(account) => account.clone(),
        None => aws.account_id().await.map_err(|e| {
            CommandError::Refused(format!(
                "{e}\n  help: or pass `--account <id>` to print the policy without asking STS"
            ))
        })?,
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
    let _ = io::stderr().write_all(size_note(&document(&perms)).as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_on_the_same_resources_join_under_the_shortest_sid_and_every_star_under_one() {
        let arn = || vec!["arn:aws:dynamodb:r:1:table/t".to_string()];
        let perms = [
            Permission::new(
                "TablesRead",
                Phase::Plan,
                &["dynamodb:DescribeTable"],
                arn(),
            ),
            Permission::any(
                "NoResourceTypeForA",
                Phase::Plan,
                &["ec2:DescribeVpcs"],
                "a",
            ),
            Permission::new("Tables", Phase::Change, &["dynamodb:DeleteTable"], arn()),
            Permission::any(
                "NoResourceTypeForB",
                Phase::Change,
                &["logs:DescribeLogGroups"],
                "b",
            ),
            Permission::any(
                "Conditioned",
                Phase::Change,
                &["lambda:CreateEventSourceMapping"],
                "c",
            )
            .when(json!({"StringEquals": {"lambda:FunctionArn": ["arn:f1"]}})),
            Permission::any(
                "Conditioned",
                Phase::Change,
                &["lambda:CreateEventSourceMapping"],
                "c",
            )
            .when(json!({"StringEquals": {"lambda:FunctionArn": ["arn:f2"]}})),
        ];
        let doc = document(&perms);
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 3, "{doc:#}");
        assert_eq!(statements[0]["Sid"], "Tables");
        assert_eq!(
            statements[0]["Action"],
            json!(["dynamodb:DeleteTable", "dynamodb:DescribeTable"])
        );
        assert_eq!(statements[1]["Sid"], ANY_RESOURCE_SID);
        assert_eq!(statements[1]["Resource"], "*");
        assert_eq!(
            statements[1]["Action"],
            json!(["ec2:DescribeVpcs", "logs:DescribeLogGroups"])
        );
        // A condition keeps its statement apart, and one key's values join.
        assert_eq!(
            statements[2]["Condition"],
            json!({"StringEquals": {"lambda:FunctionArn": ["arn:f1", "arn:f2"]}})
        );
        assert!(size_note(&doc).contains("it fits a user's inline policy"));
    }
}
