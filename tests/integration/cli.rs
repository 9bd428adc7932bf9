//! The command-line contract without AWS: validation errors, environments, flags.

use crate::harness::{Run, StackFile};

#[test]
fn a_stack_with_three_mistakes_reports_all_three_with_file_line_col() {
    let file = StackFile::new(
        "name: cruddur\nenvironments:\n  local: {endpoint_url: http://127.0.0.1:1, region: ca-central-1}\ntables:\n  messages:\n    name: x\n    attributes: {pk: S, unused: S}\n    key: {hash: pk}\n    billing: {mode: PROVISIONED, read: 0, write: 1}\n",
    );
    let out = Run::new(&file.path, &["plan"]).run();
    assert_eq!(out.code, 1);
    let path = file.path.display().to_string();
    for place in ["6:11", "7:25", "9:40"] {
        assert!(
            out.stderr.contains(&format!("{path}:{place}")),
            "missing {place} in:\n{}",
            out.stderr
        );
    }
    assert_eq!(out.stderr.matches("help:").count(), 3, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "nothing on stdout for a bad stack");
}

#[test]
fn an_undeclared_environment_is_an_error_naming_the_declared_ones() {
    let file = StackFile::new("name: cruddur\nenvironments:\n  local: {region: ca-central-1}\n");
    let out = Run::new(&file.path, &["plan", "staging"]).run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("environment `staging` is not declared"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("`local`"));
}

#[test]
fn a_missing_stack_file_says_how_to_point_at_one() {
    let out = Run::new(std::path::Path::new("/nonexistent/stack.yaml"), &["plan"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("--stack PATH"), "{}", out.stderr);
}

#[test]
fn global_flags_are_accepted_after_the_subcommand_and_yes_has_its_alias() {
    let file = StackFile::new(
        "name: cruddur\nenvironments:\n  local: {region: ca-central-1}\ntables:\n  t:\n    name: x\n",
    );
    // Fails in validation (missing keys), proving the flags parsed.
    let out = Run::new(
        &file.path,
        &[
            "destroy",
            "--auto-approve",
            "--no-color",
            "--region",
            "us-east-1",
        ],
    )
    .run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("missing field"), "{}", out.stderr);
}

#[test]
fn no_region_anywhere_is_a_clear_error() {
    let file = StackFile::new("name: cruddur\nenvironments:\n  bare: {}\n");
    let out = Run::new(&file.path, &["plan", "bare"]).run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no AWS region is configured"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_unreachable_endpoint_says_how_to_fix_it() {
    let file = StackFile::new("name: cruddur\nenvironments:\n  local: {region: ca-central-1}\n");
    let out = Run::new(
        &file.path,
        &["plan", "--endpoint-url", "http://127.0.0.1:9"],
    )
    .run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("cannot reach AWS while calling"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("scripts/local-aws start"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("DispatchFailure"),
        "no SDK internals: {}",
        out.stderr
    );
}
