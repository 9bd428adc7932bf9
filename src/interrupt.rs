//! Ctrl-C (SIGINT) and SIGTERM during `apply` and `destroy`.
//!
//! Killing a run halfway leaves AWS halfway and, until the next run takes it over, the lock
//! held. So while changes run, the first signal only asks the apply driver to start no new
//! change: the ones in flight finish (or fail, or time out) on their own bounded waits, the
//! lock is released, the summary says what was and was not done, and the command exits 1.
//! A second signal means "stop now": the process exits at once with 130 (128 + SIGINT), as
//! Terraform does; its lock is then taken over by the next run on this host.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Signals received since `install`.
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// Exit code of a run stopped by a second signal.
pub const EXIT_SECOND_SIGNAL: i32 = 130;

/// Starts handling SIGINT and SIGTERM as the module says. Called once, just before the
/// first change runs; before that a signal ends the process as usual (nothing was changed).
pub fn install() {
    // Only fails if a handler is installed already, which `install` is the only one to do.
    let _ = ctrlc::set_handler(|| {
        let n = SIGNALS.fetch_add(1, Ordering::SeqCst) + 1;
        // Through the progress display, so that live lines on a terminal are not garbled.
        if n == 1 {
            crate::render::progress::println(
                "\ninterrupted: no new change starts; waiting for the ones in progress to finish (interrupt again to stop at once)",
            );
        } else {
            crate::render::progress::println(
                "\nstopped at once: changes in progress may be half done; run the command again",
            );
            std::process::exit(EXIT_SECOND_SIGNAL);
        }
    });
}

/// Whether a stop was asked for: the apply driver then starts no new change.
#[must_use]
pub fn requested() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

/// For a command that only reads (`stream tail`): the first signal asks it to stop after
/// what it is printing, the second exits at once with 130.
pub fn install_for_reading() {
    let _ = ctrlc::set_handler(|| {
        if SIGNALS.fetch_add(1, Ordering::SeqCst) > 0 {
            std::process::exit(EXIT_SECOND_SIGNAL);
        }
    });
}
