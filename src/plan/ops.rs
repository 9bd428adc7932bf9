//! What apply runs: each kind's operations (`Operation`, one variant per registered kind);
//! and the resources the stack owns but no longer declares, which their kind deletes.

use crate::resources::Kind;
pub use crate::resources::Operation;

/// A resource tagged as owned by the stack that the stack file no longer declares, as
/// refresh found it: read back (it exists and the stack owns it), with what the plan's
/// safety checks need to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stray {
    /// Its kind.
    pub kind: Kind,
    /// Its name in AWS (an id for kinds without names).
    pub name: String,
    /// Items it holds, by AWS's approximate count (0 for kinds that hold none).
    pub items: i64,
    /// Whether AWS deletion protection is on.
    pub protected: bool,
}
