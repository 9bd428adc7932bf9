//! `apply` and `destroy`: plan, show, confirm, execute, summarize.

use std::io::{self, Write};

use super::{CommandError, StderrEvents, confirm, open, refresh};
use crate::cli::{ConfirmArgs, GlobalArgs};
use crate::plan::{self, Mode};
use crate::render::human;

/// Runs `apply` (`Mode::Converge`) or `destroy` (`Mode::Destroy`).
pub async fn run(global: &GlobalArgs, args: &ConfirmArgs, mode: Mode) -> Result<(), CommandError> {
    let session = open(global, &args.env).await?;
    let mut out = io::stdout().lock();
    human::header(&mut out, &session.header, session.out)?;
    out.flush()?;
    let live = refresh(&session, mode).await?;
    let plan = plan::plan(&session.stack, &live, &session.ctx, mode).map_err(CommandError::Plan)?;
    human::plan(&mut out, &plan, session.out)?;
    out.flush()?;
    if plan.is_empty() {
        return Ok(());
    }
    let question = match mode {
        Mode::Converge => "Do you want to perform these actions?",
        Mode::Destroy => "Do you really want to destroy all resources listed above?",
    };
    confirm(args.yes, question)?;
    writeln!(out)?;
    out.flush()?;
    let sink = StderrEvents(session.err);
    let outcome = crate::apply::apply(&session.aws, &plan, &sink).await;
    writeln!(out)?;
    human::summary(
        &mut out,
        &plan,
        outcome.failed.len() + outcome.skipped.len(),
        session.out,
    )?;
    if outcome.failed.is_empty() && outcome.skipped.is_empty() {
        Ok(())
    } else {
        Err(CommandError::ApplyFailed(
            outcome.failed.len() + outcome.skipped.len(),
        ))
    }
}
