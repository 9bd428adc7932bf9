//! The command-line contract: global options, the three verbs and their flags.
//!
//! This module only describes arguments; it never reads files or talks to AWS.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Declarative infrastructure for the Cruddur messaging stack.
///
/// Reads a YAML stack file, compares it with live AWS state (there is no state file),
/// shows what would change, and converges AWS to the file.
#[derive(Debug, Parser)]
#[command(name = "cruddur-infra", version, about, long_about = None)]
pub struct Cli {
    /// Options that apply to every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the stack file is found when neither `--stack` nor `CRUDDUR_STACK` names one.
pub const DEFAULT_STACK: &str = "stacks/cruddur.yaml";

/// Options accepted before or after the subcommand.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// The stack file to read [default: `stacks/cruddur.yaml` here or in the nearest folder
    /// above that has one, as cargo finds `Cargo.toml`].
    #[arg(long, global = true, value_name = "PATH", env = "CRUDDUR_STACK")]
    pub stack: Option<PathBuf>,
    /// Send every AWS call to this endpoint (beats the environment's `endpoint_url`,
    /// which beats `AWS_ENDPOINT_URL`).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS region (beats the environment's `region`, which beats the SDK's chain).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile from the AWS config and credentials files.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Never colour the output (`NO_COLOR` does the same).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// How many AWS reads to have in flight at once (changes: at most 8, `DynamoDB`'s
    /// limit on tables changing at once is about 10).
    #[arg(long, global = true, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Log each AWS call to stderr: operation, HTTP status, duration and attempts
    /// (`RUST_LOG` set to anything does the same).
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what `apply` would change, without changing anything.
    Plan(PlanArgs),
    /// Print a plan saved by `plan --out FILE`.
    Show(ShowArgs),
    /// Converge AWS to the stack file, after showing the plan and asking for `yes`.
    Apply(ConfirmArgs),
    /// Delete everything the stack owns, after showing the plan and asking for `yes`.
    Destroy(ConfirmArgs),
    /// Take over an existing resource made outside the tool: show what differs, then tag it
    /// as owned by this stack.
    Adopt(AdoptArgs),
    /// Write, scan and query a table's items (the bootcamp's `bin/ddb` scripts).
    #[command(subcommand)]
    Data(DataCommand),
    /// Read a table's stream: what `DynamoDB` hands the stream's function.
    #[command(subcommand)]
    Stream(StreamCommand),
    /// List every declared resource with its AWS name, live state and whether it matches
    /// the file; a table's item count and stream status, a DAX cluster's endpoint.
    Status(StatusArgs),
    /// Print what an application's settings need: table and stream ARNs, index names,
    /// function and role ARNs, the endpoint id, the DAX endpoint; with `ADDRESS.ATTR`, one
    /// value bare, for scripts (`outputs prod table.messages.stream_arn`).
    #[command(override_usage = "cruddur-infra outputs [OPTIONS] [ENV] [ADDRESS.ATTR]")]
    Outputs(OutputsArgs),
    /// Print the stack's resources and the order `apply` makes them in, as Mermaid (which
    /// GitHub renders) or Graphviz DOT, with disabled resources dashed. No AWS call.
    Graph(GraphArgs),
    /// Check the stack without any AWS call: the file, references, each function's handler
    /// and package, and every role against what the stack makes it do.
    Validate(ValidateArgs),
    /// Print the least-privilege IAM policy a person or CI role needs to plan, apply and
    /// destroy this stack (JSON for IAM; stderr says why each `*` and which call fits).
    Permissions(PermissionsArgs),
    /// Print the shell completion script for `bash`, `zsh`, `fish`, `elvish` or
    /// `powershell` (for bash: `source <(cruddur-infra completions bash)`).
    Completions(CompletionsArgs),
    /// Print the JSON Schema of the stack file, for editors (`stacks/cruddur.schema.json` is
    /// this output).
    Schema,
}

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Environment declared in the stack file.
    #[arg(default_value = "local")]
    pub env: String,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

/// Arguments of `permissions`.
#[derive(Debug, Args)]
pub struct PermissionsArgs {
    /// Environment declared in the stack file.
    #[arg(default_value = "local")]
    pub env: String,
    /// Only what `plan` needs (read-only, for CI that plans).
    #[arg(long)]
    pub plan_only: bool,
    /// Include what `--backup` needs (`dynamodb:CreateBackup`).
    #[arg(long)]
    pub backup: bool,
    /// The account id to put in ARNs, instead of asking STS.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
}

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Environment declared in the stack file.
    #[arg(default_value = "local")]
    pub env: String,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `outputs`.
#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// `[ENV] [ADDRESS.ATTR]`: the environment (default `local`) and, to print one value
    /// bare, a resource's address and attribute, like `table.messages.stream_arn`. A lone
    /// argument with a `.` is the value (environment names have none).
    #[arg(num_args = 0..=2, value_names = ["ENV", "ADDRESS.ATTR"])]
    pub target: Vec<String>,
    /// Print every output as one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Environment declared in the stack file (what it turns off is drawn dashed).
    #[arg(default_value = "local")]
    pub env: String,
    /// The notation to print.
    #[arg(long, value_enum, default_value = "mermaid")]
    pub format: GraphFormat,
}

/// The notations `graph` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid flowchart, which GitHub renders in a `mermaid` code block.
    Mermaid,
    /// Graphviz DOT, for `dot -Tsvg`.
    Dot,
}

/// Arguments of `plan`.
// Command-line switches are bools by nature; clap fills each from its own flag.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Environment declared in the stack file.
    #[arg(default_value = "local")]
    pub env: String,
    /// Exit 0 when there is nothing to change, 2 when changes are pending, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Treat the checks' warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Plan what `destroy` would delete instead.
    #[arg(long)]
    pub destroy: bool,
    /// Save the plan to FILE, for `apply --plan FILE` to apply exactly it (secrets are
    /// never written).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the plan as JSON (`schemas/plan.schema.json`) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Limit the plan to this resource and what it depends on (repeatable; for
    /// exceptional cases, like Terraform's `-target`).
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
}

/// Arguments of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved by `plan --out FILE`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Print it as JSON (`schemas/plan.schema.json`) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `apply` (and the shared part of `destroy`).
// Command-line switches are bools by nature; clap fills each from its own flag.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// Environment declared in the stack file [default: `local`; with `--plan`, the
    /// plan's].
    pub env: Option<String>,
    /// Apply this plan, saved by `plan --out FILE`, without asking again: refused, with
    /// nothing changed, if the stack file, a package or the live state it was made from
    /// has moved since.
    #[arg(long, value_name = "FILE", conflicts_with = "targets")]
    pub plan: Option<PathBuf>,
    /// Limit the run to this resource and what it depends on (`destroy`: and what depends
    /// on it); repeatable, for exceptional cases.
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Do not ask for confirmation (required when standard input is not a terminal).
    #[arg(long, visible_alias = "auto-approve", short = 'y')]
    pub yes: bool,
    /// Allow replacing or deleting tables that hold items.
    #[arg(long)]
    pub allow_data_loss: bool,
    /// Take an on-demand `DynamoDB` backup of each table the run deletes (destroyed,
    /// replaced, or no longer declared) before deleting it, and print its ARN.
    #[arg(long)]
    pub backup: bool,
    /// Wait this long for another run's lock (`90s`, `2m`); default: fail at once.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = crate::lock::parse_wait)]
    pub lock_timeout: std::time::Duration,
    /// Treat the checks' warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

impl ConfirmArgs {
    /// The environment named on the command line, else `local`.
    #[must_use]
    pub fn env(&self) -> &str {
        self.env.as_deref().unwrap_or("local")
    }
}

/// Arguments of `adopt`.
#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// `[ENV] ADDRESS`: the environment (default `local`) and the resource's address, like
    /// `table.messages`.
    #[arg(num_args = 1..=2, required = true, value_names = ["ENV", "ADDRESS"])]
    pub target: Vec<String>,
    /// Do not ask for confirmation.
    #[arg(long, visible_alias = "auto-approve", short = 'y')]
    pub yes: bool,
}

impl AdoptArgs {
    /// The environment and the address.
    #[must_use]
    pub fn env_and_address(&self) -> (&str, &str) {
        match self.target.as_slice() {
            [env, address] => (env, address),
            [address] => ("local", address),
            _ => ("local", ""),
        }
    }
}

/// The data commands. Each takes an optional environment before the table: with one more
/// positional argument than the command needs, the first is the environment (`data scan
/// local messages`); without it, the environment is `local` (`data scan messages`).
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Write the items of a YAML or JSON file to a table.
    ///
    /// The file is a list of items in plain values (strings, numbers, booleans, lists,
    /// maps, null). Every item is checked against the table's keys before anything is
    /// written; then they go 25 a `BatchWriteItem` call, unprocessed items resent with
    /// backoff. Items already there unchanged are skipped; items there with other contents
    /// stop the seed, with nothing written, unless `--overwrite` is given.
    #[command(override_usage = "cruddur-infra data seed [OPTIONS] [ENV] <TABLE> <FILE>")]
    Seed(SeedArgs),
    /// Print a table's items, every page (up to `--limit`).
    #[command(override_usage = "cruddur-infra data scan [OPTIONS] [ENV] <TABLE>")]
    Scan(ScanArgs),
    /// Print the items under one partition key, optionally narrowed by a sort key prefix.
    #[command(
        override_usage = "cruddur-infra data query [OPTIONS] [ENV] <TABLE> --key <ATTR=VALUE>"
    )]
    Query(QueryArgs),
}

/// Arguments of `data seed`.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// `[ENV] TABLE FILE`: the environment (default `local`), the table (its name in the
    /// stack file, like `messages`, or in AWS, like `cruddur-messages`) and the seed file.
    #[arg(num_args = 2..=3, required = true, value_names = ["ENV", "TABLE", "FILE"])]
    pub target: Vec<String>,
    /// Replace items that exist with other contents (their old contents are lost).
    #[arg(long)]
    pub overwrite: bool,
}

impl SeedArgs {
    /// The environment, the table and the file.
    #[must_use]
    pub fn parts(&self) -> (&str, &str, &str) {
        match self.target.as_slice() {
            [env, table, file] => (env, table, file),
            [table, file] => ("local", table, file),
            _ => ("local", "", ""),
        }
    }
}

/// What `data scan` and `data query` share: where, how many, and how to print.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// `[ENV] TABLE`: the environment (default `local`) and the table (its name in the
    /// stack file, like `messages`, or in AWS, like `cruddur-messages`).
    #[arg(num_args = 1..=2, required = true, value_names = ["ENV", "TABLE"])]
    pub target: Vec<String>,
    /// Print at most this many items.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Print JSON Lines (one object of plain values per item) instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl ReadArgs {
    /// The environment and the table.
    #[must_use]
    pub fn parts(&self) -> (&str, &str) {
        match self.target.as_slice() {
            [env, table] => (env, table),
            [table] => ("local", table),
            _ => ("local", ""),
        }
    }
}

/// Arguments of `data scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Where, how many, how to print.
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Arguments of `data query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Where, how many, how to print.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Query this secondary index instead of the table.
    #[arg(long, value_name = "NAME")]
    pub index: Option<String>,
    /// The partition key's value, like `pk=GRP#<user_uuid>`.
    #[arg(long, value_name = "ATTR=VALUE", required = true)]
    pub key: String,
    /// Only items whose sort key starts with this, like `sk=2023`.
    #[arg(long, value_name = "ATTR=PREFIX")]
    pub begins_with: Option<String>,
    /// Sort key descending: the newest first when the sort key is a time.
    #[arg(long)]
    pub newest_first: bool,
}

/// The stream commands.
#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Print each record of a table's current stream as it arrives: time, INSERT / MODIFY /
    /// REMOVE, keys, and the images the stream's view type carries.
    ///
    /// Follows child shards as they appear. Ctrl-C stops it cleanly (exit 0), as do
    /// `--max` and `--for`.
    #[command(override_usage = "cruddur-infra stream tail [OPTIONS] [ENV] <TABLE>")]
    Tail(TailArgs),
}

/// Arguments of `stream tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// `[ENV] TABLE`: the environment (default `local`) and the table (its name in the
    /// stack file, like `messages`, or in AWS, like `cruddur-messages`).
    #[arg(num_args = 1..=2, required = true, value_names = ["ENV", "TABLE"])]
    pub target: Vec<String>,
    /// Where to start: only new records, or every record the stream still holds (24 h).
    #[arg(long, value_enum, default_value = "latest")]
    pub from: crate::data::records::StartAt,
    /// Stop after this many records.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max: Option<u32>,
    /// Stop after this long (`30s`, `5m`).
    #[arg(long = "for", value_name = "DURATION", value_parser = crate::lock::parse_wait)]
    pub for_: Option<std::time::Duration>,
    /// Print one JSON object per record instead of a line for people.
    #[arg(long)]
    pub json: bool,
}

impl TailArgs {
    /// The environment and the table.
    #[must_use]
    pub fn parts(&self) -> (&str, &str) {
        match self.target.as_slice() {
            [env, table] => (env, table),
            [table] => ("local", table),
            _ => ("local", ""),
        }
    }
}

impl GlobalArgs {
    /// The stack file: `--stack` or `CRUDDUR_STACK` as given; otherwise
    /// `stacks/cruddur.yaml` in the current folder or the nearest one above it that has
    /// it (from a subfolder of the project, as cargo finds `Cargo.toml`), said on stderr
    /// when it is not the current folder's. With none found, the current folder's path,
    /// whose absence the loader reports.
    #[must_use]
    pub fn stack_path(&self) -> PathBuf {
        if let Some(path) = &self.stack {
            return path.clone();
        }
        let here = std::env::current_dir().unwrap_or_default();
        match find_upwards(&here, std::path::Path::new(DEFAULT_STACK)) {
            Some(found)
                if found.parent().and_then(std::path::Path::parent) != Some(here.as_path()) =>
            {
                // Best effort, like all progress output.
                let _ = writeln!(
                    std::io::stderr(),
                    "note: using the stack file {}",
                    found.display()
                );
                found
            }
            _ => PathBuf::from(DEFAULT_STACK),
        }
    }
}

/// `relative` under `start` or the nearest folder above it where it exists.
fn find_upwards(start: &std::path::Path, relative: &std::path::Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(relative))
        .find(|candidate| candidate.is_file())
}
