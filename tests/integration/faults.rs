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

/// Repeats `verb` under the proxy's faults until a fault-free check says it is done: an
/// empty plan after `apply`, nothing left to delete after `destroy`.
fn converge(stack: &std::path::Path, proxy: &Proxy, verb: &str) -> usize {
    for attempt in 1..=20 {
        run(
            stack,
            proxy,
            &[verb, "--yes", "--allow-data-loss", "--lock-timeout", "10s"],
        );
        let done = if verb == "apply" {
            clean_plan_exit(stack, proxy) == 0
        } else {
            nothing_to_destroy(stack, proxy)
        };
        if done {
            return attempt;
        }
    }
    panic!("{verb} did not converge in 20 runs");
}

#[test]
fn apply_and_destroy_converge_under_faults_and_lost_responses() {
    let seed = seed();
    let account = private_emulator();
    let account = Account {
        url: account.url.clone(),
    }
    .with_guard(account);
    let proxy = start_proxy(ProxyConfig {
        upstream: account.0.url.clone(),
        latency: Duration::ZERO,
        fault_rate: 0.15,
        lost_write_rate: 0.05,
        seed,
    });
    let copy = seed_copy_with("it-faults", true);
    let runs = converge(&copy.stack, &proxy, "apply");
    eprintln!("apply converged after {runs} run(s)");
    assert_eq!(
        account.0.census("it-faults"),
        (1, 1, 1, 1, 1),
        "exactly the declared stack, no duplicates"
    );
    let kinds = |proxy: &Proxy| {
        let stats = proxy.stats.lock().unwrap();
        let mut by: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for c in &stats.calls {
            *by.entry(c.fault.unwrap_or("none")).or_default() += 1;
        }
        by
    };
    let by_fault = kinds(&proxy);
    eprintln!("calls by injected fault: {by_fault:?}");
    assert!(
        by_fault.keys().any(|k| *k != "none"),
        "faults were injected: {by_fault:?}"
    );
    let runs = converge(&copy.stack, &proxy, "destroy");
    eprintln!("destroy converged after {runs} run(s)");
    if account.0.census("it-faults") != (0, 0, 0, 0, 0) {
        let left = block_on(async {
            account
                .0
                .ec2()
                .describe_vpc_endpoints()
                .send()
                .await
                .unwrap()
        });
        for e in left.vpc_endpoints() {
            eprintln!(
                "endpoint {:?} state {:?} tags {:?} rt {:?}",
                e.vpc_endpoint_id(),
                e.state(),
                e.tags(),
                e.route_table_ids()
            );
        }
        let calls = proxy.stats.lock().unwrap();
        for c in calls.calls.iter().filter(|c| c.service == "ec2") {
            eprintln!("{} {:?} {}", c.op, c.fault, c.excerpt);
        }
    }
    assert_eq!(
        account.0.census("it-faults"),
        (0, 0, 0, 0, 0),
        "nothing left"
    );
}

#[test]
fn runs_killed_at_random_moments_converge_without_manual_steps() {
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    let account = private_emulator();
    let account = Account {
        url: account.url.clone(),
    }
    .with_guard(account);
    // Latency stretches a run over a second or two, so kills land mid-apply.
    let proxy = start_proxy(ProxyConfig {
        upstream: account.0.url.clone(),
        latency: Duration::from_millis(25),
        fault_rate: 0.0,
        lost_write_rate: 0.0,
        seed,
    });
    let copy = seed_copy_with("it-crash", true);
    let mut mid_run = 0;
    for verb in ["apply", "destroy"] {
        for _ in 0..4 {
            let mut child = binary(
                &copy.stack,
                &proxy,
                &[verb, "--yes", "--allow-data-loss", "--lock-timeout", "10s"],
            )
            .spawn()
            .unwrap();
            std::thread::sleep(Duration::from_millis(rng.u64(100..1500)));
            if child.try_wait().unwrap().is_none() {
                mid_run += 1;
            }
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        }
        let runs = converge(&copy.stack, &proxy, verb);
        eprintln!("{verb} converged {runs} run(s) after the kills");
        let want = if verb == "apply" {
            (1, 1, 1, 1, 1)
        } else {
            (0, 0, 0, 0, 0)
        };
        assert_eq!(account.0.census("it-crash"), want, "after {verb}");
    }
    eprintln!("{mid_run} of 8 kills landed mid-run");
    assert!(mid_run >= 1, "at least one kill interrupted a run");
}

/// Keeps the private emulator alive as long as the account is used.
struct Guarded(Account, #[allow(dead_code)] crate::harness::Emulator);

impl Account {
    fn with_guard(self, emulator: crate::harness::Emulator) -> Guarded {
        Guarded(self, emulator)
    }
}
