//! cruddur-infra: declarative infrastructure for the Cruddur messaging stack.
//!
//! Layers (see the README's architecture section): `stack` (pure) → `refresh` (reads AWS)
//! → `plan` (pure) → `render` (pure) → `apply` (writes AWS, reports progress as events).
//! The pure layers never name the AWS SDK or tokio; a test enforces it.

pub mod apply;
pub mod artifact;
pub mod aws;
pub mod call_log;
pub mod cli;
pub mod commands;
pub mod data;
pub mod engine;
pub mod events;
pub mod interrupt;
pub mod lock;
pub mod ownership;
pub mod plan;
pub mod refresh;
pub mod render;
pub mod resources;
pub mod stack;
#[cfg(test)]
mod testing;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use cli::{Cli, Command, DataCommand, StreamCommand};
use commands::CommandError;
use commands::plan::Pending;

/// Writes the completion script of `shell` for the whole command line, generated from the
/// same clap definitions that parse it, so it never lists a flag the tool lacks.
fn completions(shell: clap_complete::Shell) -> Result<(), CommandError> {
    use clap::CommandFactory as _;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "cruddur-infra", &mut out);
    io::stdout().write_all(&out)?;
    Ok(())
}

/// Exit code for `plan --detailed-exitcode` when changes are pending.
const EXIT_CHANGES: u8 = 2;

/// Runs the parsed command line and maps the outcome to an exit code: 0 success, 1 error,
/// 2 pending changes under `plan --detailed-exitcode`.
#[must_use]
pub fn run(cli: &Cli) -> ExitCode {
    call_log::enable(call_log::wanted(
        cli.global.verbose,
        std::env::var_os("RUST_LOG").as_deref(),
    ));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Plan(args) => commands::plan::run(&cli.global, args)
                .await
                .map(|pending| pending == Pending::Some && args.detailed_exitcode),
            Command::Show(args) => commands::plan::show(args).map(|()| false),
            Command::Apply(args) => commands::apply::run(&cli.global, args, plan::Mode::Converge)
                .await
                .map(|()| false),
            Command::Destroy(args) => commands::apply::run(&cli.global, args, plan::Mode::Destroy)
                .await
                .map(|()| false),
            Command::Adopt(args) => commands::adopt::run(&cli.global, args)
                .await
                .map(|()| false),
            Command::Data(DataCommand::Seed(args)) => commands::data::seed(&cli.global, args)
                .await
                .map(|()| false),
            Command::Data(DataCommand::Scan(args)) => commands::data::scan(&cli.global, args)
                .await
                .map(|()| false),
            Command::Data(DataCommand::Query(args)) => commands::data::query(&cli.global, args)
                .await
                .map(|()| false),
            Command::Stream(StreamCommand::Tail(args)) => commands::data::tail(&cli.global, args)
                .await
                .map(|()| false),
            Command::Status(args) => commands::status::run(&cli.global, args)
                .await
                .map(|()| false),
            Command::Outputs(args) => commands::outputs::run(&cli.global, args)
                .await
                .map(|()| false),
            Command::Graph(args) => commands::graph::run(&cli.global, args).map(|()| false),
            Command::Validate(args) => commands::validate::run(&cli.global, args).map(|()| false),
            Command::Permissions(args) => commands::permissions::run(&cli.global, args)
                .await
                .map(|()| false),
            Command::Completions(args) => completions(args.shell).map(|()| false),
            Command::Schema => commands::schema::run().map(|()| false),
        }
    });
    match result {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(EXIT_CHANGES),
        // A closed pipe (`plan | head`) is the reader's choice, not an error.
        Err(CommandError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let color = render::use_color(cli.global.no_color, io::stderr().is_terminal());
            let text = match &e {
                CommandError::Stack(s) => s.render(color),
                CommandError::ApplyFailed(_) => String::new(),
                other => format!("error: {other}\n"),
            };
            // An error that ends a run must not be drawn over by a line still live.
            render::progress::finish();
            let _ = io::stderr().write_all(text.as_bytes());
            ExitCode::FAILURE
        }
    }
}
