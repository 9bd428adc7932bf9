//! The benchmark driver behind `scripts/bench`: a real moto emulator and the latency proxy
//! on loopback, the release binary run as a user runs it, medians of 5 runs. It prints two
//! tables: the measurements, each with its lower bound (sequential rounds × latency) and
//! the ratio to it; and the targets of issue 23, each with its bound, the ratio to it and
//! whether it holds. Among those, `apply` and `destroy` run under the proxy's AWS timing
//! model (`tests/support/aws_timing.rs`), where the bound is the longest chain of AWS's
//! waits, and the notes' AWS CLI script runs under the same model.

// Shared with the tests, which use fields this driver does not.
#[allow(dead_code)]
#[path = "../tests/support/proxy.rs"]
mod proxy;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use proxy::aws_timing::{self, Timing, Waits};
use proxy::{Proxy, ProxyConfig, Stats};

const RUNS: usize = 5;
/// The tool's default `--parallelism`: reads in flight at once.
const PARALLELISM: usize = 16;
/// Latency per call under the timing model: a control-plane call within a region. The
/// waits make the critical path; round trips spend the bound's allowance.
const TIMED_MS: u64 = 50;
/// How far over the longest chain of waits `apply` and `destroy` may run (issue 23).
const CHAIN_ALLOWANCE: f64 = 1.15;
/// The function whose timeout the changing `apply` changes: `f7` of the generated stack.
const CHANGED_INDEX: usize = 7;
/// Its name.
const CHANGED: &str = "bench-fn-7";
/// The role it depends on, which the run may re-read under the lock with it.
const CHANGED_ROLE: &str = "bench-role";
/// The lock's table: a changing `apply` takes the lock, which a plan never does.
const LOCK_TABLE: &str = "cruddur-infra-locks";

/// The running emulator, the proxy in front of it, and the checkout whose binaries run.
struct Bench {
    root: PathBuf,
    emulator: String,
    proxy: Proxy,
    _moto: Child,
}

/// What one run cost.
#[derive(Clone, Copy, Default)]
struct Sample {
    wall: Duration,
    reads: usize,
    writes: usize,
    rounds: usize,
    peak_kb: u64,
    /// Reads naming the changed resource, its role or the lock (changing `apply` only).
    named: usize,
    /// `CreateFunction` calls the timing model refused (the role not propagated yet).
    refused: usize,
}

fn median(mut v: Vec<Sample>) -> Sample {
    v.sort_by_key(|s| s.wall);
    let mut m = v[v.len() / 2];
    m.peak_kb = v.iter().map(|s| s.peak_kb).max().unwrap_or(0);
    m
}

impl Bench {
    fn set_latency(&self, ms: u64) {
        self.proxy.config.lock().unwrap().latency = Duration::from_millis(ms);
    }

    /// Turns the AWS timing model on, with no state held yet, or off.
    fn set_timing(&self, on: bool) {
        *self.proxy.timing.lock().unwrap() = on.then(|| Timing::new(aws_timing::AWS));
    }

    /// `CreateFunction` calls the model has refused since it was turned on.
    fn refused(&self) -> usize {
        self.proxy
            .timing
            .lock()
            .unwrap()
            .as_ref()
            .map_or(0, Timing::refused)
    }

    fn reset(&self) {
        let addr = self.emulator.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).expect("emulator");
        s.write_all(b"POST /moto-api/reset HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
    }

    /// Runs the tool; returns the sample (calls counted at the proxy, peak memory from
    /// GNU time).
    fn tool(&self, stack: &Path, args: &[&str]) -> Sample {
        *self.proxy.stats.lock().unwrap() = Stats::default();
        let start = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "PEAK_KB %M"])
            .arg(self.root.join("target/release/cruddur-infra"))
            .arg("--stack")
            .arg(stack)
            .args(args)
            .args(["--endpoint-url", &self.proxy.url])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run cruddur-infra");
        let wall = start.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "cruddur-infra {args:?} failed: {stderr}"
        );
        let peak_kb = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("PEAK_KB "))
            .filter_map(|n| n.trim().parse().ok())
            .next_back()
            .unwrap_or(0);
        let stats = self.proxy.stats.lock().unwrap();
        let (reads, writes) = stats.reads_writes();
        Sample {
            wall,
            reads,
            writes,
            rounds: stats.rounds(),
            peak_kb,
            named: 0,
            refused: self.refused(),
        }
    }

    fn cli_script(&self) -> Sample {
        *self.proxy.stats.lock().unwrap() = Stats::default();
        let path = format!(
            "{}:{}",
            self.root.join(".venv-bench/bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let start = Instant::now();
        let out = Command::new("bash")
            .arg(self.root.join("scripts/bench-data/notes-cli.sh"))
            .env("PATH", path)
            .env("ENDPOINT", &self.proxy.url)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("run the AWS CLI script");
        let wall = start.elapsed();
        assert!(
            out.status.success(),
            "AWS CLI script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stats = self.proxy.stats.lock().unwrap();
        let (reads, writes) = stats.reads_writes();
        Sample {
            wall,
            reads,
            writes,
            rounds: stats.rounds(),
            peak_kb: 0,
            named: 0,
            refused: self.refused(),
        }
    }
}

/// A generated stack: `n` tables (GSI + stream each), one role, `n` functions, `n` mappings,
/// in `target/bench/stack<n>.yaml`. With `timeout`, function `CHANGED` has that
/// timeout instead of Lambda's default: one field of one resource changed.
fn big_stack(root: &Path, n: usize, timeout: Option<u32>) -> PathBuf {
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let mut y =
        format!("name: bench{n}\nenvironments:\n  local: {{region: ca-central-1}}\ntables:\n");
    for i in 0..n {
        let _ = write!(
            y,
            "  t{i}:\n    name: bench-table-{i}\n    attributes: {{pk: S, sk: S, g: S}}\n    key: {{hash: pk, range: sk}}\n    billing: {{mode: PAY_PER_REQUEST}}\n    global_secondary_indexes:\n      - {{name: by-g, key: {{hash: g, range: sk}}, projection: ALL}}\n    stream: NEW_IMAGE\n"
        );
    }
    y.push_str("roles:\n  r:\n    name: bench-role\n    trust: [lambda.amazonaws.com]\n    managed_policies: [arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB]\nfunctions:\n");
    for i in 0..n {
        let _ = write!(
            y,
            "  f{i}:\n    name: bench-fn-{i}\n    runtime: python3.12\n    handler: lambda_function.lambda_handler\n    source: ../../lambda-artifacts/cruddur-messaging-stream\n    role: r\n    environment: {{TABLE_NAME: \"${{table.t{i}.name}}\"}}\n"
        );
        if let Some(t) = timeout.filter(|_| i == CHANGED_INDEX) {
            let _ = writeln!(y, "    timeout: {t}");
        }
    }
    y.push_str("event_source_mappings:\n");
    for i in 0..n {
        let _ = writeln!(y, "  m{i}: {{table: t{i}, function: f{i}, batch_size: 1}}");
    }
    let path = dir.join(format!("stack{n}.yaml"));
    std::fs::write(&path, y).unwrap();
    path
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// A duration as the targets table shows it: milliseconds below 10 s, seconds above.
fn show(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// A count as a float, for ratios (counts here are far below 2^32).
fn float(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

fn row(out: &mut String, name: &str, s: Sample, latency: u64, extra: &str) {
    let bound = s.rounds as u64 * latency;
    let ratio = if bound > 0 {
        format!(
            "{:.2}×",
            s.wall.as_secs_f64() / Duration::from_millis(bound).as_secs_f64()
        )
    } else {
        "–".into()
    };
    let _ = writeln!(
        out,
        "| {name} | {} ms | {} / {} | {} | {bound} ms | {ratio} | {extra} |",
        ms(s.wall),
        s.reads,
        s.writes,
        s.rounds
    );
}

/// AWS waits that must run one after another, each named.
struct Chain(Vec<(&'static str, Duration)>);

impl Chain {
    fn total(&self) -> Duration {
        self.0.iter().map(|(_, d)| *d).sum()
    }

    /// The longest of `chains`.
    fn longest(chains: Vec<Chain>) -> Chain {
        chains
            .into_iter()
            .max_by_key(Chain::total)
            .expect("at least one chain")
    }
}

impl std::fmt::Display for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, d)) in self.0.iter().enumerate() {
            let arrow = if i == 0 { "" } else { " → " };
            write!(f, "{arrow}{name} {} s", d.as_secs_f64())?;
        }
        Ok(())
    }
}

/// The chains of waits `apply` from empty goes through on the seed stack. The mapping needs
/// the table's stream (the table `ACTIVE`) and the function (`Active`); the function needs
/// a role Lambda can assume (propagated). The role waits for nothing (its policy names the
/// table's ARN, known at plan time), nor does the endpoint: the table's `CREATING` overlaps
/// the role's propagation, and a tool that starts each change as soon as what it needs is
/// ready finishes close to the longest chain.
fn apply_chains(w: &Waits) -> Vec<Chain> {
    vec![
        Chain(vec![
            ("table CREATING", w.table_creating),
            ("mapping Creating", w.mapping_creating),
        ]),
        Chain(vec![
            ("role propagation", w.role_propagation),
            ("function Pending", w.function_pending),
            ("mapping Creating", w.mapping_creating),
        ]),
        Chain(vec![("endpoint pending", w.endpoint_pending)]),
    ]
}

/// The chains of waits `destroy` goes through on the seed stack: in reverse order, the
/// mapping goes first (`Deleting` until gone), then the table (`DELETING`) and the function;
/// the role after the function. Deleting a function or a role, or (in the model) an
/// endpoint, holds no state.
fn destroy_chains(w: &Waits) -> Vec<Chain> {
    vec![
        Chain(vec![
            ("mapping Deleting", w.mapping_deleting),
            ("table DELETING", w.table_deleting),
        ]),
        Chain(vec![("mapping Deleting", w.mapping_deleting)]),
    ]
}

/// One limit of a target: the measured figure and the most it may be.
struct Limit {
    /// The figure's name in the ratio column.
    what: &'static str,
    value: f64,
    max: f64,
    /// Whether the figure must stay below `max`, not merely reach it.
    strict: bool,
    /// The limit as the bound column shows it, with how it is computed.
    shown: String,
}

impl Limit {
    /// The median wall time at most `max`; `how` says where `max` comes from.
    fn wall(s: &Sample, max: Duration, how: &str) -> Self {
        Self {
            what: "wall",
            value: s.wall.as_secs_f64(),
            max: max.as_secs_f64(),
            strict: false,
            shown: format!("≤ {}{how}", show(max)),
        }
    }

    /// A count (`reads`, `rounds`) at most `max`.
    fn count(what: &'static str, value: usize, max: usize, how: &str) -> Self {
        Self {
            what,
            value: float(value),
            max: float(max),
            strict: false,
            shown: format!("≤ {max} {what}{how}"),
        }
    }

    /// Peak memory below `mb` MB.
    fn memory(s: &Sample, mb: u32) -> Self {
        Self {
            what: "memory",
            value: f64::from(u32::try_from(s.peak_kb).unwrap_or(u32::MAX)),
            max: f64::from(mb) * 1024.0,
            strict: true,
            shown: format!("peak < {mb} MB"),
        }
    }

    fn holds(&self) -> bool {
        if self.strict {
            self.value < self.max
        } else {
            self.value <= self.max
        }
    }
}

/// Prints one target's row; returns whether every limit holds (a row without limits is a
/// baseline and holds nothing).
fn target_row(out: &mut String, name: &str, s: &Sample, limits: &[Limit], notes: &str) -> bool {
    let bound = if limits.is_empty() {
        "baseline".to_string()
    } else {
        limits
            .iter()
            .map(|l| l.shown.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let ratio = if limits.is_empty() {
        "–".to_string()
    } else {
        limits
            .iter()
            .map(|l| format!("{} {:.2}×", l.what, l.value / l.max))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let holds = limits.iter().all(Limit::holds);
    let mark = match (limits.is_empty(), holds) {
        (true, _) => "–",
        (false, true) => "✓",
        (false, false) => "✗",
    };
    let _ = writeln!(
        out,
        "| {name} | {} | {} / {} | {} | {bound} | {ratio} | {mark} | {notes} |",
        show(s.wall),
        s.reads,
        s.writes,
        s.rounds
    );
    holds && !limits.is_empty()
}

/// A plan's wall-time bound from its reads: `⌈reads / parallelism⌉` batches of reads at
/// `latency`, with a quarter for everything else.
fn plan_bound(s: &Sample, latency: u64) -> Limit {
    let batches = s.reads.div_ceil(PARALLELISM) as u64;
    let max = Duration::from_millis(batches * latency).mul_f64(1.25);
    Limit::wall(
        s,
        max,
        &format!(
            " (⌈{} reads / {PARALLELISM}⌉ × {latency} ms × 1.25)",
            s.reads
        ),
    )
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut moto = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("scripts/moto-launch.py"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto (run scripts/local-aws install)");
    let mut line = String::new();
    BufReader::new(moto.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let emulator = format!(
        "http://127.0.0.1:{}",
        line.trim().strip_prefix("ready ").expect("moto ready line")
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let proxy = rt.block_on(proxy::start(ProxyConfig {
        upstream: emulator.clone(),
        latency: Duration::from_millis(100),
        fault_rate: 0.0,
        lost_write_rate: 0.0,
        seed: 1,
    }));
    let b = Bench {
        root: root.clone(),
        emulator,
        proxy,
        _moto: moto,
    };
    let seed = root.join("stacks/cruddur.yaml");
    let mut table = String::from(
        "| scenario | median wall | reads / writes | rounds | lower bound | ratio | notes |\n|---|---|---|---|---|---|---|\n",
    );
    let mut targets = String::from(
        "| target | median wall | reads / writes | rounds | bound | ratio | holds | notes |\n|---|---|---|---|---|---|---|---|\n",
    );
    let mut held = 0;
    let mut checked = 0;
    let mut target = |name: &str, s: &Sample, limits: &[Limit], notes: &str| {
        if !limits.is_empty() {
            checked += 1;
        }
        if target_row(&mut targets, name, s, limits, notes) {
            held += 1;
        }
    };

    eprintln!("bench: seed stack at 100 ms per call ({RUNS} runs each)...");
    b.set_latency(100);
    // moto rebuilds a service's backend on its first call after a reset (0.7–1.2 s each):
    // every timed run starts from a warmed emulator, for the tool and the CLI alike.
    let warm = |stack: &Path| {
        b.reset();
        b.tool(stack, &["apply", "--yes"]);
        b.tool(stack, &["destroy", "--yes"]);
    };
    warm(&seed);
    let (mut applies, mut destroys) = (vec![], vec![]);
    for _ in 0..RUNS {
        applies.push(b.tool(&seed, &["apply", "--yes"]));
        destroys.push(b.tool(&seed, &["destroy", "--yes"]));
    }
    b.tool(&seed, &["apply", "--yes"]);
    let plans: Vec<Sample> = (0..RUNS).map(|_| b.tool(&seed, &["plan"])).collect();
    let converged: Vec<Sample> = (0..RUNS)
        .map(|_| b.tool(&seed, &["apply", "--yes"]))
        .collect();
    let mut cli = vec![];
    for _ in 0..RUNS {
        warm(&seed);
        cli.push(b.cli_script());
    }
    let apply = median(applies);
    let cli = median(cli);
    let seed_plan = median(plans);
    row(
        &mut table,
        "`plan`, converged seed stack, 100 ms/call",
        seed_plan,
        100,
        "",
    );
    row(
        &mut table,
        "`apply`, converged seed stack, 100 ms/call",
        median(converged),
        100,
        "no write call",
    );
    row(
        &mut table,
        "`apply` from empty, seed stack, 100 ms/call",
        apply,
        100,
        "warm emulator; the lock table exists (first use adds 3 calls)",
    );
    row(
        &mut table,
        "`destroy` to empty, seed stack, 100 ms/call",
        median(destroys),
        100,
        "",
    );
    row(
        &mut table,
        "AWS CLI script of the notes, 100 ms/call",
        cli,
        100,
        &format!(
            "{:.1}× slower than `apply`",
            cli.wall.as_secs_f64() / apply.wall.as_secs_f64().max(0.001)
        ),
    );
    target(
        "seed `plan`, converged, 100 ms/call",
        &seed_plan,
        &[
            Limit::wall(
                &seed_plan,
                Duration::from_millis(2 * 100 + 50),
                " (2 rounds × 100 ms + 50 ms)",
            ),
            Limit::count("reads", seed_plan.reads, 17, " (16 + the log-group read)"),
            Limit::count("rounds", seed_plan.rounds, 2, ""),
        ],
        "",
    );

    eprintln!(
        "bench: seed stack under the AWS timing model at {TIMED_MS} ms per call ({RUNS} runs each)..."
    );
    b.set_latency(TIMED_MS);
    warm(&seed);
    let (mut timed_applies, mut timed_destroys) = (vec![], vec![]);
    for _ in 0..RUNS {
        // A fresh model for each pair: no clock of an earlier run is still running.
        b.set_timing(true);
        timed_applies.push(b.tool(&seed, &["apply", "--yes"]));
        timed_destroys.push(b.tool(&seed, &["destroy", "--yes"]));
    }
    let mut timed_cli = vec![];
    for _ in 0..RUNS {
        // The warm-up runs without the model: only the timed run pays AWS's waits.
        b.set_timing(false);
        warm(&seed);
        b.set_timing(true);
        timed_cli.push(b.cli_script());
    }
    b.set_timing(false);
    let waits = aws_timing::AWS;
    let timed_apply = median(timed_applies);
    let timed_destroy = median(timed_destroys);
    let timed_cli = median(timed_cli);
    let apply_chain = Chain::longest(apply_chains(&waits));
    let destroy_chain = Chain::longest(destroy_chains(&waits));
    target(
        &format!("seed `apply` from empty, AWS timing model, {TIMED_MS} ms/call"),
        &timed_apply,
        &[
            Limit::wall(
                &timed_apply,
                apply_chain.total().mul_f64(CHAIN_ALLOWANCE),
                &format!(
                    " ({CHAIN_ALLOWANCE} × the longest chain: {apply_chain}; the table's {} s overlap it)",
                    waits.table_creating.as_secs_f64()
                ),
            ),
            Limit {
                what: "vs CLI",
                value: timed_apply.wall.as_secs_f64(),
                max: timed_cli.wall.as_secs_f64() / 2.0,
                strict: false,
                shown: format!(
                    "≤ ½ × the AWS CLI script's {} (≥ 2× faster)",
                    show(timed_cli.wall)
                ),
            },
        ],
        &format!(
            "`CreateFunction` refused {} times while the role propagated",
            timed_apply.refused
        ),
    );
    target(
        &format!("seed `destroy`, AWS timing model, {TIMED_MS} ms/call"),
        &timed_destroy,
        &[Limit::wall(
            &timed_destroy,
            destroy_chain.total().mul_f64(CHAIN_ALLOWANCE),
            &format!(" ({CHAIN_ALLOWANCE} × the longest chain: {destroy_chain})"),
        )],
        "",
    );
    target(
        &format!("AWS CLI script of the notes, AWS timing model, {TIMED_MS} ms/call"),
        &timed_cli,
        &[],
        &format!(
            "waits step by step: `wait table-exists` polls every 20 s; `create-function` refused {} times while the role propagated, re-run every second; `wait function-active-v2` polls every second",
            timed_cli.refused
        ),
    );

    eprintln!("bench: 40 tables / 40 functions / 40 mappings at 50 ms per call...");
    b.set_latency(50);
    let big = big_stack(&root, 40, None);
    warm(&big);
    let mut big_applies = vec![];
    for i in 0..RUNS {
        big_applies.push(b.tool(&big, &["apply", "--yes"]));
        if i + 1 < RUNS {
            b.tool(&big, &["destroy", "--yes"]);
        }
    }
    let big_plans: Vec<Sample> = (0..RUNS).map(|_| b.tool(&big, &["plan"])).collect();
    let p = median(big_plans);
    let a = median(big_applies);
    // One field of one function changes in each run (its timeout: 10 s, 11 s, …), so every
    // run is a changing apply of that function alone.
    let changing: Vec<Sample> = (0..RUNS)
        .map(|k| {
            let stack = big_stack(&root, 40, Some(10 + u32::try_from(k).unwrap_or(0)));
            let mut s = b.tool(&stack, &["apply", "--yes"]);
            s.named =
                b.proxy
                    .stats
                    .lock()
                    .unwrap()
                    .reads_naming(&[CHANGED, CHANGED_ROLE, LOCK_TABLE]);
            s
        })
        .collect();
    let changing = median(changing);
    row(
        &mut table,
        "`plan`, converged 40/40/40 stack, 50 ms/call",
        p,
        50,
        &format!("peak {} MB", p.peak_kb / 1024),
    );
    row(
        &mut table,
        "`apply` from empty, 40/40/40 stack, 50 ms/call",
        a,
        50,
        &format!("peak {} MB", a.peak_kb / 1024),
    );
    target(
        "40/40/40 `plan`, converged, 50 ms/call",
        &p,
        &[Limit::count("reads", p.reads, 170, ""), plan_bound(&p, 50)],
        &format!("peak {} MB", p.peak_kb / 1024),
    );
    target(
        "changing `apply` of one field on the 40/40/40 stack, 50 ms/call",
        &changing,
        &[Limit::count(
            "reads",
            changing.reads,
            p.reads + changing.named,
            &format!(
                " (the plan's {} + {} naming `{CHANGED}`, its role or the lock)",
                p.reads, changing.named
            ),
        )],
        &format!("`{CHANGED}`'s timeout changes in each run"),
    );

    eprintln!("bench: 120 tables / 120 functions / 120 mappings at 50 ms per call...");
    let huge = big_stack(&root, 120, None);
    // The 40-table stack's names overlap: start from an empty emulator.
    b.reset();
    b.tool(&huge, &["apply", "--yes"]);
    let huge_plans: Vec<Sample> = (0..RUNS).map(|_| b.tool(&huge, &["plan"])).collect();
    let h = median(huge_plans);
    target(
        "120/120/120 `plan`, converged, 50 ms/call",
        &h,
        &[plan_bound(&h, 50), Limit::memory(&h, 100)],
        &format!("peak {} MB", h.peak_kb / 1024),
    );

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let header = format!(
        "Machine: {cores} cores, {cpu}; emulator moto 5.2.5 behind a loopback proxy adding the stated latency to every call.\n\n"
    );
    let model = format!(
        "AWS timing model (`tests/support/aws_timing.rs`): table CREATING {} s, DELETING {} s; role propagation {} s; function Pending {} s, update InProgress {} s; mapping Creating {} s, Deleting {} s; endpoint pending {} s.\n\n",
        waits.table_creating.as_secs_f64(),
        waits.table_deleting.as_secs_f64(),
        waits.role_propagation.as_secs_f64(),
        waits.function_pending.as_secs_f64(),
        waits.function_updating.as_secs_f64(),
        waits.mapping_creating.as_secs_f64(),
        waits.mapping_deleting.as_secs_f64(),
        waits.endpoint_pending.as_secs_f64(),
    );
    let report = format!(
        "{header}{table}\nTargets of issue 23 ({held} of {checked} hold; ratio: figure ÷ bound):\n\n{model}{targets}"
    );
    print!("{report}");
    let _ = std::fs::write(root.join("target/bench/latest.md"), report);
}
