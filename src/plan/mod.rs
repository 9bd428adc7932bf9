//! Planning: `(Stack, LiveState) → Plan`, pure and synchronous. The plan is a value that
//! records every decision, so `apply` executes it without choosing anything.
//!
//! Safety rules live here, before any write: a resource the stack does not own is never
//! updated or deleted, and a table under deletion protection is never replaced or deleted.

pub mod action;
pub mod order;

use std::collections::BTreeMap;
use std::fmt;

pub use action::{Action, Intent, decide};

use crate::resources::dynamodb_table::{self, TableLive, TableSpec, TableStep};
use crate::resources::{Address, Field, FieldDiff};
use crate::stack::Stack;

/// Live state of every resource the stack declares, as refresh read it.
#[derive(Debug, Clone, Default)]
pub struct LiveState {
    /// Tables by address (`None`: not found).
    pub tables: BTreeMap<Address, Option<TableLive>>,
}

/// What apply must do to one table; built by the planner from the chosen action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableOp {
    /// Create it.
    Create(TableSpec),
    /// Run these steps in order on the table with this ARN.
    Update {
        /// The table ARN (for tag calls).
        arn: String,
        /// The steps, in AWS's accepted order.
        steps: Vec<TableStep>,
    },
    /// Delete the table of this name, wait until it is gone, then create this one.
    Replace(TableSpec),
    /// Delete it and wait until it is gone.
    Delete,
}

/// The kind-specific work of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// A table.
    Table(TableOp),
}

/// One resource's planned change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Its address.
    pub address: Address,
    /// Its name in AWS.
    pub name: String,
    /// What will be done.
    pub action: Action,
    /// Fields that differ (for updates and replacements) or will be set (creates).
    pub diffs: Vec<FieldDiff>,
    /// What apply runs.
    pub operation: Operation,
    /// Addresses that must be applied first.
    pub depends_on: Vec<Address>,
}

/// Whether a plan converges the stack or destroys it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `plan` / `apply`.
    Converge,
    /// `destroy`.
    Destroy,
}

/// A complete plan: every change, in file order, plus notes for the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The stack.
    pub stack: String,
    /// Converge or destroy.
    pub mode: Mode,
    /// Changes that do something (no-ops are left out).
    pub changes: Vec<Change>,
    /// Things the reader should know that are not changes (resources left in place).
    pub notes: Vec<String>,
}

impl Plan {
    /// Whether nothing would change.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Counts to add, change and destroy; a replacement adds one and destroys one, as in
    /// Terraform.
    #[must_use]
    pub fn counts(&self) -> (usize, usize, usize) {
        self.changes
            .iter()
            .fold((0, 0, 0), |(a, c, d), ch| match ch.action {
                Action::Create => (a + 1, c, d),
                Action::Update => (a, c + 1, d),
                Action::Replace { .. } => (a + 1, c, d + 1),
                Action::Delete => (a, c, d + 1),
                Action::NoOp => (a, c, d),
            })
    }
}

/// A reason the plan cannot be made safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// A resource with the declared name exists but the stack does not own it.
    NotOwned {
        /// The address.
        address: Address,
        /// The AWS name.
        name: String,
        /// The stack that owns it, if any.
        owner: Option<String>,
    },
    /// The change would delete a table under deletion protection.
    DeletionProtected {
        /// The address.
        address: Address,
        /// The AWS name.
        name: String,
        /// What was planned.
        action: Action,
    },
    /// Refresh did not read a declared resource (a bug, never expected).
    NotRefreshed(Address),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::NotOwned {
                address,
                name,
                owner,
            } => {
                let by = owner
                    .as_ref()
                    .map_or_else(|| "no stack".to_string(), |o| format!("stack `{o}`"));
                write!(
                    f,
                    "{address}: `{name}` already exists and is owned by {by}, not by this stack\n  help: the tool never changes what it does not own; rename the resource in the stack file, or delete or tag the existing one yourself"
                )
            }
            PlanError::DeletionProtected {
                address,
                name,
                action,
            } => write!(
                f,
                "{address}: `{name}` has deletion protection on, so it cannot be {}\n  help: set `deletion_protection: false` in the stack file and run `apply` first, then run this again",
                if *action == Action::Delete {
                    "deleted"
                } else {
                    "replaced"
                }
            ),
            PlanError::NotRefreshed(address) => {
                write!(f, "{address}: live state was not read (this is a bug)")
            }
        }
    }
}

fn table_change(
    stack: &Stack,
    mode: Mode,
    address: &Address,
    spec: &TableSpec,
    live: Option<&TableLive>,
    notes: &mut Vec<String>,
) -> Result<Option<Change>, PlanError> {
    if let Some(l) = live
        && l.owner.as_deref() != Some(stack.name.as_str())
    {
        if mode == Mode::Destroy {
            notes.push(format!(
                "{address}: `{}` is not owned by stack `{}`; left in place",
                spec.name, stack.name
            ));
            return Ok(None);
        }
        return Err(PlanError::NotOwned {
            address: address.clone(),
            name: spec.name.clone(),
            owner: l.owner.clone(),
        });
    }
    let intent = if mode == Mode::Destroy {
        Intent::Remove
    } else {
        Intent::Converge
    };
    let diffs = match (intent, live) {
        (Intent::Converge, Some(l)) => dynamodb_table::diff(spec, l),
        (Intent::Converge, None) => as_additions(dynamodb_table::creation_fields(spec)),
        (Intent::Remove, _) => Vec::new(),
    };
    let action = decide(intent, live.is_some(), &diffs);
    let protected = live.is_some_and(|l| l.config.deletion_protection);
    if protected && matches!(action, Action::Delete | Action::Replace { .. }) {
        return Err(PlanError::DeletionProtected {
            address: address.clone(),
            name: spec.name.clone(),
            action,
        });
    }
    let operation = match (&action, live) {
        (Action::NoOp, _) => return Ok(None),
        (Action::Create, _) => TableOp::Create(spec.clone()),
        (Action::Update, Some(l)) => TableOp::Update {
            arn: l.arn.clone(),
            steps: dynamodb_table::update_steps(spec, l),
        },
        (Action::Replace { .. }, _) => TableOp::Replace(spec.clone()),
        (Action::Delete, _) => TableOp::Delete,
        (Action::Update, None) => return Err(PlanError::NotRefreshed(address.clone())),
    };
    Ok(Some(Change {
        address: address.clone(),
        name: spec.name.clone(),
        action,
        diffs,
        operation: Operation::Table(operation),
        depends_on: Vec::new(),
    }))
}

fn as_additions(fields: Vec<Field>) -> Vec<FieldDiff> {
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

/// Plans `mode` for `stack` against `live`. Every problem is returned, not just the first.
pub fn plan(stack: &Stack, live: &LiveState, mode: Mode) -> Result<Plan, Vec<PlanError>> {
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    let mut errors = Vec::new();
    for table in &stack.tables {
        let Some(state) = live.tables.get(&table.address) else {
            errors.push(PlanError::NotRefreshed(table.address.clone()));
            continue;
        };
        match table_change(
            stack,
            mode,
            &table.address,
            &table.spec,
            state.as_ref(),
            &mut notes,
        ) {
            Ok(Some(change)) => changes.push(change),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(Plan {
            stack: stack.name.clone(),
            mode,
            changes,
            notes,
        })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests;
