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

/// The binary run from `dir` with no `--stack`, no AWS credentials and no endpoint:
/// `validate` makes no AWS call.
fn validate_from(
    dir: &std::path::Path,
    stack_env: Option<&std::path::Path>,
) -> crate::harness::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
    cmd.arg("validate")
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .env_remove("CRUDDUR_STACK")
        .env_remove("AWS_ENDPOINT_URL")
        .env("NO_COLOR", "1");
    if let Some(path) = stack_env {
        cmd.env("CRUDDUR_STACK", path);
    }
    let out = cmd.output().expect("run cruddur-infra");
    crate::harness::Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn the_stack_file_is_found_from_a_subfolder_or_named_by_cruddur_stack() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // From a subfolder of the project, as cargo finds Cargo.toml: said on stderr.
    let sub = root.join("lambda-artifacts/cruddur-messaging-stream");
    let out = validate_from(&sub, None);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "note: using the stack file {}",
            root.join("stacks/cruddur.yaml").display()
        )),
        "{}",
        out.stderr
    );
    // From the project folder itself: nothing to say.
    let here = validate_from(root, None);
    assert_eq!(here.code, 0, "{here:?}");
    assert!(
        !here.stderr.contains("using the stack file"),
        "{}",
        here.stderr
    );
    // Anywhere, with CRUDDUR_STACK naming it.
    let elsewhere = tempfile::tempdir().unwrap();
    let named = validate_from(elsewhere.path(), Some(&root.join("stacks/cruddur.yaml")));
    assert_eq!(named.code, 0, "{named:?}");
    // Anywhere else, with nothing to find: the usual error for a missing file.
    let lost = validate_from(elsewhere.path(), None);
    assert_eq!(lost.code, 1, "{lost:?}");
    assert!(
        lost.stderr.contains("stacks/cruddur.yaml"),
        "{}",
        lost.stderr
    );
}

#[test]
fn completions_are_generated_from_the_command_line_itself() {
    let run = |shell: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cruddur-infra"))
            .args(["completions", shell])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run cruddur-infra");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, bash) = run("bash");
    assert_eq!(code, Some(0));
    assert!(bash.contains("_cruddur__infra()"), "{bash}");
    for word in [
        "validate",
        "permissions",
        "--lock-timeout",
        "--allow-data-loss",
        "--strict",
    ] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    let (code, fish) = run("fish");
    assert_eq!(code, Some(0));
    assert!(fish.contains("complete -c cruddur-infra"), "{fish}");
    let (code, zsh) = run("zsh");
    assert_eq!(code, Some(0));
    assert!(zsh.starts_with("#compdef cruddur-infra"), "{zsh}");
    let (code, _) = run("tcsh");
    assert_eq!(code, Some(2), "an unknown shell is a usage error");
}
