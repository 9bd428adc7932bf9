//! `graph [ENV] [--format mermaid|dot]`: the stack's resources and the order `apply` makes
//! them in, for a README or a review. Offline like `validate`: it loads the stack and
//! selects the environment (what its engine does not serve leaves the graph, what it turns
//! off is drawn dashed) and never builds an AWS client.

use std::io::{self, Write};

use super::{CommandError, load};
use crate::cli::{GlobalArgs, GraphArgs, GraphFormat};
use crate::render::graph::{self, Graph};

/// Runs `graph`: the graph on stdout, the environment's notes (what it leaves out or turns
/// off) on stderr.
pub fn run(global: &GlobalArgs, args: &GraphArgs) -> Result<(), CommandError> {
    let (stack, _, notes) = load(global, &args.env)?;
    let g = Graph::of(&stack, &args.env);
    let text = match args.format {
        GraphFormat::Mermaid => graph::mermaid(&g),
        GraphFormat::Dot => graph::dot(&g),
    };
    {
        // Best effort, like all diagnostics: the graph on stdout is what matters.
        let mut err = io::stderr().lock();
        for note in &notes {
            let _ = writeln!(err, "note: {note}");
        }
    }
    io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::cli::{Cli, Command, GraphFormat};

    #[test]
    fn mermaid_is_the_default_and_dot_is_asked_for() {
        let format = |line: &[&str]| match Cli::try_parse_from(line).expect("parses").command {
            Command::Graph(a) => (a.env, a.format),
            other => panic!("not graph: {other:?}"),
        };
        assert_eq!(
            format(&["cruddur-infra", "graph"]),
            ("local".to_string(), GraphFormat::Mermaid)
        );
        assert_eq!(
            format(&["cruddur-infra", "graph", "prod", "--format", "dot"]),
            ("prod".to_string(), GraphFormat::Dot)
        );
        assert!(Cli::try_parse_from(["cruddur-infra", "graph", "--format", "svg"]).is_err());
    }
}
