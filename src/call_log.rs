//! `-v` (or `RUST_LOG`): one stderr line per AWS call, with its service and operation, the
//! answer's HTTP status (or why there was none), how long it took and how many attempts the
//! SDK made, its own retries included.
//!
//! The `Attempts` interceptor every SDK client carries (`crate::aws`) calls `started` and
//! `ended` around each call. The switch is process-wide and set once at startup, because
//! interceptors are built into clients and cannot be handed the command line. Lines go
//! through `render::progress`, so they never land inside a live line. Nothing here changes
//! a call.

use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// Whether calls are logged.
static ON: AtomicBool = AtomicBool::new(false);

/// Turns the log on or off for the rest of the process.
pub fn enable(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// Whether calls are logged now.
#[must_use]
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Whether the command line and environment ask for the log: `-v` given, or `RUST_LOG` set
/// (the variable people reach for first with a Rust tool) to a level that includes
/// information: not `off`, `error` or `warn`, which ask for less.
#[must_use]
pub fn wanted(verbose: u8, rust_log: Option<&OsStr>) -> bool {
    verbose > 0
        || rust_log.is_some_and(|v| {
            let v = v.to_string_lossy().trim().to_ascii_lowercase();
            !v.is_empty() && !["off", "error", "warn"].contains(&v.as_str())
        })
}

/// When a call started, kept in the call's own configuration from the first hook to the
/// last (a call's hooks may run on different threads).
#[derive(Debug, Clone, Copy)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

/// Notes the start of a call (before its first attempt).
pub(crate) fn started(cfg: &mut ConfigBag) {
    if enabled() {
        cfg.interceptor_state().store_put(Started(Instant::now()));
    }
}

/// Logs a call that ended, answered or not.
pub(crate) fn ended(context: &FinalizerInterceptorContextRef<'_>, cfg: &ConfigBag) {
    if !enabled() {
        return;
    }
    let Some(Started(at)) = cfg.load::<Started>().copied() else {
        return;
    };
    let (service, operation) = cfg
        .load::<Metadata>()
        .map_or(("AWS", "call"), |m| (m.service(), m.name()));
    let attempts = cfg
        .load::<RequestAttempts>()
        .map_or(0, RequestAttempts::attempts);
    let status = context.response().map(|r| r.status().as_u16());
    let answer = match (status, context.output_or_error()) {
        (Some(status), Some(Err(e))) => e.as_operation_error().map_or_else(
            || status.to_string(),
            |modeled| format!("{status} {modeled}"),
        ),
        (Some(status), _) => status.to_string(),
        (None, Some(Err(e))) => {
            // The SDK's own text is a kind (`connector error`); the cause is in its sources.
            let mut text = format!("no answer: {e}");
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
        (None, _) => "no answer".to_string(),
    };
    crate::render::progress::println(&line(service, operation, &answer, at.elapsed(), attempts));
}

/// One call's line: `aws: DynamoDB DescribeTable → 200 in 14ms (1 attempt)`.
#[must_use]
pub fn line(service: &str, operation: &str, answer: &str, took: Duration, attempts: u32) -> String {
    let took = if took < Duration::from_secs(1) {
        format!("{}ms", took.as_millis())
    } else {
        format!("{:.1}s", took.as_secs_f64())
    };
    // No attempt at all: the call failed before it was sent (credentials, endpoint).
    let tries = match attempts {
        0 => "not sent".to_string(),
        1 => "1 attempt".to_string(),
        2 => "2 attempts, 1 retry".to_string(),
        n => format!("{n} attempts, {} retries", n - 1),
    };
    let answer = answer.lines().next().unwrap_or_default();
    format!("aws: {service} {operation} → {answer} in {took} ({tries})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_wanted_for_v_or_a_rust_log_that_includes_information() {
        assert!(!wanted(0, None));
        assert!(!wanted(0, Some(OsStr::new(""))));
        assert!(!wanted(0, Some(OsStr::new("off"))));
        assert!(!wanted(0, Some(OsStr::new("WARN"))));
        assert!(wanted(0, Some(OsStr::new("info"))));
        assert!(wanted(0, Some(OsStr::new("debug"))));
        assert!(wanted(1, None));
        assert!(wanted(2, Some(OsStr::new(""))));
    }

    #[test]
    fn a_line_names_the_call_its_answer_duration_and_retries() {
        assert_eq!(
            line(
                "DynamoDB",
                "DescribeTable",
                "200",
                Duration::from_millis(14),
                1
            ),
            "aws: DynamoDB DescribeTable → 200 in 14ms (1 attempt)"
        );
        assert_eq!(
            line(
                "DynamoDB",
                "UpdateTable",
                "400 LimitExceededException: too many\nsecond line",
                Duration::from_millis(2_340),
                3
            ),
            "aws: DynamoDB UpdateTable → 400 LimitExceededException: too many in 2.3s (3 attempts, 2 retries)"
        );
        assert_eq!(
            line(
                "STS",
                "GetCallerIdentity",
                "no answer: connector error",
                Duration::from_millis(3),
                0
            ),
            "aws: STS GetCallerIdentity → no answer: connector error in 3ms (not sent)"
        );
    }
}
