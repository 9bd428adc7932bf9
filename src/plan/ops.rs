//! What apply runs: each kind's operations (`Operation`, one variant per registered kind),
//! and the resources the stack owns but no longer declares.

pub use crate::resources::Operation;

/// A stray as refresh found it: read back (it exists and the stack owns it), with what the
/// plan's safety checks need to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stray {
    /// Which resource.
    pub orphan: Orphan,
    /// Items it holds, by AWS's approximate count (a table's; 0 for kinds that hold none).
    pub items: i64,
    /// Whether AWS deletion protection is on.
    pub protected: bool,
}

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
