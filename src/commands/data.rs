//! `data seed`, `data scan` and `data query`: the bootcamp's `bin/ddb` scripts as commands
//! that use the stack's environments. They read and write items only, never the table's
//! definition, so they take no lock; the table must exist (`apply` makes it).

use std::io::{self, Write};
use std::path::Path;

use crate::aws::{Aws, WaitPolicy};
use crate::cli::{GlobalArgs, QueryArgs, ScanArgs, SeedArgs, TailArgs};
use crate::data::aws::{self as io_, Backoff, WriteError};
use crate::data::{Item, Keys, TableKeys, Usage, query, seed, show};
use crate::render;
use crate::resources::dynamodb_table::TableSpec;
use crate::stack::{self, Declared, Diagnostic};

use super::CommandError;

/// Widest table cell on a terminal; longer values end in `…` (`--json` prints them whole).
const CELL_WIDTH: usize = 48;

/// A table found in the stack and in AWS.
struct Target {
    /// AWS clients for the environment.
    aws: Aws,
    /// The live table's keys.
    keys: TableKeys,
}

/// Finds `table` (a logical name or an AWS name) in the stack, connects to `env` and reads
/// the table's keys; a table that is not declared, is disabled in `env` or does not exist
/// there is an error that says what to do.
async fn open(global: &GlobalArgs, env: &str, table: &str) -> Result<Target, CommandError> {
    let mut stack = stack::load(&global.stack_path()).map_err(CommandError::Stack)?;
    let (environment, _) = stack.select(env).map_err(CommandError::Stack)?;
    let declared = find(&stack.tables, table, env, stack.environments.keys())?;
    let address = declared.address.to_string();
    let name = declared.spec.name.clone();
    let target = super::target(global, &environment);
    let aws = Aws::connect(&target, WaitPolicy::default()).await?;
    let keys = io_::keys(&aws, &name).await?.ok_or_else(|| {
        CommandError::Usage(Usage {
            message: format!(
                "{address} (`{name}`) does not exist in environment `{env}` ({})",
                target
                    .endpoint_url
                    .clone()
                    .unwrap_or_else(|| format!("region {}", aws.region))
            ),
            help: format!("make it first: `cruddur-infra apply {env}`"),
        })
    })?;
    let _ = writeln!(io::stderr(), "{address} (`{name}`) in environment `{env}`");
    Ok(Target { aws, keys })
}

/// The declared table named `name` (logical or AWS name), enabled in `env`.
fn find<'a, 'e>(
    tables: &'a [Declared<TableSpec>],
    name: &str,
    env: &str,
    environments: impl Iterator<Item = &'e String>,
) -> Result<&'a Declared<TableSpec>, CommandError> {
    let table = tables
        .iter()
        .find(|t| t.address.name == name || t.spec.name == name)
        .ok_or_else(|| {
            let known: Vec<String> = tables
                .iter()
                .map(|t| format!("`{}` (`{}`)", t.address.name, t.spec.name))
                .collect();
            let environments: Vec<&String> = environments.collect();
            let help = if environments.iter().any(|e| *e == name) {
                format!(
                    "`{name}` is an environment; name the table after it, like `{name} {}`",
                    tables
                        .first()
                        .map_or("messages", |t| t.address.name.as_str())
                )
            } else if known.is_empty() {
                "the stack file declares no tables".into()
            } else {
                format!("the stack's tables: {}", known.join(", "))
            };
            CommandError::Usage(Usage {
                message: format!("the stack declares no table `{name}`"),
                help,
            })
        })?;
    if table.enabled {
        Ok(table)
    } else {
        Err(CommandError::Usage(Usage {
            message: format!("{} is disabled in environment `{env}`", table.address),
            help: format!("enable it there with `enable: [{}]`", table.address),
        }))
    }
}

/// `data seed [ENV] TABLE FILE`.
pub async fn seed(global: &GlobalArgs, args: &SeedArgs) -> Result<(), CommandError> {
    let (env, table, file) = args.parts();
    let path = Path::new(file);
    // The file is read before anything is asked of AWS: a syntax error costs no call.
    let loaded = seed::load(path).map_err(CommandError::Stack)?;
    let target = open(global, env, table).await?;
    let problems = seed::check(&loaded.items, &target.keys);
    if !problems.is_empty() {
        return Err(CommandError::Stack(seed::error(
            path,
            Some(&loaded.text),
            problems,
        )));
    }
    let items: Vec<Item> = loaded.items.iter().map(|s| s.item.clone()).collect();
    let before = io_::existing(&target.aws, &target.keys, &items, Backoff::default()).await?;
    let mut to_write = Vec::new();
    let mut unchanged = 0;
    let mut replaced = 0;
    let mut differing = Vec::new();
    for ((seeded, item), old) in loaded.items.iter().zip(items).zip(before) {
        match old {
            Some(old) if old == item => unchanged += 1,
            Some(_) if args.overwrite => {
                replaced += 1;
                to_write.push(item);
            }
            Some(_) => differing.push(seeded),
            None => to_write.push(item),
        }
    }
    if !differing.is_empty() {
        let key = target.keys.primary.describe();
        let diagnostics = differing
            .iter()
            .map(|s| {
                Diagnostic::new(
                    format!(
                        "`{}` already holds an item with this {key} key, with other contents",
                        target.keys.table
                    ),
                    s.loc,
                    "nothing was written; pass `--overwrite` to replace those items (their old contents are lost), or change the keys",
                )
            })
            .collect();
        return Err(CommandError::Stack(seed::error(
            path,
            Some(&loaded.text),
            diagnostics,
        )));
    }
    let written = io_::write_keyed(&target.aws, &target.keys, &to_write, Backoff::default())
        .await
        .map_err(|e| seed_failed(&e))?;
    let mut out = io::stdout().lock();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if written.items == 0 {
        writeln!(
            out,
            "Nothing to write: all {unchanged} items of `{file}` are already in `{}`, unchanged.",
            target.keys.table
        )?;
        return Ok(());
    }
    write!(
        out,
        "Wrote {} item{} to `{}` in {} BatchWriteItem call{}",
        written.items,
        plural(written.items),
        target.keys.table,
        written.calls,
        plural(written.calls)
    )?;
    if written.resends > 0 {
        write!(out, " ({} resending unprocessed items)", written.resends)?;
    }
    if replaced > 0 {
        write!(out, "; {replaced} replaced")?;
    }
    if unchanged > 0 {
        write!(out, "; {unchanged} already there unchanged")?;
    }
    writeln!(out, ".")?;
    Ok(())
}

/// A seed that stopped partway: what was written, and that running it again finishes it
/// (items already written are skipped as unchanged).
/// The error names the items written and those not, by key (its report).
fn seed_failed(e: &WriteError) -> CommandError {
    CommandError::Usage(Usage {
        message: e.to_string(),
        help: "run the same command again: it skips the items already written".into(),
    })
}

/// `data scan [ENV] TABLE`.
pub async fn scan(global: &GlobalArgs, args: &ScanArgs) -> Result<(), CommandError> {
    let (env, table) = args.read.parts();
    let target = open(global, env, table).await?;
    let mut printer = Printer::new(args.read.json, &target.keys.primary);
    io_::scan(
        &target.aws,
        &target.keys.table,
        args.read.limit.map(|l| l as usize),
        |page| printer.page(page),
    )
    .await?;
    printer.finish()
}

/// `data query [ENV] TABLE --key ATTR=VALUE`.
pub async fn query(global: &GlobalArgs, args: &QueryArgs) -> Result<(), CommandError> {
    let (env, table) = args.read.parts();
    let target = open(global, env, table).await?;
    let condition = query::condition(
        &target.keys,
        args.index.as_deref(),
        &args.key,
        args.begins_with.as_deref(),
    )
    .map_err(CommandError::Usage)?;
    let shown = target
        .keys
        .of(args.index.as_deref())
        .cloned()
        .unwrap_or_else(|| target.keys.primary.clone());
    let mut printer = Printer::new(args.read.json, &shown);
    io_::query(
        &target.aws,
        &target.keys.table,
        &condition,
        args.newest_first,
        args.read.limit.map(|l| l as usize),
        |page| printer.page(page),
    )
    .await?;
    printer.finish()
}

/// Prints pages as they come (`--json`) or gathers them into one table.
struct Printer {
    /// JSON Lines instead of a table.
    json: bool,
    /// The key columns to put first.
    keys: Keys,
    /// Items gathered for the table.
    items: Vec<Item>,
    /// How many were printed or gathered.
    count: usize,
    /// The first write error (a closed pipe), reported at the end.
    failed: Option<io::Error>,
}

impl Printer {
    fn new(json: bool, keys: &Keys) -> Self {
        Self {
            json,
            keys: keys.clone(),
            items: Vec::new(),
            count: 0,
            failed: None,
        }
    }

    fn page(&mut self, page: Vec<Item>) {
        self.count += page.len();
        if !self.json {
            self.items.extend(page);
            return;
        }
        if self.failed.is_some() {
            return;
        }
        let mut out = io::stdout().lock();
        for item in &page {
            if let Err(e) = writeln!(out, "{}", show::json_line(item)) {
                self.failed = Some(e);
                return;
            }
        }
    }

    fn finish(self) -> Result<(), CommandError> {
        if let Some(e) = self.failed {
            return Err(e.into());
        }
        if !self.json {
            let width = render::stdout_is_terminal().then_some(CELL_WIDTH);
            io::stdout().write_all(show::table(&self.items, &self.keys, width).as_bytes())?;
        }
        let plural = if self.count == 1 { "" } else { "s" };
        let _ = writeln!(io::stderr(), "{} item{plural}", self.count);
        Ok(())
    }
}

/// `stream tail [ENV] TABLE`.
pub async fn tail(global: &GlobalArgs, args: &TailArgs) -> Result<(), CommandError> {
    use crate::data::aws::stream::{self, Ended, Until};
    use crate::data::records;
    let (env, table) = args.parts();
    let target = open(global, env, table).await?;
    let name = target.keys.table.clone();
    let current = stream::current(&target.aws, &name).await?.ok_or_else(|| {
        CommandError::Usage(Usage {
            message: format!("`{name}` has no stream enabled in environment `{env}`"),
            help: "declare `stream: NEW_IMAGE` on the table and apply".into(),
        })
    })?;
    crate::interrupt::install_for_reading();
    let ready = || {
        let _ = writeln!(
            io::stderr(),
            "reading stream {} ({}, {}); Ctrl-C stops",
            current.arn,
            current.view,
            current.status
        );
    };
    let until = Until {
        max: args.max.map(|m| m as usize),
        deadline: args.for_.map(|d| std::time::Instant::now() + d),
        stop: crate::interrupt::requested,
    };
    let mut failed: Option<io::Error> = None;
    let (count, ended) = stream::tail(&target.aws, &current, args.from, until, ready, |record| {
        let text = if args.json {
            records::json(&record)
        } else {
            records::line(&record, &current.view)
        };
        let mut out = io::stdout().lock();
        match writeln!(out, "{text}").and_then(|()| out.flush()) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })
    .await?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let why = match ended {
        Ended::Max => "--max reached",
        Ended::Time => "--for elapsed",
        Ended::Interrupted => "interrupted",
        Ended::Gone => "the stream no longer exists",
        Ended::Closed => "output closed",
    };
    let plural = if count == 1 { "" } else { "s" };
    let _ = writeln!(io::stderr(), "{count} record{plural} ({why})");
    Ok(())
}
