//! The verbs, each thin: load → connect → refresh → plan → render → confirm → apply.
//! Output goes through the renderer: the plan to stdout, progress to stderr.

pub mod adopt;
pub mod apply;
pub mod data;
pub mod graph;
pub mod outputs;
pub mod permissions;
pub mod plan;
pub mod schema;
pub mod status;
pub mod validate;

use std::io::{self, BufRead, IsTerminal, Write};

use crate::artifact::{self, Artifact};
use crate::aws::{Aws, AwsError, Target, WaitPolicy};
use crate::cli::GlobalArgs;
use crate::events::{Event, EventSink};
use crate::plan::{Context, LiveState, Mode, PlanError};
use crate::render::{self, Header, Palette, human};
use crate::resources::Address;
use crate::stack::{self, Stack, StackError};
use std::collections::BTreeMap;

/// Why a command failed (all exit 1).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The stack file is invalid.
    #[error("{0}")]
    Stack(StackError),
    /// AWS could not be reached or refused a call.
    #[error("{0}")]
    Aws(#[from] AwsError),
    /// The plan cannot be made safely.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Plan(Vec<PlanError>),
    /// The checks found errors (already printed); nothing was changed.
    #[error(
        "the checks found {0} error(s) (above); nothing was changed\n  help: fix them in the stack file (warnings are errors only under --strict)"
    )]
    Checks(usize),
    /// The user (or the lack of a terminal) did not approve.
    #[error("{0}")]
    Refused(String),
    /// Some changes failed (already reported as events).
    #[error("{0} change(s) failed")]
    ApplyFailed(usize),
    /// The user interrupted the run; what ran finished, the rest did not start.
    #[error(
        "interrupted: {0} change(s) were not started; the lock is released\n  help: run the command again to finish"
    )]
    Interrupted(usize),
    /// This run could no longer prove it held the stack's lock, so it started nothing more.
    #[error(
        "{0}; the changes listed above were not started\n  help: another run may be changing this stack now: wait for it, then run `plan` to see what is left"
    )]
    LockLost(String),
    /// The command line names something that cannot be used (data commands).
    #[error("{0}")]
    Usage(#[from] crate::data::Usage),
    /// Writing output failed.
    #[error("cannot write output: {0}")]
    Io(#[from] io::Error),
}

/// Everything a verb needs once the stack is loaded and AWS is reachable.
pub struct Session {
    /// The validated stack.
    pub stack: Stack,
    /// AWS clients.
    pub aws: Aws,
    /// Account and region, for ARNs.
    pub ctx: Context,
    /// Deployment packages, built before any AWS call.
    pub artifacts: BTreeMap<Address, Artifact>,
    /// Where the command is pointed.
    pub header: Header,
    /// Styles for stdout.
    pub out: Palette,
    /// Styles for stderr.
    pub err: Palette,
}

/// Writes progress events to stderr.
///
/// On a terminal each change in flight gets a live line; elsewhere the lines are plain
/// (`render::progress`, one display for the whole process whichever sink is used).
pub struct StderrEvents(pub Palette);

impl EventSink for StderrEvents {
    fn emit(&self, event: Event) {
        render::progress::emit(&event, self.0);
    }
}

/// Resolves where to point: `--flag` beats the environment in the stack file, which beats
/// the SDK's own chain (`AWS_REGION`, `AWS_ENDPOINT_URL`, profiles).
#[must_use]
pub fn target(global: &GlobalArgs, env: &stack::Environment) -> Target {
    Target {
        region: global.region.clone().or_else(|| env.region.clone()),
        endpoint_url: global
            .endpoint_url
            .clone()
            .or_else(|| env.endpoint_url.clone()),
        profile: global.profile.clone().or_else(|| env.profile.clone()),
        engine: env.engine,
    }
}

/// Loads the stack and fits it to the environment `env_name`: what its engine cannot serve
/// leaves the stack (before anything is built, read or planned), and each resource's
/// `enabled` follows the environment. Answers the stack, the environment and the header's
/// notes (what was left out, what is disabled; a disabled resource stays, to be planned
/// as absent).
pub fn load(
    global: &GlobalArgs,
    env_name: &str,
) -> Result<(Stack, stack::Environment, Vec<String>), CommandError> {
    let mut stack = stack::load(&global.stack_path()).map_err(CommandError::Stack)?;
    let engine = stack
        .environment(env_name)
        .map_err(CommandError::Stack)?
        .engine;
    let mut notes = crate::resources::fit_to_engine(&mut stack, engine);
    let (env, disabled) = stack.select(env_name).map_err(CommandError::Stack)?;
    notes.extend(disabled);
    Ok((stack, env, notes))
}

/// Loads the stack and connects to the environment's account.
pub async fn open(global: &GlobalArgs, env_name: &str) -> Result<Session, CommandError> {
    let (stack, env, notes) = load(global, env_name)?;
    let artifacts = build_artifacts(&stack)?;
    let target = target(global, &env);
    let mut aws = Aws::connect(&target, WaitPolicy::default()).await?;
    aws.reads = std::sync::Arc::new(tokio::sync::Semaphore::new(usize::from(global.parallelism)));
    // Filled in by `refresh`, which asks STS together with everything else.
    let account = String::new();
    let endpoint = target.endpoint_url.clone().or_else(|| {
        std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|v| !v.is_empty())
    });
    let header = Header {
        stack: stack.name.clone(),
        environment: env_name.to_string(),
        account,
        region: aws.region.clone(),
        endpoint,
        notes,
    };
    let ctx = Context {
        account: header.account.clone(),
        region: header.region.clone(),
        environment: env_name.to_string(),
        today: today(),
        offline: false,
    };
    Ok(Session {
        stack,
        aws,
        ctx,
        artifacts,
        header,
        out: Palette::new(render::use_color(
            global.no_color,
            render::stdout_is_terminal(),
        )),
        err: Palette::new(render::use_color(
            global.no_color,
            io::stderr().is_terminal(),
        )),
    })
}

/// Today's date (UTC), read from the clock once per command.
#[must_use]
pub fn today() -> crate::plan::Date {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    crate::plan::Date::from_unix_days(days as i64)
}

/// Zips every function's source folder; a missing or empty folder is a stack error at
/// the function's `source:`.
pub(crate) fn build_artifacts(stack: &Stack) -> Result<BTreeMap<Address, Artifact>, CommandError> {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for f in &stack.functions {
        match artifact::build(&f.spec.source) {
            Ok(a) => {
                out.insert(f.address.clone(), a);
            }
            Err(e) => problems.push(stack::Diagnostic::new(e.to_string(), f.loc, e.help())),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(CommandError::Stack(StackError {
            path: stack.path.clone(),
            source: std::fs::read_to_string(&stack.path).ok(),
            diagnostics: problems,
            closing: None,
        }))
    }
}

/// Prints the checks' findings to stderr, each at its place in the stack file, and fails
/// when any is an error (`strict`: any warning too). Notes never fail.
pub fn report(
    stack: &Stack,
    findings: &[stack::Diagnostic],
    strict: bool,
    color: bool,
) -> Result<(), CommandError> {
    if findings.is_empty() {
        return Ok(());
    }
    let findings: Vec<stack::Diagnostic> = findings
        .iter()
        .cloned()
        .map(|d| {
            if strict && d.severity == stack::Severity::Warning {
                d.as_error()
            } else {
                d
            }
        })
        .collect();
    let source = std::fs::read_to_string(&stack.path).ok();
    let text = stack::render_diagnostics(
        &stack.path.display().to_string(),
        source.as_deref(),
        &findings,
        color,
    );
    // Best effort, like all diagnostics: a closed stderr must not hide the exit code.
    let _ = io::stderr().write_all(text.as_bytes());
    let errors = findings
        .iter()
        .filter(|d| d.severity == stack::Severity::Error)
        .count();
    if errors > 0 {
        Err(CommandError::Checks(errors))
    } else {
        Ok(())
    }
}

/// Parses the `--target` values against the stack (an unknown one is an error listing the
/// declared addresses) and, when there are any, warns that the run is partial.
pub fn targets(session: &Session, targets: &[String]) -> Result<Vec<Address>, CommandError> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let parsed =
        crate::plan::target::parse(&session.stack, targets).map_err(CommandError::Refused)?;
    let names: Vec<String> = parsed.iter().map(ToString::to_string).collect();
    // Best effort, like all diagnostics.
    let _ = writeln!(
        io::stderr(),
        "warning: --target limits this run to {} and what comes with it; the rest of the stack is neither planned nor changed\n  help: targeting is for exceptional cases (recovering from a mistake, working around a limit): run a full `plan` afterwards",
        names.join(", ")
    );
    Ok(parsed)
}

/// Plans `mode` against `live`, limited to `targets` and what comes with them (none: the
/// whole stack).
pub fn make_plan(
    session: &Session,
    live: &LiveState,
    mode: Mode,
    targets: &[Address],
) -> Result<crate::plan::Plan, CommandError> {
    let plan =
        crate::plan::plan(&session.stack, live, &session.ctx, mode).map_err(CommandError::Plan)?;
    if targets.is_empty() {
        return Ok(plan);
    }
    Ok(crate::plan::target::select(plan, &session.stack, targets))
}

/// What a plan of this session is computed from besides AWS: where (account, region,
/// endpoint), when, the targets, and the digests of the stack file as it was read and of
/// every package this session built.
#[must_use]
pub fn inputs(session: &Session, targets: &[Address]) -> crate::plan::document::Inputs {
    use crate::plan::document::{FileDigest, Inputs};
    Inputs {
        account: session.ctx.account.clone(),
        region: session.ctx.region.clone(),
        endpoint: session.header.endpoint.clone(),
        created_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        targets: targets.iter().map(ToString::to_string).collect(),
        stack_file: FileDigest {
            path: session.stack.path.display().to_string(),
            sha256: session.stack.source_sha256.clone(),
        },
        packages: session
            .artifacts
            .iter()
            .map(|(a, art)| (a.to_string(), art.sha256.clone()))
            .collect(),
    }
}

/// The document form of `plan` (`plan --json`, `plan --out`), made from `inputs`.
#[must_use]
pub fn document(
    session: &Session,
    plan: &crate::plan::Plan,
    targets: &[Address],
) -> crate::plan::document::PlanDocument {
    crate::plan::document::PlanDocument::of(plan, &inputs(session, targets))
}

/// Reads a plan saved by `plan --out`.
pub fn read_saved(
    path: &std::path::Path,
) -> Result<crate::plan::document::PlanDocument, CommandError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CommandError::Refused(format!(
            "cannot read the saved plan `{}`: {e}",
            path.display()
        ))
    })?;
    crate::plan::document::PlanDocument::parse(&text).map_err(|why| {
        CommandError::Refused(format!(
            "`{}` cannot be used as a saved plan: {why}\n  help: make one with `cruddur-infra plan --out {}`",
            path.display(),
            path.display()
        ))
    })
}

/// Prints the header, plans `mode` against `live` (limited to `targets`), reports the
/// checks' findings (an error, or a warning under `strict`, stops here: nothing is shown
/// to approve) and prints the plan. Shared by `plan`, `apply` and `destroy`.
pub fn show_plan(
    session: &Session,
    live: &LiveState,
    mode: Mode,
    strict: bool,
    targets: &[Address],
    out: &mut impl Write,
) -> Result<crate::plan::Plan, CommandError> {
    human::header(out, &session.header, session.out)?;
    // The header is out before any finding is written to stderr.
    out.flush()?;
    let plan = checked_plan(session, live, mode, strict, targets)?;
    human::plan(out, &plan, session.out)?;
    out.flush()?;
    Ok(plan)
}

/// Plans (`make_plan`) and reports the checks' findings to stderr: an error, or a warning
/// under `strict`, stops here.
pub fn checked_plan(
    session: &Session,
    live: &LiveState,
    mode: Mode,
    strict: bool,
    targets: &[Address],
) -> Result<crate::plan::Plan, CommandError> {
    let plan = make_plan(session, live, mode, targets)?;
    report_findings(session, &plan, strict)?;
    Ok(plan)
}

/// `report` for the findings of a plan of this session.
pub fn report_findings(
    session: &Session,
    plan: &crate::plan::Plan,
    strict: bool,
) -> Result<(), CommandError> {
    report(
        &session.stack,
        &plan.findings,
        strict,
        session.err.is_color(),
    )
}

/// Reads live state for the session's stack, and the account id (STS, asked in the same
/// round as everything else) into the session's header and context.
pub async fn refresh(session: &mut Session, mode: Mode) -> Result<LiveState, CommandError> {
    let sink = StderrEvents(session.err);
    let (mut live, account) =
        crate::refresh::refresh(&session.aws, &session.stack, mode, &sink).await?;
    session.header.account.clone_from(&account);
    session.ctx.account = account;
    live.artifacts.clone_from(&session.artifacts);
    Ok(live)
}

/// Reads again, laid over `base`, only what `plan` changes and what those changes depend
/// on (`refresh::refresh_only`): the re-check of a changing `apply` under the lock.
pub async fn refresh_changed(
    session: &Session,
    mode: Mode,
    plan: &crate::plan::Plan,
    base: LiveState,
) -> Result<LiveState, CommandError> {
    let changed: Vec<Address> = plan
        .changes
        .iter()
        .filter(|c| !c.stray)
        .map(|c| c.address.owner())
        .collect();
    // What a change depends on is read too: a function's update names its role, a
    // mapping its function and table.
    let only = crate::plan::target::closure(&session.stack, &changed, Mode::Converge);
    let strays = plan.changes.iter().any(|c| c.stray);
    let sink = StderrEvents(session.err);
    Ok(crate::refresh::refresh_only(
        &session.aws,
        &session.stack,
        mode,
        &sink,
        &only,
        strays,
        base,
    )
    .await?)
}

/// Asks for `yes` on a terminal; without one, refuses unless `--yes` was given.
pub fn confirm(yes: bool, question: &str) -> Result<(), CommandError> {
    if yes {
        return Ok(());
    }
    let stdin = io::stdin();
    if !stdin.is_terminal() {
        return Err(CommandError::Refused(
            "standard input is not a terminal, so nobody can approve this plan; nothing was changed\n  help: review the plan above and re-run with --yes (or --auto-approve)".into(),
        ));
    }
    let mut err = io::stderr().lock();
    write!(
        err,
        "\n{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    )?;
    err.flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(CommandError::Refused(
            "cancelled: the answer was not `yes`; nothing was changed".into(),
        ))
    }
}

/// For destroying anything but `local`: on a terminal, the user types the stack name (as
/// aws-nuke asks for the account alias); without one, `--yes` is required as usual.
pub fn confirm_name(yes: bool, stack: &str) -> Result<(), CommandError> {
    if yes {
        return Ok(());
    }
    let stdin = io::stdin();
    if !stdin.is_terminal() {
        return confirm(false, "");
    }
    let mut err = io::stderr().lock();
    write!(
        err,
        "\nThis destroys every resource listed above.\n  Type the stack name (`{stack}`) to confirm: "
    )?;
    err.flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if answer.trim() == stack {
        Ok(())
    } else {
        Err(CommandError::Refused(format!(
            "cancelled: the answer was not `{stack}`; nothing was changed"
        )))
    }
}
