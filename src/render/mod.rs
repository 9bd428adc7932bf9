//! Turning plans and events into text. Renderers write to any `impl Write` (stdout for
//! data, stderr for progress) and never decide anything.

pub mod graph;
pub mod human;
pub mod outputs;
pub mod progress;
pub mod status;

use std::io::{self, IsTerminal, Write};

use anstyle::{AnsiColor, Style};

/// Whether to colour: a terminal, no `--no-color`, and no `NO_COLOR` in the environment.
#[must_use]
pub fn use_color(no_color_flag: bool, stream_is_terminal: bool) -> bool {
    !no_color_flag
        && stream_is_terminal
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Whether stdout is a terminal.
#[must_use]
pub fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

/// The styles in use; all plain when colour is off, so output reads the same either way.
#[derive(Debug, Clone, Copy, Default)]
pub struct Palette {
    /// Additions.
    pub add: Style,
    /// In-place changes.
    pub change: Style,
    /// Removals.
    pub remove: Style,
    /// Headings and emphasis.
    pub bold: Style,
    /// Comments and secondary text.
    pub dim: Style,
}

impl Palette {
    /// Whether this palette colours anything.
    #[must_use]
    pub fn is_color(&self) -> bool {
        self.bold != Style::new()
    }

    /// Colours when `color`, plain text otherwise.
    #[must_use]
    pub fn new(color: bool) -> Self {
        if !color {
            return Self::default();
        }
        Self {
            add: AnsiColor::Green.on_default(),
            change: AnsiColor::Yellow.on_default(),
            remove: AnsiColor::Red.on_default(),
            bold: Style::new().bold(),
            dim: Style::new().dimmed(),
        }
    }
}

/// Writes `text` in `style` (a no-op style writes no escape codes).
pub(crate) fn paint(w: &mut impl Write, style: Style, text: &str) -> io::Result<()> {
    if style == Style::new() {
        write!(w, "{text}")
    } else {
        write!(w, "{style}{text}{style:#}")
    }
}

/// Where the command is pointed, for the header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Stack name.
    pub stack: String,
    /// Environment name.
    pub environment: String,
    /// AWS account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Endpoint, when not AWS's own.
    pub endpoint: Option<String>,
    /// What the environment's engine leaves out (DynamoDB Local: every kind but tables,
    /// tags, PITR), one line each.
    pub notes: Vec<String>,
}

#[cfg(test)]
mod tests;
