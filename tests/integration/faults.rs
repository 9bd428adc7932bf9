//! Faults and crashes: through the proxy, 15% of calls fail (throttling, 500, 503, reset)
//! and 5% of writes lose their answer; and runs are killed with SIGKILL at random moments.
//! Repeated runs must converge to exactly the declared stack (no duplicate mapping or
//! endpoint) and repeated destroys to nothing; every run ends with exit 0 or 1, never a
//! panic. The seed is printed for replay.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::proxy::{Proxy, ProxyConfig};
use crate::harness::{block_on, private_emulator, sdk_config_for, seed, start_proxy};
use crate::seed::seed_copy_with;

/// Lets a crashed run's lock lapse quickly, and later runs wait for it.
const LEASE_SECONDS: &str = "3";

struct Account {
    url: String,
}

impl Account {
    fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&sdk_config_for(&self.url))
    }
    fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&sdk_config_for(&self.url))
    }
    fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&sdk_config_for(&self.url))
    }
    fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&sdk_config_for(&self.url))
    }

    /// (tables of the stack, roles, functions, mappings, live endpoints), read directly.
    fn census(&self, tag: &str) -> (usize, usize, usize, usize, usize) {
        block_on(async {
            let tables = self.dynamodb().list_tables().send().await.unwrap();
            let tables = tables
                .table_names()
                .iter()
                .filter(|t| t.starts_with(tag))
                .count();
            let roles = self.iam().list_roles().send().await.unwrap();
            let roles = roles
                .roles()
                .iter()
                .filter(|r| r.role_name().starts_with(tag))
                .count();
            let functions = self.lambda().list_functions().send().await.unwrap();
            let functions = functions
                .functions()
                .iter()
                .filter(|f| f.function_name().is_some_and(|n| n.starts_with(tag)))
                .count();
            let mappings = self
                .lambda()
                .list_event_source_mappings()
                .send()
                .await
                .unwrap();
            let mappings = mappings.event_source_mappings().len();
            let endpoints = self.ec2().describe_vpc_endpoints().send().await.unwrap();
            let endpoints = endpoints
                .vpc_endpoints()
                .iter()
                .filter(|e| {
                    e.state()
                        .is_none_or(|s| !s.as_str().eq_ignore_ascii_case("deleted"))
                })
                .count();
            (tables, roles, functions, mappings, endpoints)
        })
    }
}

fn binary(stack: &std::path::Path, proxy: &Proxy, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
    cmd.arg("--stack")
        .arg(stack)
        .args(args)
        .args(["--endpoint-url", &proxy.url]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/cruddur-infra-tests")
        .env("NO_COLOR", "1")
        .env("CRUDDUR_INFRA_LOCK_LEASE_SECONDS", LEASE_SECONDS);
    cmd
}

/// Runs to the end; asserts exit 0 or 1 and no panic; returns the exit code.
fn run(stack: &std::path::Path, proxy: &Proxy, args: &[&str]) -> i32 {
    let out = binary(stack, proxy, args).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Every error under faults is a line a person can read, never the SDK's Debug dump.
    for dump in [
        "ServiceError {",
        "raw: Response",
        "SdkBody",
        "Unhandled(",
        "DispatchFailure(",
    ] {
        assert!(!stderr.contains(dump), "`{dump}` printed: {stderr}");
    }
    code
}

fn set_faults(proxy: &Proxy, fault_rate: f64, lost_write_rate: f64) {
    let mut c = proxy.config.lock().unwrap();
    c.fault_rate = fault_rate;
    c.lost_write_rate = lost_write_rate;
}

/// Whether a fault-free plan finds nothing to do (`want_empty`) or everything to create.
fn clean_plan_exit(stack: &std::path::Path, proxy: &Proxy) -> i32 {
    let (f, l) = {
        let c = proxy.config.lock().unwrap();
        (c.fault_rate, c.lost_write_rate)
    };
    set_faults(proxy, 0.0, 0.0);
    let out = binary(stack, proxy, &["plan", "--detailed-exitcode"])
        .output()
        .unwrap();
    set_faults(proxy, f, l);
    out.status.code().unwrap_or(-1)
}

/// Whether a fault-free destroy finds nothing left to delete (it then writes nothing).
fn nothing_to_destroy(stack: &std::path::Path, proxy: &Proxy) -> bool {
    let (f, l) = {
        let c = proxy.config.lock().unwrap();
        (c.fault_rate, c.lost_write_rate)
    };
    set_faults(proxy, 0.0, 0.0);
    let out = binary(stack, proxy, &["destroy"]).output().unwrap();
    set_faults(proxy, f, l);
    out.status.code() == Some(0)
        && String::from_utf8_lossy(&out.stdout).contains("Nothing owned by this stack exists")
}

/// How many seeded rounds the fault test runs: 10 (CI), or `CRUDDUR_FAULT_SEEDS` (the long
/// mode, 100 before resolving a change to the create or delete paths).
fn fault_rounds() -> u64 {
    std::env::var("CRUDDUR_FAULT_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

/// How many runs of each verb the kill test interrupts: 6 (CI), or `CRUDDUR_KILL_RUNS`.
fn kill_runs() -> usize {
    std::env::var("CRUDDUR_KILL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6)
}

/// The invariant of exit 0: right after an `apply` that exited 0, a fault-free plan is
/// empty and the account holds exactly the stack; right after a `destroy` that exited 0,
/// nothing of the stack is left.
fn assert_converged(
    account: &Account,
    stack: &std::path::Path,
    proxy: &Proxy,
    verb: &str,
    tag: &str,
) {
    if verb == "apply" {
        assert_eq!(
            clean_plan_exit(stack, proxy),
            0,
            "`apply` exited 0 but the next plan is not empty"
        );
        assert_eq!(
            account.census(tag),
            (1, 1, 1, 1, 1),
            "`apply` exited 0: exactly the declared stack, no duplicate"
        );
    } else {
        assert_eq!(
            account.census(tag),
            (0, 0, 0, 0, 0),
            "`destroy` exited 0: nothing left"
        );
        assert!(nothing_to_destroy(stack, proxy));
    }
}

/// Runs `verb` under the proxy's faults until one run exits 0 (at most 20 runs), and checks
/// the invariant right after it. Answers how many runs it took.
fn until_exit_0(
    account: &Account,
    stack: &std::path::Path,
    proxy: &Proxy,
    verb: &str,
    tag: &str,
) -> usize {
    for attempt in 1..=20 {
        let code = run(
            stack,
            proxy,
            &[verb, "--yes", "--allow-data-loss", "--lock-timeout", "10s"],
        );
        if code == 0 {
            assert_converged(account, stack, proxy, verb, tag);
            return attempt;
        }
    }
    panic!("no `{verb}` exited 0 in 20 runs");
}

#[test]
fn every_apply_and_destroy_that_exits_0_under_faults_and_lost_answers_has_converged() {
    let seed = seed();
    let rounds = fault_rounds();
    let started = std::time::Instant::now();
    let account = fresh_account(false);
    let proxy = start_proxy(ProxyConfig {
        upstream: account.0.url.clone(),
        latency: Duration::ZERO,
        fault_rate: 0.15,
        lost_write_rate: 0.05,
        seed,
    });
    let copy = seed_copy_with("it-faults", true);
    let (mut applies, mut destroys) = (0, 0);
    for _ in 0..rounds {
        applies += until_exit_0(&account.0, &copy.stack, &proxy, "apply", "it-faults");
        destroys += until_exit_0(&account.0, &copy.stack, &proxy, "destroy", "it-faults");
    }
    let stats = proxy.stats.lock().unwrap();
    let mut by: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for c in &stats.calls {
        *by.entry(c.fault.unwrap_or("none")).or_default() += 1;
    }
    eprintln!(
        "{rounds} rounds in {:.0?}: {applies} apply and {destroys} destroy runs; calls by injected fault: {by:?}",
        started.elapsed()
    );
    assert!(
        by.get("lost").copied().unwrap_or(0) > 0,
        "answers were lost: {by:?}"
    );
    assert!(by.len() > 2, "faults were injected: {by:?}");
}

#[test]
fn runs_killed_at_random_moments_are_followed_at_once_by_a_run_that_converges() {
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    let account = fresh_account(false);
    // Latency stretches a run over a second or two, so kills land mid-run.
    let proxy = start_proxy(ProxyConfig {
        upstream: account.0.url.clone(),
        latency: Duration::from_millis(25),
        fault_rate: 0.0,
        lost_write_rate: 0.0,
        seed,
    });
    let copy = seed_copy_with("it-crash", true);
    let verb_args = |verb: &'static str| [verb, "--yes", "--allow-data-loss"];
    // How long a whole run of each verb takes from the state it starts from, so that kills
    // fall inside runs, not after them.
    let timed = |verb: &'static str| {
        let t = std::time::Instant::now();
        assert_eq!(run(&copy.stack, &proxy, &verb_args(verb)), 0);
        t.elapsed()
    };
    // Measured warm: the first apply also creates the lock table.
    timed("apply");
    timed("destroy");
    let apply_takes = timed("apply");
    let destroy_takes = timed("destroy");
    let n = kill_runs();
    let mut mid_run = 0;
    for (verb, before, takes) in [
        ("apply", "destroy", apply_takes),
        ("destroy", "apply", destroy_takes),
    ] {
        for _ in 0..n {
            // Every killed run starts with all of its work ahead of it.
            assert_eq!(run(&copy.stack, &proxy, &verb_args(before)), 0);
            // No --lock-timeout: the killed run's lock is taken over, not waited out.
            let mut child = binary(&copy.stack, &proxy, &verb_args(verb))
                .spawn()
                .unwrap();
            let ms = u64::try_from(takes.as_millis()).unwrap_or(1000).max(100);
            // Within the first 60% of a whole run, so the kill lands while work remains.
            std::thread::sleep(Duration::from_millis(rng.u64(ms / 20..ms * 3 / 5)));
            if child.try_wait().unwrap().is_none() {
                mid_run += 1;
            }
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            let follow = binary(&copy.stack, &proxy, &verb_args(verb))
                .output()
                .unwrap();
            assert_eq!(
                follow.status.code(),
                Some(0),
                "the run right after a kill: {}",
                String::from_utf8_lossy(&follow.stderr)
            );
            assert_converged(&account.0, &copy.stack, &proxy, verb, "it-crash");
        }
    }
    eprintln!(
        "{mid_run} of {} kills landed mid-run (a whole apply takes {apply_takes:.1?}, a destroy {destroy_takes:.1?})",
        2 * n
    );
    // Timing decides how many land mid-run; convergence after every kill is what is asserted
    // above, this only shows the test did interrupt runs.
    assert!(mid_run >= 1, "at least one kill interrupted a run");
}

/// Waits until the proxy has held back an answer to `op`.
fn wait_for_held(proxy: &Proxy, op: &str) {
    for _ in 0..600 {
        let held = proxy
            .stats
            .lock()
            .unwrap()
            .calls
            .iter()
            .any(|c| op.split('@').next() == Some(c.op.as_str()) && c.fault == Some("held"));
        if held {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no `{op}` reached the emulator within 30 s");
}

#[test]
fn a_kill_after_each_creates_write_and_before_its_answer_converges_in_one_more_apply() {
    let seed = seed();
    let account = fresh_account(false);
    let proxy = start_proxy(crate::harness::passthrough(&account.0.url));
    let _ = seed;
    let copy = seed_copy_with("it-held", true);
    for op in [
        // The stack's table, not the lock table (the run's first CreateTable).
        "CreateTable@it-held-messages",
        "CreateRole",
        "CreateFunction",
        "CreateEventSourceMapping",
        "CreateVpcEndpoint",
    ] {
        proxy.hold_next.lock().unwrap().push(op.to_string());
        let mut child = binary(&copy.stack, &proxy, &["apply", "--yes"])
            .spawn()
            .unwrap();
        wait_for_held(&proxy, op);
        let _ = child.kill(); // SIGKILL: the create happened, its answer never arrived
        let _ = child.wait();
        let again = binary(&copy.stack, &proxy, &["apply", "--yes"])
            .output()
            .unwrap();
        assert_eq!(
            again.status.code(),
            Some(0),
            "after a kill during {op}: {}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert_converged(&account.0, &copy.stack, &proxy, "apply", "it-held");
        assert_eq!(
            run(
                &copy.stack,
                &proxy,
                &["destroy", "--yes", "--allow-data-loss"]
            ),
            0
        );
        assert_converged(&account.0, &copy.stack, &proxy, "destroy", "it-held");
    }
}

/// One apply whose first answer to `op` is lost, against a fresh account (moto patched
/// with AWS's rules, or lenient): exit 0, then the invariant. Answers the run's stderr.
fn apply_losing(op: &str, lenient: bool, tag: &str) -> String {
    let account = fresh_account(lenient);
    let proxy = start_proxy(crate::harness::passthrough(&account.0.url));
    let copy = seed_copy_with(tag, true);
    proxy.lose_next.lock().unwrap().push(op.to_string());
    let out = binary(&copy.stack, &proxy, &["apply", "--yes"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lost = proxy
        .stats
        .lock()
        .unwrap()
        .calls
        .iter()
        .filter(|c| op.split('@').next() == Some(c.op.as_str()) && c.fault == Some("lost"))
        .count();
    assert_eq!(lost, 1, "the first answer to {op} was lost");
    assert_converged(&account.0, &copy.stack, &proxy, "apply", tag);
    stderr
}

#[test]
fn a_lost_mapping_create_answer_is_adopted_in_the_same_run_when_aws_refuses_the_second() {
    let stderr = apply_losing("CreateEventSourceMapping", false, "it-lost-esm");
    assert!(
        stderr.contains("a mapping of this stream and function already exists ("),
        "{stderr}"
    );
    assert!(stderr.contains("adopting it"), "{stderr}");
}

#[test]
fn a_lost_mapping_create_answer_on_lenient_moto_leaves_no_duplicate() {
    let stderr = apply_losing("CreateEventSourceMapping", true, "it-lax-esm");
    assert!(
        stderr.contains("deleting duplicate mapping"),
        "moto made a second mapping, which the run deleted: {stderr}"
    );
}

#[test]
fn a_lost_endpoint_create_answer_is_the_same_endpoint_by_its_client_token() {
    let stderr = apply_losing("CreateVpcEndpoint", false, "it-lost-vpce");
    assert!(
        !stderr.contains("deleting duplicate endpoint"),
        "the repeated token answered the first endpoint: {stderr}"
    );
}

#[test]
fn a_lost_endpoint_create_answer_on_lenient_moto_leaves_no_duplicate() {
    let stderr = apply_losing("CreateVpcEndpoint", true, "it-lax-vpce");
    assert!(stderr.contains("deleting duplicate endpoint"), "{stderr}");
}

#[test]
fn lost_answers_to_named_creates_are_read_back_and_carried_on() {
    for (op, tag, what) in [
        // The stack's table, not the lock table (the run's first CreateTable).
        (
            "CreateTable@it-lost-table-messages",
            "it-lost-table",
            "the table was already created",
        ),
        ("CreateRole", "it-lost-role", "the role was already created"),
        (
            "CreateFunction",
            "it-lost-fn",
            "the function was already created",
        ),
    ] {
        let stderr = apply_losing(op, false, tag);
        assert!(stderr.contains(what), "{op}: {stderr}");
    }
}

/// Keeps the private emulator alive as long as the account is used.
struct Guarded(Account, #[allow(dead_code)] crate::harness::Emulator);

/// An account of the test's own: a private moto, patched with AWS's rules unless `lenient`.
fn fresh_account(lenient: bool) -> Guarded {
    let emulator = if lenient {
        crate::harness::private_lenient_emulator()
    } else {
        private_emulator()
    };
    Guarded(
        Account {
            url: emulator.url.clone(),
        },
        emulator,
    )
}

#[test]
fn ctrl_c_during_apply_finishes_what_runs_releases_the_lock_and_says_what_was_done() {
    use std::io::{BufRead, BufReader};
    let account = fresh_account(false);
    // Slow calls, so the interrupt lands while changes are still to start.
    let proxy = start_proxy(ProxyConfig {
        upstream: account.0.url.clone(),
        latency: Duration::from_millis(150),
        fault_rate: 0.0,
        lost_write_rate: 0.0,
        seed: 1,
    });
    let copy = seed_copy_with("it-sigint", true);
    let mut child = binary(&copy.stack, &proxy, &["apply", "--yes"])
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    // The first change has started: interrupt, as Ctrl-C does.
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("Creating…") {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    seen.extend(lines.map_while(Result::ok));
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = seen.join("\n");
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("interrupted: no new change starts"),
        "{stderr}"
    );
    assert!(stdout.contains("Interrupted: "), "{stdout}");
    assert!(stdout.contains("Done before the interrupt: "), "{stdout}");
    assert!(
        stderr.contains("the lock is released"),
        "the error says so: {stderr}"
    );
    // The lock was released, not left to lapse or to be taken over.
    let next = binary(&copy.stack, &proxy, &["apply", "--yes"])
        .output()
        .unwrap();
    let next_err = String::from_utf8_lossy(&next.stderr);
    assert_eq!(next.status.code(), Some(0), "{next_err}");
    assert!(!next_err.contains("took over the lock"), "{next_err}");
    assert_converged(&account.0, &copy.stack, &proxy, "apply", "it-sigint");
}

#[test]
fn a_killed_holders_lock_is_taken_over_at_once_with_a_note() {
    let account = fresh_account(false);
    let proxy = start_proxy(ProxyConfig {
        upstream: account.0.url.clone(),
        latency: Duration::from_millis(100),
        fault_rate: 0.0,
        lost_write_rate: 0.0,
        seed: 1,
    });
    let copy = seed_copy_with("it-takeover", false);
    let mut child = binary(&copy.stack, &proxy, &["apply", "--yes"])
        .env("CRUDDUR_INFRA_LOCK_LEASE_SECONDS", "600")
        .spawn()
        .unwrap();
    // Wait until the run holds the lock (it has sent the stack table's create), then kill.
    for _ in 0..600 {
        let locked = proxy
            .stats
            .lock()
            .unwrap()
            .calls
            .iter()
            .any(|c| c.op == "CreateTable" && c.excerpt.contains("message_group_uuid"));
        if locked {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    // No --lock-timeout, and a 10-minute lease: only a takeover lets this run start.
    let next = binary(&copy.stack, &proxy, &["apply", "--yes"])
        .env("CRUDDUR_INFRA_LOCK_LEASE_SECONDS", "600")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&next.stderr);
    assert_eq!(next.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("note: took over the lock of") && stderr.contains("no longer running"),
        "{stderr}"
    );
    assert_eq!(
        clean_plan_exit(&copy.stack, &proxy),
        0,
        "the run that took over converged"
    );
}

#[test]
fn a_client_token_that_outlived_its_endpoint_is_replaced_never_taken_for_a_create() {
    // A crash between deleting the endpoint and forgetting its token leaves the token; EC2
    // answers it with the deleted endpoint. Played here by deleting the endpoint by hand.
    let account = fresh_account(false);
    let proxy = start_proxy(crate::harness::passthrough(&account.0.url));
    let copy = seed_copy_with("it-stale", true);
    assert_eq!(run(&copy.stack, &proxy, &["apply", "--yes"]), 0);
    let ec2 = account.0.ec2();
    let first = block_on(async {
        let out = ec2.describe_vpc_endpoints().send().await.unwrap();
        let id = out.vpc_endpoints()[0]
            .vpc_endpoint_id()
            .unwrap()
            .to_string();
        ec2.delete_vpc_endpoints()
            .vpc_endpoint_ids(&id)
            .send()
            .await
            .unwrap();
        id
    });
    let out = binary(&copy.stack, &proxy, &["apply", "--yes"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("the client token belonged to a deleted endpoint"),
        "{stderr}"
    );
    assert_converged(&account.0, &copy.stack, &proxy, "apply", "it-stale");
    let now = block_on(async { ec2.describe_vpc_endpoints().send().await.unwrap() });
    let live: Vec<&str> = now
        .vpc_endpoints()
        .iter()
        .filter(|e| {
            e.state()
                .is_none_or(|s| !s.as_str().eq_ignore_ascii_case("deleted"))
        })
        .filter_map(|e| e.vpc_endpoint_id())
        .collect();
    assert_eq!(live.len(), 1);
    assert_ne!(live[0], first, "a new endpoint, not the deleted one");
}

#[test]
fn a_second_interrupt_stops_at_once_with_130_and_the_next_run_converges() {
    let account = fresh_account(false);
    let proxy = start_proxy(crate::harness::passthrough(&account.0.url));
    let copy = seed_copy_with("it-sigint2", true);
    // The role's create stays in flight (its answer held back a minute).
    proxy.hold_next.lock().unwrap().push("CreateRole".into());
    let mut child = binary(&copy.stack, &proxy, &["apply", "--yes"])
        .spawn()
        .unwrap();
    wait_for_held(&proxy, "CreateRole");
    let pid = child.id().to_string();
    let interrupt = || {
        assert!(
            Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    interrupt();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first interrupt waits for the change in flight"
    );
    interrupt();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let next = binary(&copy.stack, &proxy, &["apply", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        next.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    assert_converged(&account.0, &copy.stack, &proxy, "apply", "it-sigint2");
}
