//! The test harness: one real moto emulator per test run on a free loopback port, a
//! builder to run the real `cruddur-infra` binary against it, and an SDK client to check
//! what the tool did without going through the tool's own reader.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The running emulator.
pub struct Emulator {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    child: Mutex<Child>,
}

static EMULATOR: OnceLock<Emulator> = OnceLock::new();

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn launch() -> Emulator {
    launch_with(true)
}

/// Starts moto through `scripts/moto-launch.py`; `aws_rules` off leaves moto's own
/// lenient create paths (a second mapping, a repeated client token) unpatched.
fn launch_with(aws_rules: bool) -> Emulator {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "the moto emulator is not installed ({} is missing): run `scripts/test`, which installs it",
        python.display()
    );
    let mut child = Command::new(&python)
        .arg(root().join("scripts/moto-launch.py"))
        .env(
            "CRUDDUR_MOTO_AWS_RULES",
            if aws_rules { "on" } else { "off" },
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the moto emulator");
    let stdout = child.stdout.take().expect("emulator stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the emulator's ready line");
    let port = line
        .strip_prefix("ready ")
        .and_then(|p| p.trim().parse::<u16>().ok())
        .unwrap_or_else(|| panic!("the emulator did not start: {line:?}"));
    Emulator {
        url: format!("http://127.0.0.1:{port}"),
        child: Mutex::new(child),
    }
}

/// The emulator shared by this run, started on first use. Panics (failing the test loudly)
/// when the emulator is not installed: these tests are never skipped.
pub fn emulator() -> &'static Emulator {
    EMULATOR.get_or_init(launch)
}

/// An emulator of the test's own, for tests that need a whole account to themselves (one
/// VPC endpoint per VPC and service). Stopped when dropped.
pub fn private_emulator() -> Emulator {
    launch()
}

/// A private emulator with moto's own lenient creates: it accepts a second mapping of the
/// same stream and function and ignores client tokens, as it does unpatched.
pub fn private_lenient_emulator() -> Emulator {
    launch_with(false)
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The DynamoDB Local shared by this run (started on first use by
/// `tests/emulator/dynamodb_local.py`, with `-delayTransientStatuses`). Panics (failing the
/// test loudly) when it is not installed or Java is missing: these tests are never skipped.
pub fn dynamodb_local() -> &'static Emulator {
    DYNAMODB_LOCAL.get_or_init(|| {
        let mut child = Command::new("python3")
            .arg(root().join("tests/emulator/dynamodb_local.py"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start DynamoDB Local's launcher (python3)");
        let stdout = child.stdout.take().expect("launcher stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read DynamoDB Local's ready line");
        let port = line
            .strip_prefix("ready ")
            .and_then(|p| p.trim().parse::<u16>().ok())
            .unwrap_or_else(|| panic!("DynamoDB Local did not start: {}", line.trim()));
        Emulator {
            url: format!("http://127.0.0.1:{port}"),
            child: Mutex::new(child),
        }
    })
}

static DYNAMODB_LOCAL: OnceLock<Emulator> = OnceLock::new();

/// A `DynamoDB` client straight to DynamoDB Local, for checking what the tool did there.
pub fn dynamodb_local_client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config_for(&dynamodb_local().url))
}

/// A stack with one table named `table` and one environment, `ddb`, on DynamoDB Local;
/// `body` is the table's YAML below its name.
pub fn dynamodb_local_stack(stack: &str, table: &str, body: &str) -> String {
    format!(
        "name: {stack}\nenvironments:\n  ddb:\n    endpoint_url: {}\n    region: ca-central-1\n    engine: dynamodb-local\ntables:\n  messages:\n    name: {table}\n{body}",
        dynamodb_local().url
    )
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Output {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// The environment every run of the binary gets, directly or through a wrapper (`script`
/// for a pseudo-terminal): no user AWS configuration, dummy credentials, no colour, a
/// short lock lease.
pub fn test_env(cmd: &mut Command) {
    cmd.env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        // `RUST_LOG` would add a line per AWS call to every run's stderr.
        .env_remove("RUST_LOG")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/nonexistent/cruddur-infra-tests")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/cruddur-infra-tests",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env("CRUDDUR_INFRA_LOCK_LEASE_SECONDS", "3");
}

/// Sets the read and write capacity of the table `name` at `url` through the SDK, as a user
/// would in the console (out of band).
pub fn set_capacity(url: &str, name: &str, read: i64, write: i64) {
    block_on(async {
        aws_sdk_dynamodb::Client::new(&sdk_config_for(url))
            .update_table()
            .table_name(name)
            .provisioned_throughput(
                aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                    .read_capacity_units(read)
                    .write_capacity_units(write)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
}

/// Builds one run of the real binary: no terminal on stdin, no user AWS configuration.
pub struct Run {
    cmd: Command,
}

impl Run {
    /// `cruddur-infra --stack <stack> <args…>`.
    pub fn new(stack: &Path, args: &[&str]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cruddur-infra"));
        cmd.arg("--stack").arg(stack).args(args);
        cmd.stdin(Stdio::null());
        test_env(&mut cmd);
        Self { cmd }
    }

    /// Runs from this folder.
    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Sets an environment variable for the run.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Removes an environment variable for the run.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// Starts it with stdout and stderr piped, for a command that runs until stopped.
    pub fn spawn(mut self) -> Child {
        self.cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cruddur-infra")
    }

    /// Runs it to completion.
    pub fn run(mut self) -> Output {
        let out = self.cmd.output().expect("run cruddur-infra");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A stack file in a temporary folder.
pub struct StackFile {
    _dir: tempfile::TempDir,
    /// Its path.
    pub path: PathBuf,
}

impl StackFile {
    /// Writes `text` as `stack.yaml`.
    pub fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stack.yaml");
        std::fs::write(&path, text).expect("write stack");
        Self { _dir: dir, path }
    }

    /// Replaces the file's text.
    pub fn rewrite(&self, text: &str) {
        std::fs::write(&self.path, text).expect("rewrite stack");
    }

    /// `cruddur-infra --stack <this> <args…>` against the emulator, pointed by `--endpoint-url`.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        let url = &emulator().url;
        all.extend(["--endpoint-url", url.as_str()]);
        Run::new(&self.path, &all).run()
    }
}

/// Runs a future to completion on a fresh runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// A `DynamoDB` client straight to the emulator, for checking what the tool made.
pub fn dynamodb() -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("ca-central-1"))
        .endpoint_url(&emulator().url)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// Makes the table `name` by hand through `client`, as a user would outside the tool: a
/// string hash key `pk`, on demand, no tags.
pub async fn hand_made_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    client
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("a table made by hand");
}

/// A stack with one table named `table`, in environments `local` and `prod`; `body` is
/// the table's YAML below its name.
pub fn one_table_stack(stack: &str, table: &str, body: &str) -> String {
    format!(
        "name: {stack}\nenvironments:\n  local:\n    endpoint_url: http://127.0.0.1:1\n    region: ca-central-1\n  prod:\n    region: ca-central-1\ntables:\n  messages:\n    name: {table}\n{body}"
    )
}

/// The seed table's body (keys, capacity, index, stream), for `one_table_stack`.
pub const SEED_BODY: &str = "    attributes: {pk: S, sk: S, message_group_uuid: S}
    key: {hash: pk, range: sk}
    billing: {mode: PROVISIONED, read: 5, write: 5}
    global_secondary_indexes:
      - name: message-group-sk-index
        key: {hash: message_group_uuid, range: sk}
        projection: ALL
        read: 5
        write: 5
    stream: NEW_IMAGE
";

/// SDK configuration straight to the emulator, for the other services' clients.
pub fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_for(&emulator().url)
}

/// SDK configuration straight to the emulator at `url`.
pub fn sdk_config_for(url: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("ca-central-1"))
        .endpoint_url(url)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("test", "test", None, None, "tests"),
            ),
        )
        .build()
}

#[path = "../support/proxy.rs"]
pub mod proxy;

static PROXY_RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// Starts a proxy in front of the shared emulator (or `upstream`), on a runtime that
/// lives as long as the test binary.
pub fn start_proxy(config: proxy::ProxyConfig) -> proxy::Proxy {
    let rt = PROXY_RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("proxy runtime")
    });
    rt.block_on(proxy::start(config))
}

/// A fault-free, latency-free proxy configuration in front of `upstream`.
pub fn passthrough(upstream: &str) -> proxy::ProxyConfig {
    proxy::ProxyConfig {
        upstream: upstream.to_string(),
        latency: std::time::Duration::ZERO,
        fault_rate: 0.0,
        lost_write_rate: 0.0,
        seed: 1,
    }
}

/// The test's seed: `CRUDDUR_TEST_SEED` to replay a failure, else the clock. Printed so a
/// failing run can be replayed.
pub fn seed() -> u64 {
    let seed = std::env::var("CRUDDUR_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_secs())
        });
    eprintln!("random seed: {seed} (replay with CRUDDUR_TEST_SEED={seed})");
    seed
}
