//! `apply` and `destroy`: plan, show, guard data, confirm, lock, re-check, execute,
//! summarize.

use std::io::{self, Write};
use std::path::Path;

use futures::future::try_join_all;

use super::{CommandError, Session, StderrEvents, confirm, confirm_name, open, refresh};
use crate::aws::Api;
use crate::cli::{ConfirmArgs, GlobalArgs};
use crate::plan::document::{self, PlanDocument};
use crate::plan::{LiveState, Mode, Plan};
use crate::render::human;
use crate::resources::Address;

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

/// Refuses a plan that deletes tables holding items, unless `allow_data_loss`; and
/// `--backup` where the engine keeps none. Nothing has been changed when it refuses.
async fn guard_data(
    session: &Session,
    plan: &Plan,
    allow_data_loss: bool,
    backup: bool,
) -> Result<(), CommandError> {
    let full = tables_with_items(session, plan).await?;
    if !full.is_empty() && !allow_data_loss {
        let list: Vec<String> = full.iter().map(|(a, n)| format!("{a} (`{n}`)")).collect();
        return Err(CommandError::Refused(format!(
            "this plan deletes tables that hold items: {}; nothing was changed\n  help: re-run with --allow-data-loss to accept losing them (add --backup to keep a copy first)",
            list.join(", "),
        )));
    }
    if backup
        && !session.aws.engine.has_backups()
        && plan.changes.iter().any(|c| c.deleted_table().is_some())
    {
        return Err(CommandError::Refused(format!(
            "--backup cannot keep a copy here: {} has no backups (CreateBackup is not supported there); nothing was changed\n  help: re-run without --backup (with --allow-data-loss if the tables hold items) to delete them without a copy",
            session.aws.engine.display_name(),
        )));
    }
    Ok(())
}

/// What the run was approved to do: the plan shown and confirmed, or a saved plan.
enum Approved<'a> {
    /// The plan printed above and confirmed (or `--yes`), with the live state it was
    /// made from.
    Shown(&'a Plan, LiveState),
    /// A plan saved by `plan --out`, from this file.
    Saved(&'a PlanDocument, &'a Path),
}

/// Runs `apply` (`Mode::Converge`) or `destroy` (`Mode::Destroy`).
pub async fn run(global: &GlobalArgs, args: &ConfirmArgs, mode: Mode) -> Result<(), CommandError> {
    if let Some(path) = &args.plan {
        return saved(global, args, mode, path).await;
    }
    let mut session = open(global, args.env()).await?;
    let targets = super::targets(&session, &args.targets)?;
    let live = refresh(&mut session, mode).await?;
    let mut out = io::stdout().lock();
    // The checks run before anything is shown to approve: an error stops here, no write.
    let plan = super::show_plan(&session, &live, mode, args.strict, &targets, &mut out)?;
    if plan.is_empty() {
        return Ok(());
    }
    guard_data(&session, &plan, args.allow_data_loss, args.backup).await?;
    match mode {
        Mode::Destroy if args.env() != "local" => confirm_name(args.yes, &session.stack.name)?,
        Mode::Destroy => confirm(
            args.yes,
            "Do you really want to destroy all resources listed above?",
        )?,
        Mode::Converge => confirm(args.yes, "Do you want to perform these actions?")?,
    }
    with_lock(
        &mut session,
        Approved::Shown(&plan, live),
        mode,
        &targets,
        args,
        &mut out,
    )
    .await
}

/// Takes the stack's lock for this environment (saying whose it took over), runs `locked`
/// under it and releases it, whatever `locked` answered.
async fn with_lock(
    session: &mut Session,
    approved: Approved<'_>,
    mode: Mode,
    targets: &[Address],
    args: &ConfirmArgs,
    out: &mut impl Write,
) -> Result<(), CommandError> {
    let lock = crate::lock::acquire(
        &session.aws.dynamodb,
        &session.stack.name,
        &session.ctx.environment,
        args.lock_timeout,
    )
    .await
    .map_err(|e| CommandError::Refused(e.to_string()))?;
    if let Some((holder, why)) = &lock.took_over {
        // Best effort, like all progress output.
        let _ = writeln!(io::stderr(), "note: took over the lock of {holder}: {why}");
    }
    let result = locked(session, approved, mode, targets, args, &lock, out).await;
    lock.release().await;
    result
}

/// `apply --plan FILE` (and `destroy --plan FILE`): the environment, targets and mode come
/// from the file; no question is asked. The stack file and packages are checked first,
/// then the account, region and endpoint (before the lock, which writes), then the live
/// state under the lock (`locked`).
async fn saved(
    global: &GlobalArgs,
    args: &ConfirmArgs,
    mode: Mode,
    path: &Path,
) -> Result<(), CommandError> {
    let doc = super::read_saved(path)?;
    let refuse = |why: String| refused(path, &doc, &why);
    // The verb must say what the plan does: a destroy plan is never run by `apply`.
    match (mode, doc.mode()) {
        (Mode::Destroy, Mode::Converge) => {
            return Err(refuse(
                "it converges the stack; `destroy --plan` applies only plans made by `plan --destroy` (run `apply --plan` to apply it)".into(),
            ));
        }
        (Mode::Converge, Mode::Destroy) => {
            return Err(refuse(
                "it destroys the stack; run `destroy --plan` to apply it".into(),
            ));
        }
        _ => {}
    }
    if let Some(env) = &args.env
        && *env != doc.environment
    {
        return Err(refuse(format!(
            "it was made for environment `{}`, not `{env}` (leave the environment out: it comes from the plan)",
            doc.environment
        )));
    }
    let mut session = open(global, &doc.environment).await?;
    let files = files_moved(&session, &doc);
    if !files.is_empty() {
        return Err(refuse(format!(
            "what it was made from has changed:\n  - {}",
            files.join("\n  - ")
        )));
    }
    let account = session.aws.account_id().await?;
    let here = (
        account.as_str(),
        session.aws.region.as_str(),
        session.header.endpoint.as_deref(),
    );
    if here
        != (
            doc.account.as_str(),
            doc.region.as_str(),
            doc.endpoint.as_deref(),
        )
    {
        let place = |(account, region, endpoint): (&str, &str, Option<&str>)| {
            format!(
                "account {account} region {region}{}",
                endpoint.map_or_else(String::new, |e| format!(" at {e}"))
            )
        };
        return Err(refuse(format!(
            "it was made in {}, and this run points at {}",
            place((&doc.account, &doc.region, doc.endpoint.as_deref())),
            place(here)
        )));
    }
    let targets = super::targets(&session, &doc.targets)?;
    let mut out = io::stdout().lock();
    super::plan::print_saved(&mut out, &doc, session.out)?;
    out.flush()?;
    if doc.changes.is_empty() {
        return Ok(());
    }
    with_lock(
        &mut session,
        Approved::Saved(&doc, path),
        mode,
        &targets,
        args,
        &mut out,
    )
    .await
}

/// The refusal of the saved plan at `path`, saying why and how to make a new one.
fn refused(path: &Path, doc: &PlanDocument, why: &str) -> CommandError {
    let targets = doc.targets.iter().fold(String::new(), |mut out, t| {
        out.push_str("--target ");
        out.push_str(t);
        out.push(' ');
        out
    });
    CommandError::Refused(format!(
        "the saved plan `{}` was not applied, and nothing was changed: {why}\n  help: make and review a new plan with `cruddur-infra plan {} {}{targets}--out {}`",
        path.display(),
        doc.environment,
        if doc.mode() == Mode::Destroy {
            "--destroy "
        } else {
            ""
        },
        path.display()
    ))
}

/// The local inputs of a saved plan that no longer match: the stack file as this run read
/// it, a package as this run built it.
fn files_moved(session: &Session, doc: &PlanDocument) -> Vec<String> {
    let mut moved = Vec::new();
    if session.stack.source_sha256 != doc.stack_file.sha256 {
        moved.push(format!(
            "the stack file `{}` was edited since the plan was made",
            session.stack.path.display()
        ));
    }
    let now: std::collections::BTreeMap<String, &str> = session
        .artifacts
        .iter()
        .map(|(a, art)| (a.to_string(), art.sha256.as_str()))
        .collect();
    for p in &doc.packages {
        match now.get(&p.address) {
            Some(sha) if *sha == p.sha256 => {}
            Some(_) => {
                let source = session
                    .stack
                    .functions
                    .iter()
                    .find(|f| f.address.to_string() == p.address)
                    .map(|f| format!(" (`{}`)", f.spec.source.display()))
                    .unwrap_or_default();
                moved.push(format!(
                    "the package of {}{source} changed since the plan was made (its source files were edited)",
                    p.address
                ));
            }
            None => moved.push(format!("{} is no longer in the stack file", p.address)),
        }
    }
    for address in now.keys() {
        if !doc.packages.iter().any(|p| &p.address == address) {
            moved.push(format!("{address} was added to the stack file"));
        }
    }
    moved
}

/// The part that runs under the lock: re-read, check the approved plan still holds, back
/// up, apply.
async fn locked(
    session: &mut Session,
    approved: Approved<'_>,
    mode: Mode,
    targets: &[Address],
    args: &ConfirmArgs,
    lock: &crate::lock::Guard,
    out: &mut impl Write,
) -> Result<(), CommandError> {
    // Another run may have changed things between our plan and the lock. A shown plan's
    // changes (and what they depend on) are read again, each proving its owner with its own
    // reads; the rest was read for the plan and this run does not touch it. A saved plan
    // was read long ago: everything is read again.
    let live = match &approved {
        // Destroying, what depends on a deleted resource may have been made since the plan
        // (and must go first); a lock taken over means another run was changing the stack:
        // both read everything again.
        Approved::Shown(shown, base) if mode == Mode::Converge && lock.took_over.is_none() => {
            super::refresh_changed(session, mode, shown, base.clone()).await?
        }
        Approved::Shown(..) | Approved::Saved(..) => refresh(session, mode).await?,
    };
    let plan = super::make_plan(session, &live, mode, targets)?;
    let session = &*session;
    let inputs = super::inputs(session, targets);
    let fresh = PlanDocument::of(&plan, &inputs);
    match approved {
        Approved::Shown(shown, _) => {
            // Compared whole, secrets' values included; the document form names what moved.
            let same = plan.changes.len() == shown.changes.len()
                && plan.changes.iter().zip(&shown.changes).all(|(a, b)| {
                    a.address == b.address && a.action == b.action && a.diffs == b.diffs
                });
            if !same {
                let mut moved = document::moved(&PlanDocument::of(shown, &inputs), &fresh);
                if moved.is_empty() {
                    moved.push("a secret's value in AWS changed".into());
                }
                return Err(CommandError::Refused(format!(
                    "AWS changed while this run waited for the lock, so the plan shown is out of date; nothing was changed:\n  - {}\n  help: run the command again to see the new plan",
                    moved.join("\n  - ")
                )));
            }
        }
        Approved::Saved(doc, path) => {
            let refuse = |why: String| refused(path, doc, &why);
            let moved = document::moved(doc, &fresh);
            if !moved.is_empty() {
                return Err(refuse(format!(
                    "AWS no longer matches what it was made from:\n  - {}",
                    moved.join("\n  - ")
                )));
            }
            // Nothing was asked before the lock: the checks (whose findings may depend on
            // what AWS holds) and the data guard run here, before any write.
            super::report_findings(session, &plan, args.strict)?;
            guard_data(session, &plan, args.allow_data_loss, args.backup).await?;
        }
    }
    let backup = args.backup;
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
    let started = std::time::Instant::now();
    let outcome = crate::apply::apply(&session.aws, &plan, &sink, Some(lock)).await;
    let elapsed = started.elapsed();
    // Live lines share the terminal with stdout: gone before the summary is written.
    crate::render::progress::finish();
    writeln!(out)?;
    let lost = outcome
        .lock_lost
        .as_ref()
        .map_or(0, |(_, not_started)| not_started.len());
    let undone = outcome.failed.len() + outcome.skipped.len() + outcome.interrupted.len() + lost;
    human::summary(out, &plan, undone, elapsed, session.out)?;
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
