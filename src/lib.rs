//! cruddur-infra: declarative infrastructure for the Cruddur messaging stack.
//!
//! Layers (see the README's architecture section): `stack` (pure) → `refresh` (reads AWS)
//! → `plan` (pure) → `render` (pure) → `apply` (writes AWS, reports progress as events).

pub mod cli;
pub mod resources;
pub mod stack;

pub fn run(_cli: &cli::Cli) -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
