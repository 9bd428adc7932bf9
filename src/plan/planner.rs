//! The planning state every kind's planning works on, and the steps they share: the fields
//! that differ in this mode, the safety checks and the action, recording a change. Pure.

use super::{Action, Change, Context, LiveState, Mode, Operation, PlanError, Subject, choose};
use crate::resources::refs::{Attr, Known, Ref};
use crate::resources::{Address, Field, FieldDiff};
use crate::stack::{Declared, Stack};

/// Planning state shared by the kinds.
pub struct Planner<'a> {
    /// The stack being planned.
    pub stack: &'a Stack,
    /// What refresh read.
    pub live: &'a LiveState,
    /// Account and region.
    pub ctx: &'a Context,
    /// Converge or destroy.
    pub mode: Mode,
    /// Reference values known so far (kinds planned earlier export theirs).
    pub known: Known,
    /// Changes recorded so far.
    pub changes: Vec<Change>,
    /// Notes for the reader.
    pub notes: Vec<String>,
    /// Every problem found, not just the first.
    pub errors: Vec<PlanError>,
}

/// Every field of a resource about to be created, as changes from nothing: a create plan
/// shows what it will set, field by field, like Terraform's `+` lines.
fn additions(fields: Vec<Field>) -> Vec<FieldDiff> {
    fields
        .into_iter()
        .map(|f| FieldDiff {
            path: f.path,
            old: None,
            new: Some(f.value),
            effect: f.effect,
        })
        .collect()
}

/// The addresses behind unknown references (what must be applied first).
pub(crate) fn waits_for(missing: &[Ref]) -> Vec<Address> {
    let mut out: Vec<Address> = missing
        .iter()
        .filter_map(|r| match r {
            Ref::Attribute(a, _) => Some(a.clone()),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

impl Planner<'_> {
    /// The fields that differ in this mode: against the live resource, every field a create
    /// will set, or none for destroy (which only deletes).
    pub(crate) fn field_diffs<L>(
        &self,
        live: Option<&L>,
        diff: impl FnOnce(&L) -> Vec<FieldDiff>,
        creation: impl FnOnce() -> Vec<Field>,
    ) -> Vec<FieldDiff> {
        match (self.mode, live) {
            (Mode::Converge, Some(l)) => diff(l),
            (Mode::Converge, None) => additions(creation()),
            (Mode::Destroy, _) => Vec::new(),
        }
    }

    /// The safety checks and the action (`choose`), with this plan's stack, mode and notes.
    pub(crate) fn action(
        &mut self,
        subject: &Subject<'_>,
        diffs: &[FieldDiff],
    ) -> Result<Option<Action>, PlanError> {
        choose(&self.stack.name, self.mode, subject, diffs, &mut self.notes)
    }

    /// Plans every declared resource of one kind with `plan`, collecting every error.
    ///
    /// A resource disabled in this environment is planned as `destroy` plans it, whatever
    /// this plan's mode: absent here, so deleted if the stack owns it and left alone
    /// otherwise. Its change is a `Delete`, which apply orders after its dependents'
    /// deletions (`order::waves`).
    pub(crate) fn each<S>(
        &mut self,
        declared: &[Declared<S>],
        plan: fn(&mut Self, &Declared<S>) -> Result<(), PlanError>,
    ) {
        for d in declared {
            let mode = self.mode;
            if !d.enabled {
                self.mode = Mode::Destroy;
            }
            let planned = plan(self, d);
            self.mode = mode;
            if let Err(e) = planned {
                self.errors.push(e);
            }
        }
    }

    /// Makes a value known to the resources planned after this one.
    pub(crate) fn export(&mut self, address: &Address, attr: Attr, value: String) {
        self.known
            .insert(Ref::Attribute(address.clone(), attr), value);
    }

    /// Records one change; dependencies on resources with nothing to do are dropped at the end
    /// of planning, when every change is known.
    pub(crate) fn push(
        &mut self,
        address: &Address,
        name: &str,
        action: Action,
        diffs: Vec<FieldDiff>,
        operation: Operation,
        depends_on: Vec<Address>,
    ) {
        self.changes.push(Change {
            address: address.clone(),
            name: name.to_string(),
            action,
            diffs,
            operation,
            depends_on,
            stray: false,
        });
    }
}
