//! The benchmark driver behind `scripts/bench`: a real moto emulator and the latency proxy
//! on loopback, the release binary run as a user runs it, medians of 5 runs, each figure
//! printed with its lower bound (sequential rounds × latency) and the ratio to it.

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

use proxy::{Proxy, ProxyConfig, Stats};

const RUNS: usize = 5;

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
        }
    }
}

/// A generated stack: `n` tables (GSI + stream each), one role, `n` functions, `n` mappings.
fn big_stack(root: &Path, n: usize) -> PathBuf {
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let mut y =
        String::from("name: bench40\nenvironments:\n  local: {region: ca-central-1}\ntables:\n");
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
    }
    y.push_str("event_source_mappings:\n");
    for i in 0..n {
        let _ = writeln!(y, "  m{i}: {{table: t{i}, function: f{i}, batch_size: 1}}");
    }
    let path = dir.join("stack40.yaml");
    std::fs::write(&path, y).unwrap();
    path
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
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
    row(
        &mut table,
        "`plan`, converged seed stack, 100 ms/call",
        median(plans),
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

    eprintln!("bench: 40 tables / 40 functions / 40 mappings at 50 ms per call...");
    b.set_latency(50);
    let big = big_stack(&root, 40);
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
    print!("{header}{table}");
    let _ = std::fs::write(
        root.join("target/bench/latest.md"),
        format!("{header}{table}"),
    );
}
