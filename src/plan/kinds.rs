//! Planning the whole stack: seed the known values, plan every declared resource kind by
//! kind (in the registry's order), then the resources the stack owns but no longer declares.

use std::collections::BTreeSet;

use super::planner::Planner;
use super::{Action, Context, LiveState, Mode, Operation, Plan, PlanError};
use crate::resources::refs::{Known, Ref};
use crate::resources::{Address, Kind};
use crate::stack::Stack;

/// Plans every declared resource, kind by kind (tables first: their stream ARNs feed the
/// references of the others).
pub(super) fn plan_all(
    stack: &Stack,
    live: &LiveState,
    ctx: &Context,
    mode: Mode,
) -> Result<Plan, Vec<PlanError>> {
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
    crate::resources::plan_every_kind(&mut p);
    // Owned but no longer declared: planned for deletion, in both modes.
    let declared_endpoints: BTreeSet<&str> = live
        .endpoints
        .values()
        .flatten()
        .map(|e| e.id.as_str())
        .collect();
    for stray in &live.orphans {
        let orphan = &stray.orphan;
        if matches!(orphan, super::Orphan::Endpoint(id) if declared_endpoints.contains(id.as_str()))
        {
            continue;
        }
        let (kind, name, operation) = match orphan {
            super::Orphan::Table(n) => (Kind::Table, n, Operation::Orphan(orphan.clone())),
            super::Orphan::Function(n) => (Kind::Function, n, Operation::Orphan(orphan.clone())),
            super::Orphan::Endpoint(id) => {
                (Kind::VpcEndpoint, id, Operation::Orphan(orphan.clone()))
            }
        };
        let address = Address::new(kind, name);
        p.notes.push(format!(
            "{address}: owned by stack `{}` but no longer declared in the stack file",
            stack.name
        ));
        if stray.protected {
            p.errors.push(PlanError::DeletionProtected {
                address: address.clone(),
                name: name.clone(),
                action: Action::Delete,
            });
            continue;
        }
        if stray.items > 0 {
            p.notes.push(format!(
                "{address}: deleting `{name}` loses its items (about {} by AWS's count, refreshed every ~6 hours)",
                stray.items
            ));
        }
        p.push(
            &address,
            name,
            Action::Delete,
            Vec::new(),
            operation,
            Vec::new(),
        );
    }
    // Dependencies on resources with nothing to do are already satisfied.
    let planned: BTreeSet<Address> = p.changes.iter().map(|c| c.address.clone()).collect();
    for c in &mut p.changes {
        c.depends_on.retain(|d| planned.contains(d));
    }
    if p.errors.is_empty() {
        Ok(Plan {
            stack: stack.name.clone(),
            mode,
            changes: p.changes,
            notes: p.notes,
            known: p.known,
        })
    } else {
        Err(p.errors)
    }
}
