//! `apply` and `destroy`: plan, show, guard data, confirm, lock, re-check, execute,
//! summarize.

use std::io::{self, Write};

use futures::future::try_join_all;

use super::{CommandError, Session, StderrEvents, confirm, confirm_name, open, refresh};
use crate::aws::Api;
use crate::cli::{ConfirmArgs, GlobalArgs};
use crate::plan::{self, Mode, Plan};
use crate::render::human;

/// Tables the plan deletes that hold items, by address and name: replaced, destroyed, or
/// no longer declared (renamed) alike.
async fn tables_with_items(
    session: &Session,
    plan: &Plan,
) -> Result<Vec<(String, String)>, CommandError> {
    let sink = StderrEvents(session.err);
    let losing = plan
        .changes
        .iter()
        .filter_map(|c| c.deleted_table().map(|name| (c, name)));
    let probes = try_join_all(losing.map(|(c, name)| {
        let sink = &sink;
        async move {
            let api = Api::new(&session.aws, &c.address, sink);
            Ok::<_, crate::aws::AwsError>((
                c.address.to_string(),
                name.to_string(),
                crate::resources::holds_data(api, c).await?,
            ))
        }
    }))
    .await?;
    Ok(probes
        .into_iter()
        .filter(|(_, _, full)| *full)
        .map(|(a, n, _)| (a, n))
        .collect())
}

/// Runs `apply` (`Mode::Converge`) or `destroy` (`Mode::Destroy`).
pub async fn run(global: &GlobalArgs, args: &ConfirmArgs, mode: Mode) -> Result<(), CommandError> {
    let mut session = open(global, &args.env).await?;
    let live = refresh(&mut session, mode).await?;
    let mut out = io::stdout().lock();
    // The checks run before anything is shown to approve: an error stops here, no write.
    let plan = super::show_plan(&session, &live, mode, args.strict, &mut out)?;
    if plan.is_empty() {
        return Ok(());
    }
    let full = tables_with_items(&session, &plan).await?;
    if !full.is_empty() && !args.allow_data_loss {
        let list: Vec<String> = full.iter().map(|(a, n)| format!("{a} (`{n}`)")).collect();
        return Err(CommandError::Refused(format!(
            "this plan deletes tables that hold items: {}; nothing was changed\n  help: re-run with --allow-data-loss to accept losing them (add --backup to keep a copy first)",
            list.join(", "),
        )));
    }
    if args.backup
        && !session.aws.engine.has_backups()
        && plan.changes.iter().any(|c| c.deleted_table().is_some())
    {
        return Err(CommandError::Refused(format!(
            "--backup cannot keep a copy here: {} has no backups (CreateBackup is not supported there); nothing was changed\n  help: re-run without --backup (with --allow-data-loss if the tables hold items) to delete them without a copy",
            session.aws.engine.display_name(),
        )));
    }
    match mode {
        Mode::Destroy if args.env != "local" => confirm_name(args.yes, &session.stack.name)?,
        Mode::Destroy => confirm(
            args.yes,
            "Do you really want to destroy all resources listed above?",
        )?,
        Mode::Converge => confirm(args.yes, "Do you want to perform these actions?")?,
    }
    let lock = crate::lock::acquire(
        &session.aws.dynamodb,
        &session.stack.name,
        &args.env,
        args.lock_timeout,
    )
    .await
    .map_err(|e| CommandError::Refused(e.to_string()))?;
    if let Some((holder, why)) = &lock.took_over {
        // Best effort, like all progress output.
        let _ = writeln!(io::stderr(), "note: took over the lock of {holder}: {why}");
    }
    let result = locked(&mut session, &plan, mode, args.backup, &lock, &mut out).await;
    lock.release().await;
    result
}

/// The part that runs under the lock: re-read, check the plan still holds, back up, apply.
async fn locked(
    session: &mut Session,
    approved: &Plan,
    mode: Mode,
    backup: bool,
    lock: &crate::lock::Guard,
    out: &mut impl Write,
) -> Result<(), CommandError> {
    // Another run may have changed things between our plan and the lock.
    let live = refresh(session, mode).await?;
    let plan = plan::plan(&session.stack, &live, &session.ctx, mode).map_err(CommandError::Plan)?;
    let session = &*session;
    let same = plan.changes.len() == approved.changes.len()
        && plan
            .changes
            .iter()
            .zip(&approved.changes)
            .all(|(a, b)| a.address == b.address && a.action == b.action && a.diffs == b.diffs);
    if !same {
        return Err(CommandError::Refused(
            "AWS changed while this run waited for the lock, so the plan shown is out of date; nothing was changed\n  help: run the command again to see the new plan".into(),
        ));
    }
    let sink = StderrEvents(session.err);
    if backup {
        for (c, name) in plan
            .changes
            .iter()
            .filter_map(|c| c.deleted_table().map(|name| (c, name)))
        {
            let api = Api::new(&session.aws, &c.address, &sink);
            let label = format!(
                "cruddur-infra-{}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            );
            let Some(arn) = crate::resources::backup(api, c, &label).await? else {
                continue;
            };
            writeln!(out, "Backup of `{name}`: {arn}")?;
        }
    }
    writeln!(out)?;
    out.flush()?;
    // From here a Ctrl-C stops new changes only, so the lock is released and the summary
    // says what was done (`crate::interrupt`).
    crate::interrupt::install();
    let outcome = crate::apply::apply(&session.aws, &plan, &sink, Some(lock)).await;
    writeln!(out)?;
    let lost = outcome
        .lock_lost
        .as_ref()
        .map_or(0, |(_, not_started)| not_started.len());
    let undone = outcome.failed.len() + outcome.skipped.len() + outcome.interrupted.len() + lost;
    human::summary(out, &plan, undone, session.out)?;
    if !outcome.interrupted.is_empty() {
        // The lock may have been lost too: what its fence stopped was not started either.
        let mut not_started = outcome.interrupted.clone();
        if let Some((why, lost)) = &outcome.lock_lost {
            writeln!(out, "Lock lost: {why}.")?;
            not_started.extend(lost.iter().cloned());
        }
        stopped_early(out, &plan, &outcome, &not_started, "the interrupt")?;
        not_started.extend(outcome.skipped.iter().cloned());
        not_started.sort();
        not_started.dedup();
        return Err(CommandError::Interrupted(not_started.len()));
    }
    if let Some((why, not_started)) = &outcome.lock_lost {
        stopped_early(out, &plan, &outcome, not_started, "the lock was lost")?;
        return Err(CommandError::LockLost(why.clone()));
    }
    if undone == 0 {
        Ok(())
    } else {
        Err(CommandError::ApplyFailed(undone))
    }
}

/// Says what was done before a run stopped starting changes (`what`: the interrupt, the
/// lost lock) and what was not: `not_started`, with what waited on them.
fn stopped_early(
    out: &mut impl Write,
    plan: &Plan,
    outcome: &crate::apply::Outcome,
    not_started: &[crate::resources::Address],
    what: &str,
) -> io::Result<()> {
    // What waited on a change that never started did not start either.
    let mut undone = not_started.to_vec();
    undone.extend(outcome.skipped.iter().cloned());
    undone.sort();
    undone.dedup();
    let names: Vec<String> = undone.iter().map(ToString::to_string).collect();
    let done: Vec<String> = plan
        .changes
        .iter()
        .map(|c| &c.address)
        .filter(|a| !undone.contains(a) && !outcome.failed.iter().any(|(f, _)| f == *a))
        .map(ToString::to_string)
        .collect();
    writeln!(
        out,
        "Done before {what}: {}.",
        if done.is_empty() {
            "nothing".to_string()
        } else {
            done.join(", ")
        }
    )?;
    let label = if what == "the interrupt" {
        "Interrupted"
    } else {
        "Not started"
    };
    writeln!(
        out,
        "{label}: {} change(s) not started: {}.",
        names.len(),
        names.join(", ")
    )?;
    if !outcome.failed.is_empty() {
        let failed: Vec<String> = outcome.failed.iter().map(|(a, _)| a.to_string()).collect();
        writeln!(out, "Failed (see the errors above): {}.", failed.join(", "))?;
    }
    Ok(())
}
