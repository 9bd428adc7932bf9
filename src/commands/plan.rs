//! `plan`: show what `apply` would change. Makes no write call.

use std::io::{self, Write};

use super::{CommandError, open, refresh};
use crate::cli::{GlobalArgs, PlanArgs};
use crate::plan::{self, Mode};
use crate::render::human;

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
    human::header(&mut out, &session.header, session.out)?;
    let plan = plan::plan(&session.stack, &live, &session.ctx, Mode::Converge)
        .map_err(CommandError::Plan)?;
    out.flush()?;
    super::report(
        &session.stack,
        &plan.findings,
        args.strict,
        session.err.is_color(),
    )?;
    human::plan(&mut out, &plan, session.out)?;
    Ok(if plan.is_empty() {
        Pending::None
    } else {
        Pending::Some
    })
}
