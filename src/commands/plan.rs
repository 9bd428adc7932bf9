//! `plan`: show what `apply` would change. Makes no write call.

use std::io;

use super::{CommandError, open, refresh};
use crate::cli::{GlobalArgs, PlanArgs};
use crate::plan::Mode;

/// Whether a plan had changes, for `--detailed-exitcode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// AWS matches the stack.
    None,
    /// Changes would be made.
    Some,
}

/// Runs `plan`.
pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> Result<Pending, CommandError> {
    let mut session = open(global, &args.env).await?;
    let live = refresh(&mut session, Mode::Converge).await?;
    let mut out = io::stdout().lock();
    let plan = super::show_plan(&session, &live, Mode::Converge, args.strict, &mut out)?;
    Ok(if plan.is_empty() {
        Pending::None
    } else {
        Pending::Some
    })
}
