//! `validate`: every check that needs no AWS call, for an editor or a pre-commit hook. It
//! loads and validates the stack file (references included), packages each function's
//! folder (the handler's module, Lambda's size limits, links and special files), and runs
//! the plan-time checks (each role against what the stack wires it to) with the account
//! unknown. It never builds an AWS client, so it opens no connection and needs no
//! credentials; a managed policy that only `plan` can read is reported as not checked.

use std::io::{self, Write};

use super::{CommandError, build_artifacts, load, report, today};
use crate::cli::{GlobalArgs, ValidateArgs};
use crate::plan::{self, Context, LiveState};
use crate::resources::policy::eval::{UNKNOWN_ACCOUNT, UNKNOWN_REGION};
use crate::stack::Severity;

/// Runs `validate`.
pub fn run(global: &GlobalArgs, args: &ValidateArgs) -> Result<(), CommandError> {
    let (stack, env, _) = load(global, &args.env)?;
    let artifacts = build_artifacts(&stack)?;
    // The region as `plan` would use it, without asking the SDK's chain (which may read
    // profiles or instance metadata): the flag, the stack, then the usual variables.
    let region = global
        .region
        .clone()
        .or(env.region)
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
        .or_else(|| {
            std::env::var("AWS_DEFAULT_REGION")
                .ok()
                .filter(|r| !r.is_empty())
        })
        .unwrap_or_else(|| UNKNOWN_REGION.to_string());
    let ctx = Context {
        account: UNKNOWN_ACCOUNT.to_string(),
        region,
        environment: args.env.clone(),
        today: today(),
        offline: true,
    };
    let live = LiveState {
        artifacts,
        ..LiveState::default()
    };
    let findings = plan::check(&stack, &live, &ctx);
    let color =
        crate::render::use_color(global.no_color, io::IsTerminal::is_terminal(&io::stderr()));
    report(&stack, &findings, args.strict, color)?;
    let count = |s: Severity| findings.iter().filter(|d| d.severity == s).count();
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "Success! `{}` is valid for environment `{}` ({} warning(s), {} note(s); no AWS call was made).",
        stack.path.display(),
        args.env,
        count(Severity::Warning),
        count(Severity::Note),
    )?;
    Ok(())
}
