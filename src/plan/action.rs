//! What the plan does to one resource, and the one function that chooses it.

use std::fmt;

use crate::resources::FieldDiff;

/// The action chosen for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing differs.
    NoOp,
    /// Absent in AWS: create it.
    Create,
    /// Differs in fields AWS changes in place.
    Update,
    /// Differs in a field AWS cannot change: delete, then create. Carries the fields that
    /// force it.
    Replace {
        /// Paths of the replace-forcing fields.
        because: Vec<String>,
    },
    /// Owned but no longer wanted (destroy): delete it.
    Delete,
}

impl Action {
    /// The progressive verb for progress lines.
    #[must_use]
    pub fn verb(&self) -> &'static str {
        match self {
            Action::NoOp => "reading",
            Action::Create => "creating",
            Action::Update => "modifying",
            Action::Replace { .. } => "replacing",
            Action::Delete => "destroying",
        }
    }

    /// The noun for completion lines.
    #[must_use]
    pub fn noun(&self) -> &'static str {
        match self {
            Action::NoOp => "read",
            Action::Create => "creation",
            Action::Update => "modifications",
            Action::Replace { .. } => "replacement",
            Action::Delete => "destruction",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace { .. } => "replace",
            Action::Delete => "delete",
        })
    }
}

/// What the stack wants for a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Declared: make AWS match.
    Converge,
    /// Being destroyed: remove it.
    Remove,
}

/// Chooses the action for one resource from what is wanted, whether it exists, and how it
/// differs. Total and side-effect free: every plan goes through here.
#[must_use]
pub fn decide(intent: Intent, exists: bool, diffs: &[FieldDiff]) -> Action {
    match (intent, exists) {
        (Intent::Remove, false) => Action::NoOp,
        (Intent::Remove, true) => Action::Delete,
        (Intent::Converge, false) => Action::Create,
        (Intent::Converge, true) => {
            let because: Vec<String> = diffs
                .iter()
                .filter(|d| d.forces_replacement())
                .map(|d| d.path.clone())
                .collect();
            if !because.is_empty() {
                Action::Replace { because }
            } else if diffs.is_empty() {
                Action::NoOp
            } else {
                Action::Update
            }
        }
    }
}
