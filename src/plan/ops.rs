//! What apply runs: each kind's operations (`Operation`, one variant per registered kind),
//! and the resources the stack owns but no longer declares.

pub use crate::resources::Operation;

/// A resource tagged as owned by the stack that the stack file no longer declares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Orphan {
    /// A table, by name.
    Table(String),
    /// A function, by name (its mappings and log group go with it).
    Function(String),
    /// A VPC endpoint, by id.
    Endpoint(String),
}
