//! The bad-input corpus: every file under `tests/fixtures/invalid/` is rejected with exit
//! 1, names the file (and the line where there is one), matches its snapshot, and makes no
//! AWS call at all, which the counting proxy in front of the emulator proves.

use std::path::Path;

use crate::harness::{Run, emulator, passthrough, start_proxy};

/// Fixtures whose problem is the file as a whole: no line to point at.
const WHOLE_FILE: &[&str] = &["file-binary-junk", "file-empty", "file-comment-only"];

#[test]
fn every_invalid_stack_exits_1_with_its_place_and_makes_no_aws_call() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let proxy = start_proxy(passthrough(&emulator().url));
    let mut fixtures: Vec<String> = std::fs::read_dir(root.join("tests/fixtures/invalid"))
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".yaml")
                .map(str::to_string)
        })
        .collect();
    fixtures.sort();
    assert!(
        fixtures.len() >= 40,
        "the corpus has {} cases",
        fixtures.len()
    );
    for name in &fixtures {
        let path = format!("tests/fixtures/invalid/{name}.yaml");
        let out = Run::new(Path::new(&path), &["plan", "--endpoint-url", &proxy.url])
            .current_dir(root)
            .run();
        assert_eq!(out.code, 1, "{name}: {out:?}");
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
        assert!(!out.stderr.contains("panicked"), "{name}: {}", out.stderr);
        assert!(
            out.stderr.contains(&path),
            "{name} names its file: {}",
            out.stderr
        );
        if !WHOLE_FILE.contains(&name.as_str()) {
            let at_line = out.stderr.contains(&format!("{path}:"))
                && out
                    .stderr
                    .split(&format!("{path}:"))
                    .nth(1)
                    .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
            assert!(at_line, "{name} names its line: {}", out.stderr);
        }
        assert!(
            out.stderr.contains("help:"),
            "{name} says how to fix it: {}",
            out.stderr
        );
        // Long lines (the nested and junk files) are cut by the renderer; keep snapshots small.
        let shown: String = out
            .stderr
            .lines()
            .map(|l| l.chars().take(160).collect::<String>() + "\n")
            .collect();
        insta::assert_snapshot!(name.as_str(), shown);
    }
    let calls = proxy.stats.lock().unwrap().calls.len();
    assert_eq!(calls, 0, "bad input never reaches AWS");
}
