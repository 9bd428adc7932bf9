//! Live progress and the AWS call log, end to end against DynamoDB Local, whose index delay
//! (`-delayTransientStatuses`) makes an apply wait several seconds. On a pseudo-terminal
//! (util-linux `script`, which records every byte the terminal receives) each change in
//! flight has a live line whose elapsed time moves, and the scrollback keeps one result
//! line per change; with stderr piped the lines are the plain ones, without escapes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::{Output, Run, StackFile, dynamodb_local_stack};

/// The pseudo-terminal's width, set with `stty` inside it: without a size, the terminal
/// library falls back to 80 columns, and the screen model below must use the same number.
const COLUMNS: usize = 120;

/// A table without indexes.
const BARE: &str = "    attributes: {pk: S, sk: S}
    key: {hash: pk, range: sk}
    billing: {mode: PROVISIONED, read: 5, write: 5}
";

/// The same table with an index: one index create, `CREATING` for tens of seconds on
/// DynamoDB Local.
const INDEXED: &str = "    attributes: {pk: S, sk: S, a: S}
    key: {hash: pk, range: sk}
    billing: {mode: PROVISIONED, read: 5, write: 5}
    global_secondary_indexes:
      - name: by-a
        key: {hash: a}
        projection: ALL
        read: 1
        write: 1
";

/// `script` from util-linux, on `PATH`. Panics (failing the test loudly) without it: this
/// test is never skipped.
fn script() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("script"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "util-linux `script` is not installed (Debian: package `bsdutils`): this test runs the binary on a pseudo-terminal through it"
            )
        })
}

/// `word` quoted for `sh`.
fn quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Runs `cruddur-infra --stack <stack> <args…>` on a pseudo-terminal, with the environment
/// `Run` gives every run plus a terminal type and no `CI`. Answers the exit code and every
/// byte the terminal received (stdout and stderr together, escapes and carriage returns
/// included).
fn on_terminal(stack: &Path, args: &[&str]) -> (i32, String) {
    let mut words = vec![
        "exec".to_string(),
        quoted(env!("CARGO_BIN_EXE_cruddur-infra")),
        "--stack".to_string(),
        quoted(&stack.to_string_lossy()),
    ];
    words.extend(args.iter().map(|a| quoted(a)));
    // `-q` no start and end banners, `-e` the command's exit code, `-f` flush every write,
    // `-c` the command; the typescript file is not needed (stdout has it all).
    let command = format!("stty cols {COLUMNS} rows 40 && {}", words.join(" "));
    let mut cmd = Command::new(script());
    cmd.args(["-qefc", &command, "/dev/null"])
        .stdin(Stdio::null())
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm-256color")
        .env_remove("CI");
    crate::harness::test_env(&mut cmd);
    let out = cmd.output().expect("run `script`");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A run with stdout and stderr piped (no terminal), in the same environment as
/// `on_terminal` but for the terminal itself.
fn piped(file: &StackFile, args: &[&str]) -> Output {
    Run::new(&file.path, args)
        .env("TERM", "xterm-256color")
        .env_remove("CI")
        .env_remove("RUST_LOG")
        .run()
}

/// What a terminal `COLUMNS` wide holds after receiving `raw`, scrollback included, one
/// string per row with trailing blanks cut: characters overwrite in place and wrap at the
/// right edge (only when the next one comes, as terminals do); `\r`, `\n`, cursor up and
/// down, column moves and erasures are applied; colours and other sequences are dropped.
fn screen(raw: &str) -> Vec<String> {
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = raw.chars();
    let grow = |rows: &mut Vec<Vec<char>>, row: usize| {
        while rows.len() <= row {
            rows.push(Vec::new());
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                // A line feed ends a pending wrap without moving the cursor left.
                col = col.min(COLUMNS - 1);
                row += 1;
                grow(&mut rows, row);
            }
            '\u{1b}' => {
                if chars.next() != Some('[') {
                    // A two-character sequence (charset, keypad mode): nothing to draw.
                    continue;
                }
                let mut params = String::new();
                let mut last = None;
                for p in chars.by_ref() {
                    if ('@'..='~').contains(&p) {
                        last = Some(p);
                        break;
                    }
                    params.push(p);
                }
                let n: Option<usize> = params
                    .trim_start_matches('?')
                    .split(';')
                    .next()
                    .and_then(|v| v.parse().ok());
                // A cursor move or an erasure ends a pending wrap; a colour does not.
                if matches!(last, Some('A' | 'B' | 'K' | 'J')) {
                    col = col.min(COLUMNS - 1);
                }
                match last {
                    Some('A') => row = row.saturating_sub(n.unwrap_or(1).max(1)),
                    Some('B') => {
                        row += n.unwrap_or(1).max(1);
                        grow(&mut rows, row);
                    }
                    Some('G') => col = n.unwrap_or(1).saturating_sub(1),
                    Some('K') => match n.unwrap_or(0) {
                        0 => rows[row].truncate(col),
                        1 => {
                            for erased in rows[row].iter_mut().take(col + 1) {
                                *erased = ' ';
                            }
                        }
                        _ => rows[row].clear(),
                    },
                    Some('J') if n.unwrap_or(0) == 0 => {
                        rows[row].truncate(col);
                        rows.truncate(row + 1);
                    }
                    _ => {}
                }
            }
            c if c.is_control() => {}
            c => {
                if col >= COLUMNS {
                    row += 1;
                    col = 0;
                    grow(&mut rows, row);
                }
                let line = &mut rows[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    let mut lines: Vec<String> = rows
        .into_iter()
        .map(|r| r.into_iter().collect::<String>().trim_end().to_string())
        .collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// Every `[Ns elapsed]` in `raw`, as N.
fn elapsed_counters(raw: &str) -> BTreeSet<u64> {
    raw.split('[')
        .filter_map(|part| part.split_once("s elapsed]"))
        .filter_map(|(n, _)| n.parse().ok())
        .collect()
}

/// Whether `line` is `<prefix><whole seconds>s`.
fn ends_in_seconds(line: &str, prefix: &str) -> bool {
    line.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix('s'))
        .is_some_and(|n| n.parse::<u64>().is_ok())
}

#[test]
fn on_a_terminal_a_change_has_a_live_line_and_leaves_one_result_line_and_piped_stays_plain() {
    // Two tables, the same change to each, one apply on a terminal and one piped, side by
    // side: DynamoDB Local's index delay is long, and waiting it out twice would double it.
    let tty = StackFile::new(&dynamodb_local_stack(
        "ddblprogresstty",
        "ddbl-progress-tty",
        BARE,
    ));
    let pipe = StackFile::new(&dynamodb_local_stack(
        "ddblprogresspipe",
        "ddbl-progress-pipe",
        BARE,
    ));
    for file in [&tty, &pipe] {
        let setup = piped(file, &["apply", "ddb", "--yes"]);
        assert_eq!(setup.code, 0, "{setup:?}");
    }
    tty.rewrite(&dynamodb_local_stack(
        "ddblprogresstty",
        "ddbl-progress-tty",
        INDEXED,
    ));
    pipe.rewrite(&dynamodb_local_stack(
        "ddblprogresspipe",
        "ddbl-progress-pipe",
        INDEXED,
    ));
    let ((code, raw), plain) = std::thread::scope(|s| {
        let on_tty = s.spawn(|| on_terminal(&tty.path, &["apply", "ddb", "--yes"]));
        let plain = piped(&pipe, &["apply", "ddb", "--yes"]);
        (on_tty.join().expect("the terminal run"), plain)
    });

    // On a terminal: the live line ticks while the index is CREATING, then only the result
    // line stays, followed by the summary.
    assert_eq!(code, 0, "{raw}");
    assert!(
        raw.contains("table.messages: Still modifying… ["),
        "no live line for the change: {raw:?}"
    );
    let counters = elapsed_counters(&raw);
    assert!(
        counters.len() >= 2,
        "the live line's elapsed time never moved (seen: {counters:?}): {raw:?}"
    );
    let lines = screen(&raw);
    let about: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("table.messages:"))
        .collect();
    assert_eq!(
        about.len(),
        1,
        "the scrollback keeps exactly one line for the change: {lines:#?}"
    );
    let tail: Vec<&str> = lines[lines.len().saturating_sub(4)..]
        .iter()
        .map(String::as_str)
        .collect();
    assert!(
        tail.len() == 4
            && ends_in_seconds(tail[0], "table.messages: Modifications complete after ")
            && tail[1].is_empty()
            && tail[2] == "Apply complete! Resources: 0 added, 1 changed, 0 destroyed."
            && ends_in_seconds(tail[3], "Elapsed: "),
        "the scrollback ends with the result line, the summary and the elapsed time: {lines:#?}"
    );

    // Piped: the plain lines, no escapes, no live line.
    assert_eq!(plain.code, 0, "{plain:?}");
    for text in [&plain.stdout, &plain.stderr] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\r') && !text.contains("elapsed]"),
            "piped output has terminal codes or a live line: {text:?}"
        );
    }
    let progress: Vec<&str> = plain
        .stderr
        .lines()
        .filter(|l| l.starts_with("table.messages:"))
        .collect();
    assert!(
        progress.len() >= 2 && progress[0] == "table.messages: Modifying…",
        "{}",
        plain.stderr
    );
    assert!(
        ends_in_seconds(
            progress[progress.len() - 1],
            "table.messages: Modifications complete after "
        ),
        "{}",
        plain.stderr
    );
    // In between: steps, retries, and a `still …` line per 30 s of a wait.
    assert!(
        progress[1..progress.len() - 1]
            .iter()
            .all(|l| l.ends_with('…')
                || l.starts_with("table.messages: still ")
                || l.starts_with("table.messages: retrying in ")),
        "{}",
        plain.stderr
    );
    let summary: Vec<&str> = plain.stdout.lines().rev().take(2).collect();
    assert!(
        summary.len() == 2
            && ends_in_seconds(summary[0], "Elapsed: ")
            && summary[1] == "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.",
        "{}",
        plain.stdout
    );

    for file in [&tty, &pipe] {
        let destroy = piped(file, &["destroy", "ddb", "--yes"]);
        assert_eq!(destroy.code, 0, "{destroy:?}");
    }
}

#[test]
fn verbose_logs_each_aws_call_with_its_answer_duration_and_attempts() {
    let file = StackFile::new(&dynamodb_local_stack(
        "ddblverbose",
        "ddbl-verbose-messages",
        BARE,
    ));
    let calls = |out: &Output| {
        out.stderr
            .lines()
            .filter(|l| l.starts_with("aws: "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let quiet = piped(&file, &["plan", "ddb"]);
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert!(calls(&quiet).is_empty(), "{}", quiet.stderr);

    let verbose = piped(&file, &["plan", "ddb", "-v"]);
    assert_eq!(verbose.code, 0, "{verbose:?}");
    let lines = calls(&verbose);
    // The table does not exist yet: DescribeTable answers 400 ResourceNotFoundException.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("aws: DynamoDB DescribeTable → 400 ")
                && l.contains(" in ")
                && l.ends_with("(1 attempt)")),
        "{}",
        verbose.stderr
    );
    assert_eq!(verbose.stdout, quiet.stdout, "the log never touches stdout");

    let rust_log = Run::new(&file.path, &["plan", "ddb"])
        .env("RUST_LOG", "info")
        .run();
    assert_eq!(rust_log.code, 0, "{rust_log:?}");
    assert!(!calls(&rust_log).is_empty(), "{}", rust_log.stderr);
}
