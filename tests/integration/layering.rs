//! The architecture rule: the pure layers (`stack/`, `plan/`, `render/`, `data/` and each
//! resource kind's pure module) never name the AWS SDK, smithy, tokio or a kind's `aws`
//! module, and declare no async functions, so planning cannot talk to AWS. The registry
//! (`resources/mod.rs`) links each kind's pure half to its I/O half, so it may name the
//! `aws` modules and declare the I/O trait; it still never names the SDK or tokio.

use std::path::{Path, PathBuf};

/// What a pure module may not name, with why.
const FORBIDDEN: [(&str, &str); 5] = [
    ("aws_sdk", "an AWS SDK crate"),
    ("aws_smithy", "a smithy runtime crate"),
    ("tokio", "the async runtime"),
    ("::aws::", "a resource kind's I/O module"),
    ("async fn", "an async function"),
];

/// The registry, relative to `src/`.
const REGISTRY: &str = "resources/mod.rs";

/// What the registry may name that a pure module may not.
const REGISTRY_MAY: [&str; 2] = ["::aws::", "async fn"];

/// Every forbidden name in `text`, with its line number.
fn violations(text: &str) -> Vec<(usize, &'static str)> {
    violations_except(text, &[])
}

/// `violations`, leaving out the names in `allowed`.
fn violations_except(text: &str, allowed: &[&str]) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for (name, _) in FORBIDDEN {
            if !allowed.contains(&name) && line.contains(name) {
                found.push((n + 1, name));
            }
        }
    }
    found
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            // A resource's `aws` module is its I/O half; tests may use anything.
            if path.file_name().is_some_and(|n| n == "aws") {
                continue;
            }
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path
                .file_name()
                .is_some_and(|n| n == "aws.rs" || n == "tests.rs")
        {
            out.push(path);
        }
    }
}

#[test]
fn the_layering_check_catches_a_bad_pure_module() {
    let bad = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/layering/bad_pure_module.rs.txt");
    let text = std::fs::read_to_string(&bad).expect("read the fixture");
    let names: Vec<&str> = violations(&text).into_iter().map(|(_, n)| n).collect();
    for (name, what) in FORBIDDEN {
        assert!(names.contains(&name), "missed {what} (`{name}`): {names:?}");
    }
}

#[test]
fn pure_layers_never_name_the_sdk_tokio_or_an_aws_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for layer in ["stack", "plan", "render", "resources", "data"] {
        sources(&src.join(layer), &mut files);
    }
    assert!(files.len() >= 10, "found the pure layers' files: {files:?}");
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let allowed: &[&str] = if file.ends_with(REGISTRY) {
            &REGISTRY_MAY
        } else {
            &[]
        };
        for (line, name) in violations_except(&text, allowed) {
            problems.push(format!("{}:{line} names `{name}`", file.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
