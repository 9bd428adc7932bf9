//! `permissions`: the least-privilege policy for the operator (filled in below).

use super::CommandError;
use crate::cli::{GlobalArgs, PermissionsArgs};

/// Runs `permissions`.
pub async fn run(global: &GlobalArgs, args: &PermissionsArgs) -> Result<(), CommandError> {
    let _ = (global, args);
    Ok(())
}
