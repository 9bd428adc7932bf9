//! Planning: `(Stack, LiveState, Context) → Plan`, pure and synchronous. The plan is a value
//! that records every decision, so `apply` executes it without choosing anything.
//!
//! Safety rules live here, before any write: a resource the stack does not own is never
//! updated or deleted, and a table under deletion protection is never replaced or deleted.
//! References are substituted here when their values are known (ARNs are built from the
//! account and region); the rest (a new stream's ARN) render as `(known after apply)` and
//! make the referring resource wait for the one referred to.

pub mod action;
pub mod checks;
pub mod date;
pub mod document;
mod kinds;
pub mod ops;
pub mod order;
pub mod planner;
pub mod target;

use std::fmt;

pub use crate::resources::LiveState;
pub use action::{Action, Intent, decide};
pub use date::Date;
pub use ops::{Operation, Stray};
pub use planner::Planner;
pub(crate) use planner::waits_for;

use crate::resources::refs::Known;
use crate::resources::{Address, FieldDiff};
use crate::stack::Stack;

/// Where the stack is being planned: the facts ARNs are built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Account id (from STS).
    pub account: String,
    /// Region.
    pub region: String,
    /// The environment's name in the stack file (`local`, `prod`).
    pub environment: String,
    /// The day the plan is made (UTC), for the checks that depend on it (runtime dates).
    pub today: Date,
    /// Whether this is `validate`: nothing was read from AWS, so the account may be
    /// unknown and whether a resource exists is not known.
    pub offline: bool,
}

/// One resource's planned change.
#[derive(Debug, Clone, PartialEq)]
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
    /// Addresses that must be applied first (destroy: deleted after).
    pub depends_on: Vec<Address>,
    /// Whether it deletes a resource the stack owns but no longer declares.
    pub stray: bool,
}

impl Change {
    /// The AWS name of the table this change deletes, if it deletes one: a replacement, a
    /// deletion, or a table no longer declared (a rename is one). Every one of them goes
    /// through the same data-loss guard and the same `--backup`.
    #[must_use]
    pub fn deleted_table(&self) -> Option<&str> {
        self.operation.deletes_data().then_some(self.name.as_str())
    }
}

/// Whether a plan converges the stack or destroys it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `plan` / `apply`.
    Converge,
    /// `destroy`.
    Destroy,
}

/// A complete plan: every change, in declaration order, plus notes for the reader.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The environment planned for (`local`, `prod`): create tokens are kept per
    /// environment, since two environments may share an account.
    pub environment: String,
    /// The stack.
    pub stack: String,
    /// Converge or destroy.
    pub mode: Mode,
    /// Changes that do something (no-ops are left out).
    pub changes: Vec<Change>,
    /// Things the reader should know that are not changes (resources left in place).
    pub notes: Vec<String>,
    /// Reference values known at plan time; apply adds the rest as they appear.
    pub known: Known,
    /// What the checks found (`checks::run`): errors refuse the plan before any write,
    /// warnings are shown with it.
    pub findings: Vec<crate::stack::Diagnostic>,
    /// What the stack costs while it exists, and what stops costing (each kind's
    /// `Resource::costs`), shown at the end of the plan.
    pub costs: Vec<String>,
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
        counts(self.changes.iter().map(|c| &c.action))
    }
}

/// Counts to add, change and destroy of these actions (see `Plan::counts`).
#[must_use]
pub fn counts<'a>(actions: impl Iterator<Item = &'a Action>) -> (usize, usize, usize) {
    actions.fold((0, 0, 0), |(a, c, d), action| match action {
        Action::Create => (a + 1, c, d),
        Action::Update => (a, c + 1, d),
        Action::Replace { .. } => (a + 1, c, d + 1),
        Action::Delete => (a, c, d + 1),
        Action::NoOp => (a, c, d),
    })
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
    /// A fact the plan needs is missing from the account (no default VPC, …).
    Missing {
        /// The address.
        address: Address,
        /// What is missing and how to fix it.
        message: String,
    },
    /// The change would exceed an AWS quota that apply would only meet halfway.
    Quota {
        /// The address.
        address: Address,
        /// Which quota, by how much, and how to fix it.
        message: String,
    },
    /// Refresh did not read a declared resource (a bug, never expected).
    NotRefreshed(Address),
    /// An action that cannot apply to what was read (an update of nothing, say): a bug in
    /// planning, refused instead of guessed.
    Impossible {
        /// The address.
        address: Address,
        /// The action chosen.
        action: Action,
    },
}

impl PlanError {
    /// The typed error for an action that cannot apply to the live state read.
    #[must_use]
    pub fn impossible(address: &Address, action: &Action) -> Self {
        PlanError::Impossible {
            address: address.clone(),
            action: action.clone(),
        }
    }
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
                    "{address}: `{name}` already exists and is owned by {by}, not by this stack\n  help: the tool never changes what it does not own; to take it over, run `cruddur-infra adopt <env> {address}`; or give the stack's resource another name"
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
            PlanError::Missing { address, message } | PlanError::Quota { address, message } => {
                write!(f, "{address}: {message}")
            }
            PlanError::NotRefreshed(address) => {
                write!(f, "{address}: live state was not read (this is a bug)")
            }
            PlanError::Impossible { address, action } => write!(
                f,
                "{address}: planning chose `{action}`, which cannot apply to what AWS reports (this is a bug); nothing was changed"
            ),
        }
    }
}

/// How a resource's ownership is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ownership<'a> {
    /// By its own ownership tag: the stack it names, if any.
    Tagged(Option<&'a str>),
    /// By derivation: a mapping of an owned function, a function's log group.
    Derived,
}

/// What the generic part of planning needs to know about one resource.
pub(crate) struct Subject<'a> {
    /// Its address.
    pub address: &'a Address,
    /// Its AWS name.
    pub name: &'a str,
    /// Whether it exists.
    pub exists: bool,
    /// How ownership is proven.
    pub owner: Ownership<'a>,
    /// AWS deletion protection.
    pub protected: bool,
}

/// The safety checks and the action, for any kind: `None` when there is nothing to do.
pub(crate) fn choose(
    stack: &str,
    mode: Mode,
    s: &Subject<'_>,
    diffs: &[FieldDiff],
    notes: &mut Vec<String>,
) -> Result<Option<Action>, PlanError> {
    if s.exists
        && let Ownership::Tagged(owner) = s.owner
        && owner != Some(stack)
    {
        if mode == Mode::Destroy {
            notes.push(format!(
                "{}: `{}` is not owned by stack `{stack}`; left in place",
                s.address, s.name
            ));
            return Ok(None);
        }
        return Err(PlanError::NotOwned {
            address: s.address.clone(),
            name: s.name.to_string(),
            owner: owner.map(str::to_string),
        });
    }
    let intent = if mode == Mode::Destroy {
        Intent::Remove
    } else {
        Intent::Converge
    };
    let action = decide(intent, s.exists, diffs);
    if s.protected && matches!(action, Action::Delete | Action::Replace { .. }) {
        return Err(PlanError::DeletionProtected {
            address: s.address.clone(),
            name: s.name.to_string(),
            action,
        });
    }
    Ok((action != Action::NoOp).then_some(action))
}

/// The checks alone, without planning (`validate`): `live` is what is known of AWS (nothing
/// offline), `ctx` says where.
#[must_use]
pub fn check(stack: &Stack, live: &LiveState, ctx: &Context) -> Vec<crate::stack::Diagnostic> {
    kinds::check_all(stack, live, ctx)
}

/// Plans `mode` for `stack` against `live`. Every problem is returned, not just the first.
pub fn plan(
    stack: &Stack,
    live: &LiveState,
    ctx: &Context,
    mode: Mode,
) -> Result<Plan, Vec<PlanError>> {
    kinds::plan_all(stack, live, ctx, mode)
}

#[cfg(test)]
mod tests;
