//! `plan`: show what `apply` would change, as text or JSON, and save it for
//! `apply --plan`; `show`: print a saved plan. Makes no write call to AWS.

use std::io::{self, Write};
use std::path::Path;

use super::{CommandError, open, refresh};
use crate::cli::{GlobalArgs, PlanArgs, ShowArgs};
use crate::plan::Mode;
use crate::plan::document::PlanDocument;
use crate::render::{self, Header, Palette, human};

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
    let mode = if args.destroy {
        Mode::Destroy
    } else {
        Mode::Converge
    };
    let mut session = open(global, &args.env).await?;
    let targets = super::targets(&session, &args.targets)?;
    let live = refresh(&mut session, mode).await?;
    let mut out = io::stdout().lock();
    let plan = if args.json {
        // JSON alone on stdout; the checks' findings go to stderr as always (and into the
        // document).
        super::checked_plan(&session, &live, mode, args.strict, &targets)?
    } else {
        super::show_plan(&session, &live, mode, args.strict, &targets, &mut out)?
    };
    if args.json || args.out.is_some() {
        let doc = super::document(&session, &plan, &targets);
        if args.json {
            out.write_all(doc.to_json().as_bytes())?;
        }
        if let Some(path) = &args.out {
            save(path, &doc)?;
            let verb = if mode == Mode::Destroy {
                "destroy"
            } else {
                "apply"
            };
            let text = format!(
                "\nSaved the plan to {path}. To {verb} exactly this plan, run:\n    cruddur-infra {verb} --plan {path}\n",
                path = path.display()
            );
            // With `--json`, stdout holds the document alone.
            if args.json {
                let _ = io::stderr().write_all(text.as_bytes());
            } else {
                out.write_all(text.as_bytes())?;
            }
        }
    }
    out.flush()?;
    Ok(if plan.is_empty() {
        Pending::None
    } else {
        Pending::Some
    })
}

/// Writes `doc` to `path` whole or not at all: into a file beside it, then renamed over
/// it, so that an interrupted save never leaves half a plan to apply.
fn save(path: &Path, doc: &PlanDocument) -> Result<(), CommandError> {
    let fail = |e: io::Error| {
        CommandError::Refused(format!("cannot save the plan to `{}`: {e}", path.display()))
    };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let written =
        std::fs::write(&partial, doc.to_json()).and_then(|()| std::fs::rename(&partial, path));
    if let Err(e) = written {
        // Best effort: nothing half-written is left beside the plan.
        let _ = std::fs::remove_file(&partial);
        return Err(fail(e));
    }
    Ok(())
}

/// Runs `show FILE`: the saved plan as text (as `plan` printed it) or as its JSON.
pub fn show(args: &ShowArgs) -> Result<(), CommandError> {
    let doc = super::read_saved(&args.file)?;
    let mut out = io::stdout().lock();
    if args.json {
        out.write_all(doc.to_json().as_bytes())?;
        return Ok(out.flush()?);
    }
    let palette = Palette::new(render::use_color(false, render::stdout_is_terminal()));
    print_saved(&mut out, &doc, palette)?;
    Ok(out.flush()?)
}

/// Prints a saved plan as `plan` printed it, under a line saying what it is.
pub fn print_saved(out: &mut impl Write, doc: &PlanDocument, p: Palette) -> io::Result<()> {
    let header = Header {
        stack: doc.stack.clone(),
        environment: doc.environment.clone(),
        account: doc.account.clone(),
        region: doc.region.clone(),
        endpoint: None,
        notes: Vec::new(),
    };
    human::header(out, &header, p)?;
    let when = crate::plan::Date::from_unix_days((doc.created_at / 86_400) as i64);
    let secs = doc.created_at % 86_400;
    write!(
        out,
        "Saved plan ({}), made {when} {:02}:{:02} UTC by cruddur-infra {} from {}",
        if doc.mode() == Mode::Destroy {
            "destroy"
        } else {
            "converge"
        },
        secs / 3600,
        secs % 3600 / 60,
        doc.tool_version,
        doc.stack_file.path,
    )?;
    if !doc.targets.is_empty() {
        write!(out, ", limited to --target {}", doc.targets.join(", "))?;
    }
    writeln!(out)?;
    let shown: Vec<human::Shown> = doc
        .changes
        .iter()
        .map(|c| human::Shown {
            address: c.address.clone(),
            name: c.name.clone(),
            action: c.to_action(),
            diffs: c.to_diff_list(),
            stray: c.stray,
        })
        .collect();
    human::changes(out, doc.mode(), &doc.notes, &shown, &doc.costs, p)
}
