//! The `cruddur-infra` binary: a switchboard that parses the command line, runs the
//! command and maps the outcome to an exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cruddur_infra::cli::Cli::parse();
    cruddur_infra::run(&cli)
}
