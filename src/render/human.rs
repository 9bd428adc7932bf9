//! Human-readable rendering: the plan in Terraform's notation (`+`, `~`, `-/+`, `-`, field
//! by field with `old → new`), progress lines, and the closing summaries.

use std::io::{self, Write};
use std::time::Duration;

use super::{Header, Palette, paint};
use crate::events::Event;
use crate::plan::{Action, Change, Mode, Plan};
use crate::resources::{Effect, FieldDiff, Val};

/// Writes the header line that names where the command is pointed.
pub fn header(w: &mut impl Write, h: &Header, p: Palette) -> io::Result<()> {
    paint(w, p.bold, &format!("stack {}", h.stack))?;
    write!(
        w,
        " · environment {} · account {} · region {}",
        h.environment, h.account, h.region
    )?;
    if let Some(endpoint) = &h.endpoint {
        write!(w, " · endpoint {endpoint}")?;
    }
    writeln!(w)?;
    for note in &h.notes {
        paint(w, p.dim, &format!("note: {note}"))?;
        writeln!(w)?;
    }
    Ok(())
}

fn symbol(action: &Action) -> &'static str {
    match action {
        Action::Create => "  +",
        Action::Update => "  ~",
        Action::Replace { .. } => "-/+",
        Action::Delete => "  -",
        Action::NoOp => "   ",
    }
}

fn action_style(action: &Action, p: Palette) -> anstyle::Style {
    match action {
        Action::Create => p.add,
        Action::Update => p.change,
        Action::Replace { .. } | Action::Delete => p.remove,
        Action::NoOp => p.dim,
    }
}

/// One change as the text form shows it: from a plan, or from a saved plan's document
/// (`show FILE`), so that both read the same.
#[derive(Debug, Clone)]
pub struct Shown {
    /// Its address.
    pub address: String,
    /// Its AWS name.
    pub name: String,
    /// What is done.
    pub action: Action,
    /// The fields that differ.
    pub diffs: Vec<FieldDiff>,
    /// Whether it deletes what the stack no longer declares.
    pub stray: bool,
}

impl Shown {
    /// The shown form of a planned change.
    #[must_use]
    pub fn of(c: &Change) -> Self {
        Self {
            address: c.address.to_string(),
            name: c.name.clone(),
            action: c.action.clone(),
            diffs: c.diffs.clone(),
            stray: c.stray,
        }
    }
}

fn comment(change: &Shown) -> String {
    match &change.action {
        Action::Create => format!("{} will be created", change.address),
        Action::Update => format!("{} will be updated in place", change.address),
        Action::Replace { because } => {
            format!(
                "{} must be replaced (delete, then create) because of {}",
                change.address,
                because.join(", ")
            )
        }
        Action::Delete if change.stray => {
            format!("{} will be destroyed: no longer declared", change.address)
        }
        Action::Delete => format!("{} will be destroyed", change.address),
        Action::NoOp => format!("{} is up to date", change.address),
    }
}

/// A JSON document field: shown whole when added or removed, as a line diff when changed.
fn doc_lines(w: &mut impl Write, d: &FieldDiff, p: Palette) -> io::Result<()> {
    let indent = "          ";
    match (&d.old, &d.new) {
        (Some(Val::Doc(old)), Some(Val::Doc(new))) => {
            paint(w, p.change, "      ~")?;
            writeln!(w, " {}:", d.path)?;
            let diff = similar::TextDiff::from_lines(old.as_str(), new.as_str());
            for group in diff.grouped_ops(3) {
                for op in group {
                    for change in diff.iter_changes(&op) {
                        let (sign, style) = match change.tag() {
                            similar::ChangeTag::Delete => ("-", p.remove),
                            similar::ChangeTag::Insert => ("+", p.add),
                            similar::ChangeTag::Equal => (" ", anstyle::Style::new()),
                        };
                        paint(
                            w,
                            style,
                            &format!("{indent}{sign} {}", change.value().trim_end_matches('\n')),
                        )?;
                        writeln!(w)?;
                    }
                }
            }
        }
        (old, new) => {
            let (sign, style, text) = match (old, new) {
                (_, Some(Val::Doc(text))) => ("+", p.add, text),
                (Some(Val::Doc(text)), _) => ("-", p.remove, text),
                _ => return Ok(()),
            };
            paint(w, style, &format!("      {sign}"))?;
            writeln!(w, " {} =", d.path)?;
            for line in text.lines() {
                writeln!(w, "{indent}  {line}")?;
            }
        }
    }
    Ok(())
}

fn diff_line(w: &mut impl Write, d: &FieldDiff, width: usize, p: Palette) -> io::Result<()> {
    if matches!(d.old, Some(Val::Doc(_))) || matches!(d.new, Some(Val::Doc(_))) {
        return doc_lines(w, d, p);
    }
    let pad = width.saturating_sub(d.path.chars().count());
    match (&d.old, &d.new) {
        (None, Some(new)) => {
            paint(w, p.add, "      +")?;
            write!(w, " {}{} = {new}", d.path, " ".repeat(pad))?;
        }
        (Some(old), None) => {
            paint(w, p.remove, "      -")?;
            write!(w, " {}{} = {old}", d.path, " ".repeat(pad))?;
            paint(w, p.dim, " -> null")?;
        }
        (Some(old), Some(new)) => {
            paint(w, p.change, "      ~")?;
            write!(w, " {}{} = {old} → {new}", d.path, " ".repeat(pad))?;
        }
        (None, None) => return Ok(()),
    }
    let note = match &d.effect {
        Effect::ReplacesResource if d.old.is_some() => Some("forces replacement".to_string()),
        Effect::ReplacesPart(why) if d.old.is_some() && d.new.is_some() => Some(why.clone()),
        Effect::Note(n) => Some(n.clone()),
        _ => None,
    };
    if let Some(note) = note {
        paint(w, p.remove, &format!(" # {note}"))?;
    }
    writeln!(w)
}

/// Writes the plan: each change with its fields, then the totals, or `No changes.`.
pub fn plan(w: &mut impl Write, plan: &Plan, p: Palette) -> io::Result<()> {
    let shown: Vec<Shown> = plan.changes.iter().map(Shown::of).collect();
    changes(w, plan.mode, &plan.notes, &shown, &plan.costs, p)
}

/// Writes a plan from its parts (see `plan`): its notes, each change with its fields, the
/// totals or `No changes.`, and the cost lines.
pub fn changes(
    w: &mut impl Write,
    mode: Mode,
    notes: &[String],
    changes: &[Shown],
    cost_lines: &[String],
    p: Palette,
) -> io::Result<()> {
    for note in notes {
        paint(w, p.dim, &format!("note: {note}"))?;
        writeln!(w)?;
    }
    if changes.is_empty() {
        writeln!(w)?;
        paint(w, p.bold, "No changes.")?;
        match mode {
            Mode::Converge => writeln!(w, " AWS matches the stack file.")?,
            Mode::Destroy => writeln!(w, " Nothing owned by this stack exists.")?,
        }
        return costs(w, cost_lines, p);
    }
    writeln!(w)?;
    writeln!(w, "cruddur-infra will perform the following actions:")?;
    for change in changes {
        writeln!(w)?;
        paint(w, p.bold, &format!("  # {}", comment(change)))?;
        writeln!(w)?;
        paint(w, action_style(&change.action, p), symbol(&change.action))?;
        write!(w, " {} ({:?})", change.address, change.name)?;
        if change.diffs.is_empty() {
            writeln!(w)?;
            continue;
        }
        writeln!(w, " {{")?;
        let width = change
            .diffs
            .iter()
            .map(|d| d.path.chars().count())
            .max()
            .unwrap_or(0);
        for d in &change.diffs {
            diff_line(w, d, width, p)?;
        }
        writeln!(w, "    }}")?;
    }
    let (add, change, destroy) = crate::plan::counts(changes.iter().map(|c| &c.action));
    writeln!(w)?;
    paint(w, p.bold, "Plan:")?;
    writeln!(
        w,
        " {add} to add, {change} to change, {destroy} to destroy."
    )?;
    costs(w, cost_lines, p)
}

/// The plan's closing cost lines: what the stack costs while it exists, what stops costing.
fn costs(w: &mut impl Write, lines: &[String], p: Palette) -> io::Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    for line in lines {
        paint(w, p.dim, line)?;
        writeln!(w)?;
    }
    Ok(())
}

fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs())
}

/// Writes one progress line.
pub fn event(w: &mut impl Write, e: &Event, p: Palette) -> io::Result<()> {
    match e {
        Event::Started { address, action } => {
            writeln!(w, "{address}: {}…", capitalize(action.verb()))
        }
        Event::Step { address, message } => writeln!(w, "{address}: {message}…"),
        Event::Waiting {
            address,
            what,
            elapsed,
            state,
        } => {
            write!(w, "{address}: still {what}… {}", seconds(*elapsed))?;
            paint(w, p.dim, &format!(" ({state})"))?;
            writeln!(w)
        }
        Event::Retrying {
            address,
            reason,
            after,
        } => {
            writeln!(
                w,
                "{address}: retrying in {:.1}s: {reason}",
                after.as_secs_f64()
            )
        }
        Event::Finished {
            address,
            action,
            elapsed,
        } => {
            paint(
                w,
                p.bold,
                &format!(
                    "{address}: {} complete after {}",
                    capitalize(action.noun()),
                    seconds(*elapsed)
                ),
            )?;
            writeln!(w)
        }
        Event::Failed {
            address,
            action,
            error,
        } => {
            paint(
                w,
                p.remove,
                &format!("{address}: {} failed", capitalize(action.noun())),
            )?;
            writeln!(w, ": {error}")
        }
    }
}

/// `s` with its first letter in capitals (`creating` → `Creating`).
pub(crate) fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Writes the closing lines of an apply or destroy: what was done, then `elapsed`, how long
/// the changes took (the wait for approval and the lock not counted).
pub fn summary(
    w: &mut impl Write,
    plan: &Plan,
    failed: usize,
    elapsed: Duration,
    p: Palette,
) -> io::Result<()> {
    outcome(w, plan, failed, p)?;
    writeln!(w, "Elapsed: {}", seconds(elapsed))
}

/// The summary's first line: `Apply complete! Resources: …`, or how many changes failed.
fn outcome(w: &mut impl Write, plan: &Plan, failed: usize, p: Palette) -> io::Result<()> {
    let (add, change, destroy) = plan.counts();
    let verb = if plan.mode == Mode::Destroy {
        "Destroy"
    } else {
        "Apply"
    };
    if failed > 0 {
        paint(w, p.remove, &format!("{verb} failed:"))?;
        writeln!(
            w,
            " {failed} of {} changes did not complete (see the errors above).",
            plan.changes.len()
        )
    } else if plan.mode == Mode::Destroy {
        paint(w, p.add, &format!("{verb} complete!"))?;
        writeln!(w, " Resources: {destroy} destroyed.")
    } else {
        paint(w, p.add, &format!("{verb} complete!"))?;
        writeln!(
            w,
            " Resources: {add} added, {change} changed, {destroy} destroyed."
        )
    }
}
