//! The progress board: what each event does and what live lines say, at given times.

use std::time::{Duration, Instant};

use super::*;
use crate::events::Event;
use crate::plan::Action;
use crate::resources::Address;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn started(name: &str, action: Action) -> Event {
    Event::Started {
        address: Address::table(name),
        action,
    }
}

fn waiting(name: &str, what: &str, elapsed: Duration, state: &str) -> Event {
    Event::Waiting {
        address: Address::table(name),
        what: what.into(),
        elapsed,
        state: state.into(),
    }
}

fn finished(name: &str, action: Action, elapsed: Duration) -> Event {
    Event::Finished {
        address: Address::table(name),
        action,
        elapsed,
    }
}

/// The lines written for good from `events` (each at its time), as the plain renderer
/// writes them: what stays in the scrollback once every live line is gone.
fn permanent(board: &mut Board, events: &[(Duration, Event)], t0: Instant) -> String {
    let mut out = Vec::new();
    for (at, e) in events {
        if matches!(board.show(e, t0 + *at), Show::Line | Show::Close) {
            human::event(&mut out, e, Palette::new(false)).unwrap();
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn a_live_line_shows_the_verb_the_elapsed_time_and_the_last_state() {
    let t0 = Instant::now();
    let mut board = Board::new(Screen::Live);
    let a = Address::table("messages");
    assert_eq!(
        board.show(&started("messages", Action::Create), t0),
        Show::Open
    );
    assert_eq!(
        board.line(&a, t0).as_deref(),
        Some("table.messages: Creating…")
    );
    // The clock moves the line between events.
    assert_eq!(
        board.line(&a, t0 + Duration::from_millis(3_900)).as_deref(),
        Some("table.messages: Still creating… [3s elapsed]")
    );
    assert_eq!(
        board.show(
            &waiting(
                "messages",
                "creating",
                secs(39),
                "index \"message-group-sk-index\" CREATING"
            ),
            t0 + secs(39)
        ),
        Show::Update
    );
    assert_eq!(
        board.line(&a, t0 + secs(40)).as_deref(),
        Some(
            "table.messages: Still creating… [40s elapsed], index \"message-group-sk-index\" CREATING"
        )
    );
}

#[test]
fn steps_other_waits_and_retries_change_the_live_line() {
    let t0 = Instant::now();
    let mut board = Board::new(Screen::Live);
    let a = Address::table("messages");
    board.show(&started("messages", Action::Update), t0);
    let step = Event::Step {
        address: a.clone(),
        message: "creating index \"by-a\" (backfill)".into(),
    };
    assert_eq!(board.show(&step, t0 + secs(1)), Show::Update);
    assert_eq!(
        board.line(&a, t0 + secs(2)).as_deref(),
        Some("table.messages: Still modifying… [2s elapsed], creating index \"by-a\" (backfill)")
    );
    // A wait named otherwise than the change's verb says what it waits for.
    board.show(
        &waiting("messages", "updating", secs(3), "index \"by-a\" CREATING"),
        t0 + secs(5),
    );
    assert_eq!(
        board.line(&a, t0 + secs(5)).as_deref(),
        Some("table.messages: Still modifying… [5s elapsed], updating: index \"by-a\" CREATING")
    );
    let retry = Event::Retrying {
        address: a.clone(),
        reason: "failed to UpdateTable for table.messages: LimitExceededException\n  help: wait"
            .into(),
        after: Duration::from_millis(1_500),
    };
    assert_eq!(board.show(&retry, t0 + secs(6)), Show::Update);
    assert_eq!(
        board.line(&a, t0 + secs(6)).as_deref(),
        Some(
            "table.messages: Still modifying… [6s elapsed], retrying in 1.5s: failed to UpdateTable for table.messages: LimitExceededException"
        )
    );
}

#[test]
fn a_result_line_replaces_each_live_line_and_is_all_that_stays() {
    let t0 = Instant::now();
    let mut board = Board::new(Screen::Live);
    let events = [
        (secs(0), started("a", Action::Create)),
        (secs(0), started("b", Action::Delete)),
        (secs(2), waiting("a", "creating", secs(2), "CREATING")),
        (secs(2), waiting("b", "destroying", secs(2), "DELETING")),
        (secs(3), finished("b", Action::Delete, secs(3))),
        (secs(35), waiting("a", "creating", secs(35), "CREATING")),
        (secs(41), finished("a", Action::Create, secs(41))),
    ];
    assert_eq!(
        permanent(&mut board, &events, t0),
        "table.b: Destruction complete after 3s\ntable.a: Creation complete after 41s\n"
    );
    assert_eq!(board.in_flight().count(), 0);
    assert_eq!(board.line(&Address::table("a"), t0 + secs(50)), None);
}

#[test]
fn a_failure_closes_its_live_line_with_the_plain_failure_line() {
    let t0 = Instant::now();
    let mut board = Board::new(Screen::Live);
    let failed = Event::Failed {
        address: Address::table("a"),
        action: Action::Create,
        error: "failed to CreateTable for table.a: boom".into(),
    };
    let events = [(secs(0), started("a", Action::Create)), (secs(1), failed)];
    assert_eq!(
        permanent(&mut board, &events, t0),
        "table.a: Creation failed: failed to CreateTable for table.a: boom\n"
    );
}

#[test]
fn off_a_terminal_every_line_is_plain_and_a_wait_is_reported_every_10_seconds_as_before() {
    // Before live lines, waits reported every 10 s and each report was a line: a wait of
    // 25 s wrote two, at 10 s and 20 s. Off a terminal that stays so.
    let t0 = Instant::now();
    let mut board = Board::new(Screen::Plain);
    let mut events = vec![(secs(0), started("a", Action::Create))];
    // Reports every second, as the waits now make them, for 35 s.
    events.extend((1..=35).map(|i| (secs(i), waiting("a", "creating", secs(i), "CREATING"))));
    events.push((secs(36), finished("a", Action::Create, secs(36))));
    assert_eq!(
        permanent(&mut board, &events, t0),
        "table.a: Creating…
table.a: still creating… 10s (CREATING)
table.a: still creating… 20s (CREATING)
table.a: still creating… 30s (CREATING)
table.a: Creation complete after 36s
"
    );
    assert_eq!(board.line(&Address::table("a"), t0), None);
}

#[test]
fn a_new_wait_starts_its_own_count() {
    let t0 = Instant::now();
    let mut board = Board::new(Screen::Plain);
    let w = |what: &str, s: u64| (secs(s), waiting("a", what, secs(s), "UPDATING"));
    let events = [
        w("updating", 11),
        w("updating", 15),
        // The same words, a smaller elapsed time: the next wait of the change.
        w("updating", 2),
        w("updating", 9),
        w("updating", 10),
        // Another wait: its own count.
        w("disabling the stream", 11),
        w("disabling the stream", 15),
    ];
    assert_eq!(
        permanent(&mut board, &events, t0),
        "table.a: still updating… 11s (UPDATING)
table.a: still updating… 10s (UPDATING)
table.a: still disabling the stream… 11s (UPDATING)
"
    );
}

#[test]
fn a_short_wait_off_a_terminal_writes_what_it_always_wrote() {
    // Waits under 10 s write no `still` line, as before.
    let t0 = Instant::now();
    let mut board = Board::new(Screen::Plain);
    let step = Event::Step {
        address: Address::table("a"),
        message: "creating index \"x\" (backfill)".into(),
    };
    let events = [
        (secs(0), started("a", Action::Update)),
        (secs(0), step),
        (
            secs(2),
            waiting("a", "updating", secs(2), "index \"x\" CREATING"),
        ),
        (
            secs(9),
            waiting("a", "updating", secs(9), "index \"x\" CREATING"),
        ),
        (secs(10), finished("a", Action::Update, secs(10))),
    ];
    assert_eq!(
        permanent(&mut board, &events, t0),
        "table.a: Modifying…
table.a: creating index \"x\" (backfill)…
table.a: Modifications complete after 10s
"
    );
}

#[test]
fn on_a_terminal_events_outside_a_change_are_plain_lines() {
    // A retry while reading, or a backup's wait before the changes start, has no live line.
    let t0 = Instant::now();
    let mut board = Board::new(Screen::Live);
    let retry = Event::Retrying {
        address: Address::table("a"),
        reason: "throttled".into(),
        after: Duration::from_millis(500),
    };
    assert_eq!(board.show(&retry, t0), Show::Line);
    assert_eq!(
        board.show(&waiting("a", "backing up", secs(5), "CREATING"), t0),
        Show::Nothing
    );
    assert_eq!(
        board.show(&waiting("a", "backing up", secs(31), "CREATING"), t0),
        Show::Line
    );
}

#[test]
fn after_a_clear_what_comes_for_a_change_is_written_plainly() {
    let t0 = Instant::now();
    let mut board = Board::new(Screen::Live);
    board.show(&started("a", Action::Create), t0);
    board.clear();
    assert_eq!(board.line(&Address::table("a"), t0), None);
    assert_eq!(
        board.show(&finished("a", Action::Create, secs(1)), t0 + secs(1)),
        Show::Line
    );
}

#[test]
fn live_lines_only_on_a_terminal_outside_ci_that_can_redraw() {
    assert!(live_wanted(true, None, Some("xterm-256color")));
    assert!(live_wanted(true, None, None));
    assert!(live_wanted(true, Some("false"), Some("xterm")));
    assert!(live_wanted(true, Some(""), Some("xterm")));
    assert!(!live_wanted(false, None, Some("xterm")));
    assert!(!live_wanted(true, Some("true"), Some("xterm")));
    assert!(!live_wanted(true, Some("1"), Some("xterm")));
    assert!(!live_wanted(true, None, Some("dumb")));
}
