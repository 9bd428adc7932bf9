//! Planning the whole stack: seed the known values, plan every declared resource kind by
//! kind (in the registry's order), then the resources the stack owns but no longer declares.

use std::collections::BTreeSet;

use super::planner::Planner;
use super::{Action, Context, LiveState, Mode, Plan, PlanError};
use crate::resources::Address;
use crate::resources::refs::{Known, Ref};
use crate::stack::Stack;

/// A planner for `mode` with every value known before planning: the account, the region
/// and each resource's early exports (`Resource::seed_known`).
fn seeded<'a>(stack: &'a Stack, live: &'a LiveState, ctx: &'a Context, mode: Mode) -> Planner<'a> {
    let mut p = Planner {
        stack,
        live,
        ctx,
        mode,
        known: Known::new(),
        changes: Vec::new(),
        notes: Vec::new(),
        errors: Vec::new(),
    };
    p.known.insert(Ref::Account, ctx.account.clone());
    p.known.insert(Ref::Region, ctx.region.clone());
    crate::resources::seed_every_kind(&mut p);
    p
}

/// The checks of `checks::run` on the values known before any change (`validate`).
pub(super) fn check_all(
    stack: &Stack,
    live: &LiveState,
    ctx: &Context,
) -> Vec<crate::stack::Diagnostic> {
    let p = seeded(stack, live, ctx, Mode::Converge);
    super::checks::run(&p)
}

/// Plans every declared resource, kind by kind (tables first: their stream ARNs feed the
/// references of the others).
pub(super) fn plan_all(
    stack: &Stack,
    live: &LiveState,
    ctx: &Context,
    mode: Mode,
) -> Result<Plan, Vec<PlanError>> {
    let mut p = seeded(stack, live, ctx, mode);
    crate::resources::plan_every_kind(&mut p);
    // Checked once every value planning knows is known; `destroy` only deletes.
    let findings = if mode == Mode::Converge {
        super::checks::run(&p)
    } else {
        Vec::new()
    };
    // Owned but no longer declared: planned for deletion, in both modes, by their kind.
    for stray in &live.orphans {
        let Some(operation) = crate::resources::stray_operation(&p, stray) else {
            continue;
        };
        let address = Address::new(stray.kind, &stray.name);
        p.notes.push(format!(
            "{address}: owned by stack `{}` but no longer declared in the stack file",
            stack.name
        ));
        if stray.protected {
            p.errors.push(PlanError::DeletionProtected {
                address,
                name: stray.name.clone(),
                action: Action::Delete,
            });
            continue;
        }
        if stray.items > 0 {
            p.notes.push(format!(
                "{address}: deleting `{}` loses its items (about {} by AWS's count, refreshed every ~6 hours)",
                stray.name, stray.items
            ));
        }
        p.push(
            &address,
            &stray.name,
            Action::Delete,
            Vec::new(),
            operation,
            Vec::new(),
        );
        if let Some(change) = p.changes.last_mut() {
            change.stray = true;
        }
    }
    // A stray role goes last: the functions and clusters that ran as it may be moving to
    // another role in this very plan, and must never run a minute under a deleted one.
    let moving: Vec<Address> = p
        .changes
        .iter()
        .filter(|c| c.action != Action::Delete)
        .map(|c| c.address.clone())
        .collect();
    for c in p
        .changes
        .iter_mut()
        .filter(|c| c.stray && c.address.kind == crate::resources::Kind::Role)
    {
        c.depends_on.extend(moving.iter().cloned());
    }
    // What it costs: converging, everything planned to exist; what the plan deletes of the
    // declared resources (all of it for destroy, the disabled ones otherwise) stops costing.
    let deleted: BTreeSet<Address> = p
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete && !c.stray)
        .map(|c| c.address.owner())
        .collect();
    let mut costs = if mode == Mode::Converge {
        crate::resources::cost_lines(stack, &ctx.region, false, &|_, enabled| enabled)
    } else {
        Vec::new()
    };
    costs.extend(crate::resources::cost_lines(
        stack,
        &ctx.region,
        true,
        &|a, _| deleted.contains(a),
    ));
    // Dependencies on resources with nothing to do are already satisfied.
    let planned: BTreeSet<Address> = p.changes.iter().map(|c| c.address.clone()).collect();
    for c in &mut p.changes {
        c.depends_on.retain(|d| planned.contains(d));
    }
    if p.errors.is_empty() {
        Ok(Plan {
            environment: ctx.environment.clone(),
            stack: stack.name.clone(),
            mode,
            changes: p.changes,
            notes: p.notes,
            known: p.known,
            findings,
            costs,
        })
    } else {
        Err(p.errors)
    }
}
