//! Progress on stderr while changes run. On a terminal: one live line per change in flight,
//! ticking its elapsed time and showing the state AWS last reported, replaced by the
//! change's result line when it ends. Off a terminal (a pipe, a log file, CI, `TERM=dumb`):
//! the plain lines [`super::human::event`] writes, a wait getting one `still …` line per
//! 10 s of it, as before live lines existed.
//!
//! [`Board`] is the pure part: from the events so far and the time, what to do with the next
//! event and what each live line says. Below it, the process-wide display that
//! `StderrEvents` and every other stderr writer share while lines are live ([`emit`],
//! [`println`], [`finish`]) draws them with indicatif. Neither decides anything about the
//! changes themselves.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{Palette, human};
use crate::events::Event;
use crate::plan::Action;
use crate::resources::Address;

/// How often a wait still going gets a line of its own off a terminal: every 10 s, as before
/// live lines existed (waits reported every 10 s then), so that logs read as they did.
pub const STILL_EVERY: Duration = Duration::from_secs(10);

/// How often live lines are redrawn between events, so that elapsed times move on their own
/// (AWS is polled every few seconds at most) and the spinner shows the run is alive.
const TICK: Duration = Duration::from_millis(250);

/// Where the board's lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// A terminal that can redraw lines: changes in flight get live lines.
    Live,
    /// Anything else: every line is written for good, once.
    Plain,
}

/// What the display does with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Write the event's line (as `human::event` renders it) for good.
    Line,
    /// Write nothing: off a terminal, a wait already reported within the last `STILL_EVERY`.
    Nothing,
    /// Start a live line for the event's resource.
    Open,
    /// Redraw the resource's live line: its text changed.
    Update,
    /// Replace the resource's live line with the event's line, written for good.
    Close,
}

/// A change in flight, as its live line shows it.
#[derive(Debug, Clone)]
struct InFlight {
    /// What is being done (its verb leads the line).
    action: Action,
    /// When it started.
    started: Instant,
    /// The latest step, wait state or retry, shown after the elapsed time.
    detail: Option<String>,
}

/// Off a live line, the wait last reported for a resource.
#[derive(Debug, Clone)]
struct Wait {
    /// What is awaited: another `what` is another wait.
    what: String,
    /// The wait's elapsed time at its last report: a smaller one is a new wait.
    elapsed: Duration,
    /// Whole `STILL_EVERY` periods already reported with a line.
    periods: u64,
}

/// What the display knows: the changes in flight (on a terminal) and the waits going.
#[derive(Debug)]
pub struct Board {
    /// Where the lines go.
    screen: Screen,
    /// Changes with a live line, by resource.
    in_flight: BTreeMap<Address, InFlight>,
    /// Waits reported as plain lines, by resource.
    waits: BTreeMap<Address, Wait>,
}

impl Board {
    /// An empty board for `screen`.
    #[must_use]
    pub fn new(screen: Screen) -> Self {
        Self {
            screen,
            in_flight: BTreeMap::new(),
            waits: BTreeMap::new(),
        }
    }

    /// Takes in `event`, seen at `now`, and says what to do with it. On a terminal a change
    /// gets a live line from `Started` to `Finished` or `Failed`, and what happens to it in
    /// between only changes that line. Anything else (off a terminal, or an event outside
    /// an apply's changes: a retry while reading) is written as a plain line, except that a
    /// wait is written once per `STILL_EVERY` of it.
    pub fn show(&mut self, event: &Event, now: Instant) -> Show {
        match event {
            Event::Started { address, action } => {
                self.waits.remove(address);
                if self.screen == Screen::Plain {
                    return Show::Line;
                }
                self.in_flight.insert(
                    address.clone(),
                    InFlight {
                        action: action.clone(),
                        started: now,
                        detail: None,
                    },
                );
                Show::Open
            }
            Event::Step { address, message } => self.detail(address, |_| message.clone()),
            Event::Waiting {
                address,
                what,
                elapsed,
                state,
            } => {
                if self.in_flight.contains_key(address) {
                    // The verb already leads the line; any other wait says what it is.
                    self.detail(address, |verb| {
                        if what == verb {
                            state.clone()
                        } else {
                            format!("{what}: {state}")
                        }
                    })
                } else {
                    self.still(address, what, *elapsed)
                }
            }
            Event::Retrying {
                address,
                reason,
                after,
            } => self.detail(address, |_| {
                // A live line has room for one line of the error; the rest is noise there.
                format!(
                    "retrying in {:.1}s: {}",
                    after.as_secs_f64(),
                    reason.lines().next().unwrap_or_default()
                )
            }),
            Event::Finished { address, .. } | Event::Failed { address, .. } => {
                self.waits.remove(address);
                if self.in_flight.remove(address).is_some() {
                    Show::Close
                } else {
                    Show::Line
                }
            }
        }
    }

    /// Sets the detail of `address`'s live line from its action's verb (`Update`), or, with
    /// no live line, says to write the event plainly (`Line`).
    fn detail(&mut self, address: &Address, text: impl FnOnce(&str) -> String) -> Show {
        self.in_flight
            .get_mut(address)
            .map_or(Show::Line, |change| {
                change.detail = Some(text(change.action.verb()));
                Show::Update
            })
    }

    /// Off a live line: a wait's report is written when it enters a `STILL_EVERY` period
    /// not yet reported. Another `what`, or a smaller elapsed time, is another wait.
    fn still(&mut self, address: &Address, what: &str, elapsed: Duration) -> Show {
        let periods = elapsed.as_secs() / STILL_EVERY.as_secs();
        let wait = self.waits.entry(address.clone()).or_insert_with(|| Wait {
            what: what.to_string(),
            elapsed,
            periods: 0,
        });
        if wait.what != what || elapsed < wait.elapsed {
            wait.what = what.to_string();
            wait.periods = 0;
        }
        wait.elapsed = elapsed;
        if periods > wait.periods {
            wait.periods = periods;
            Show::Line
        } else {
            Show::Nothing
        }
    }

    /// The text of `address`'s live line at `now`, if it has one: `table.messages: Still
    /// creating… [40s elapsed], index "by-group" CREATING`. Whole seconds, as the result
    /// line counts them.
    #[must_use]
    pub fn line(&self, address: &Address, now: Instant) -> Option<String> {
        let change = self.in_flight.get(address)?;
        let secs = now.saturating_duration_since(change.started).as_secs();
        let verb = change.action.verb();
        let mut line = if secs == 0 {
            format!("{address}: {}…", human::capitalize(verb))
        } else {
            format!("{address}: Still {verb}… [{secs}s elapsed]")
        };
        if let Some(detail) = &change.detail {
            line.push_str(", ");
            line.push_str(detail);
        }
        Some(line)
    }

    /// The resources with a live line, in address order.
    pub fn in_flight(&self) -> impl Iterator<Item = &Address> {
        self.in_flight.keys()
    }

    /// Forgets every live line (the display cleared them): what comes next for those
    /// changes is written plainly.
    pub fn clear(&mut self) {
        self.in_flight.clear();
    }
}

/// Whether stderr gets live lines: a terminal, outside CI (whose log viewers keep every
/// redraw), and not a `TERM=dumb` one (which cannot move its cursor). `ci` and `term` are
/// the `CI` and `TERM` variables; CI services set `CI=true` (some `1`).
#[must_use]
pub fn live_wanted(stderr_is_terminal: bool, ci: Option<&str>, term: Option<&str>) -> bool {
    let in_ci = ci.is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    stderr_is_terminal && !in_ci && term != Some("dumb")
}

/// The live lines on stderr: a spinner line per change in flight.
struct Live {
    /// indicatif's set of lines, drawn on stderr.
    multi: MultiProgress,
    /// Each change's line.
    bars: BTreeMap<Address, ProgressBar>,
    /// Whether the ticker thread runs; it stops when no line is live.
    ticking: bool,
}

/// The process's progress display: the board, and on a terminal its live lines.
struct Display {
    /// What is in flight and what was reported.
    board: Board,
    /// The live lines, on a terminal only.
    live: Option<Live>,
}

/// One display per process: every sink and every stderr writer must go through the same
/// one, or a line written past it lands in the middle of a live line.
static DISPLAY: OnceLock<Mutex<Display>> = OnceLock::new();

/// The display, set up on first use from what stderr is.
fn display() -> MutexGuard<'static, Display> {
    DISPLAY
        .get_or_init(|| {
            let live = live_wanted(
                io::stderr().is_terminal(),
                std::env::var("CI").ok().as_deref(),
                std::env::var("TERM").ok().as_deref(),
            );
            Mutex::new(Display {
                board: Board::new(if live { Screen::Live } else { Screen::Plain }),
                live: live.then(|| Live {
                    multi: MultiProgress::new(),
                    bars: BTreeMap::new(),
                    ticking: false,
                }),
            })
        })
        .lock()
        // A panic elsewhere while drawing leaves the lines as they were: keep going.
        .unwrap_or_else(PoisonError::into_inner)
}

/// Shows `event` on stderr, in `palette`: on a live line, or as a plain line.
pub fn emit(event: &Event, palette: Palette) {
    let mut guard = display();
    let Display { board, live } = &mut *guard;
    let now = Instant::now();
    let show = board.show(event, now);
    let address = event.address();
    match (show, live.as_mut()) {
        (Show::Nothing, _) => {}
        (Show::Open, Some(live)) => {
            let bar = live.multi.add(
                ProgressBar::new_spinner().with_style(
                    ProgressStyle::with_template("{spinner} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                ),
            );
            if let Some(text) = board.line(address, now) {
                bar.set_message(text);
            }
            live.bars.insert(address.clone(), bar);
            if !live.ticking {
                // Without the thread, lines still change on every event; only the clock
                // between events stands still.
                live.ticking = std::thread::Builder::new()
                    .name("progress".into())
                    .spawn(tick)
                    .is_ok();
            }
        }
        (Show::Update, Some(live)) => {
            if let (Some(bar), Some(text)) = (live.bars.get(address), board.line(address, now)) {
                bar.set_message(text);
            }
        }
        (Show::Close, Some(live)) => {
            if let Some(bar) = live.bars.remove(address) {
                bar.finish_and_clear();
                live.multi.remove(&bar);
            }
            above(live, event, palette);
        }
        (Show::Line, Some(live)) => above(live, event, palette),
        (_, None) => {
            // Progress is best effort: a closed stderr must not stop an apply halfway.
            let _ = human::event(&mut io::stderr().lock(), event, palette);
        }
    }
}

/// Writes `event`'s line for good, above the live lines.
fn above(live: &Live, event: &Event, palette: Palette) {
    let mut text = Vec::new();
    if human::event(&mut text, event, palette).is_ok() {
        live.write(&String::from_utf8_lossy(&text));
    }
}

impl Live {
    /// Writes `text` (whole lines) for good: through indicatif while lines are live, which
    /// prints it above them and draws them again below; directly once none is, because
    /// indicatif leaves the cursor at the end of the last line it printed, where the next
    /// line break would be swallowed (the summary's blank line).
    fn write(&self, text: &str) {
        // Best effort, like all progress output.
        if self.bars.is_empty() {
            let _ = io::stderr().lock().write_all(text.as_bytes());
        } else {
            let _ = self.multi.println(text.strip_suffix('\n').unwrap_or(text));
        }
    }
}

/// Redraws the live lines every `TICK` until none is left.
fn tick() {
    loop {
        std::thread::sleep(TICK);
        let mut guard = display();
        let Display {
            board,
            live: Some(live),
        } = &mut *guard
        else {
            return;
        };
        if live.bars.is_empty() {
            live.ticking = false;
            return;
        }
        let now = Instant::now();
        for (address, bar) in &live.bars {
            if let Some(text) = board.line(address, now) {
                bar.set_message(text);
            }
            bar.tick();
        }
    }
}

/// Writes `text` (one line or more) to stderr, above the live lines when there are any, so
/// that neither garbles the other. Anything written to stderr while changes run goes
/// through here.
pub fn println(text: &str) {
    let guard = display();
    let text = format!("{text}\n");
    if let Some(live) = &guard.live {
        live.write(&text);
    } else {
        // Best effort, like all diagnostics.
        let _ = io::stderr().lock().write_all(text.as_bytes());
    }
}

/// Clears whatever live lines are left (none once every change has ended), so that what
/// comes next (the summary) starts on a clean line below the result lines.
pub fn finish() {
    if DISPLAY.get().is_none() {
        return;
    }
    let mut guard = display();
    let Display { board, live } = &mut *guard;
    board.clear();
    if let Some(live) = live {
        for bar in std::mem::take(&mut live.bars).into_values() {
            bar.finish_and_clear();
            live.multi.remove(&bar);
        }
    }
}

#[cfg(test)]
#[path = "progress_tests.rs"]
mod tests;
