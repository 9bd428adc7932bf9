//! Diagnostics for stack files: what is wrong, where (`file:line:col`), and how to fix it.
//!
//! Every problem found while loading a stack becomes a [`Diagnostic`]; they are collected,
//! not returned one at a time, so a user fixes a file in one pass. Rendering uses
//! `annotate-snippets`, the renderer behind rustc's messages.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

/// A position in the stack file, 1-based, with the byte range of the offending text when
/// the parser knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    /// 1-based line.
    pub line: u64,
    /// 1-based column (characters).
    pub column: u64,
    /// Byte offset and length of the value, when known.
    pub bytes: Option<(usize, usize)>,
}

impl Loc {
    /// Converts a serde-saphyr location, which is `UNKNOWN` (line 0) when the parser could
    /// not attach one.
    pub(crate) fn from_saphyr(location: serde_saphyr::Location) -> Option<Self> {
        if location.line() == 0 {
            return None;
        }
        let span = location.span();
        let bytes = span
            .byte_offset()
            .map(|offset| (offset as usize, span.byte_len().unwrap_or(0) as usize));
        Some(Self {
            line: location.line(),
            column: location.column(),
            bytes,
        })
    }
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Something that could not be checked, said so that silence is never read as a pass.
    Note,
    /// Legal but probably wrong (a function that will write no logs); `--strict` makes it
    /// an error.
    Warning,
    /// The stack cannot be used as it is: nothing is changed.
    Error,
}

/// One problem in a stack file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error, warning or note.
    pub severity: Severity,
    /// What is wrong, lowercase, values in backticks.
    pub message: String,
    /// Where, when the problem has a place in the file.
    pub loc: Option<Loc>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A problem at `loc` with a fix.
    pub fn new(message: impl Into<String>, loc: Option<Loc>, help: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            loc,
            help: Some(help.into()),
        }
    }

    /// A warning at `loc` with a fix.
    pub fn warning(message: impl Into<String>, loc: Option<Loc>, help: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::new(message, loc, help)
        }
    }

    /// A note at `loc`, with what to do about it.
    pub fn note(message: impl Into<String>, loc: Option<Loc>, help: impl Into<String>) -> Self {
        Self {
            severity: Severity::Note,
            ..Self::new(message, loc, help)
        }
    }

    /// The same diagnostic as an error (`--strict` turns warnings into errors).
    #[must_use]
    pub fn as_error(mut self) -> Self {
        self.severity = Severity::Error;
        self
    }
}

/// Renders diagnostics as rustc does, each at its place in `source` (the file at `path`):
/// `warning: …`, `--> file:line:col`, the quoted line with a caret, `= help: …`. Plain text
/// unless `color`.
#[must_use]
pub fn render_diagnostics(
    path: &str,
    source: Option<&str>,
    diagnostics: &[Diagnostic],
    color: bool,
) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for diagnostic in diagnostics {
        let (level, word) = match diagnostic.severity {
            Severity::Error => (Level::ERROR, "error"),
            Severity::Warning => (Level::WARNING, "warning"),
            Severity::Note => (Level::NOTE, "note"),
        };
        if let (Some(loc), Some(source)) = (diagnostic.loc, source) {
            let range = annotation_range(source, loc);
            let snippet = Snippet::source(source)
                .path(path)
                .annotation(AnnotationKind::Primary.span(range));
            let mut group = level
                .primary_title(diagnostic.message.as_str())
                .element(snippet);
            if let Some(help) = &diagnostic.help {
                group = group.element(Level::HELP.message(help.as_str()));
            }
            out.push_str(&renderer.render(&[group]));
            out.push_str("\n\n");
        } else {
            // No place in the file: name the file the way located diagnostics do.
            let _ = writeln!(out, "{word}: {}\n --> {path}", diagnostic.message);
            if let Some(help) = &diagnostic.help {
                let _ = writeln!(out, "  = help: {help}");
            }
            out.push('\n');
        }
    }
    out
}

/// A stack file that could not be loaded: every diagnostic, with the source to quote.
#[derive(Debug)]
pub struct StackError {
    /// The stack file as the user named it.
    pub path: PathBuf,
    /// The file's text, when it could be read (for quoting lines).
    pub source: Option<String>,
    /// Every problem found, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// The last line's verdict when it is not `could not load`, like `nothing was
    /// written` for a seed file.
    pub closing: Option<String>,
}

impl StackError {
    /// A failure that is about the file as a whole (missing, unreadable, not UTF-8).
    pub(crate) fn whole_file(path: &Path, message: String, help: &str) -> Self {
        Self {
            path: path.to_path_buf(),
            source: None,
            diagnostics: vec![Diagnostic::new(message, None, help)],
            closing: None,
        }
    }

    /// Renders every diagnostic as rustc does: `error: …`, `--> file:line:col`, the quoted
    /// line with a caret, and `= help: …`. Without colour unless `color` is set.
    #[must_use]
    pub fn render(&self, color: bool) -> String {
        let path = self.path.display().to_string();
        let mut out = render_diagnostics(&path, self.source.as_deref(), &self.diagnostics, color);
        let count = self
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
            .max(1);
        let plural = if count == 1 { "" } else { "s" };
        let verdict = self.closing.as_deref().unwrap_or("could not load");
        let _ = writeln!(
            out,
            "error: {verdict} `{path}` due to {count} previous error{plural}"
        );
        out
    }
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for StackError {}

/// The byte range to underline: the value's own span when the parser gave one, else the
/// rest of the line from the column.
fn annotation_range(source: &str, loc: Loc) -> std::ops::Range<usize> {
    // The parser's offsets can fall inside a multi-byte character of a damaged file:
    // snap them to character boundaries so slicing never panics.
    let floor = |mut i: usize| {
        i = i.min(source.len());
        while !source.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    if let Some((offset, len)) = loc.bytes
        && offset <= source.len()
    {
        let offset = floor(offset);
        let end = floor(offset + len.max(1));
        let end = if end <= offset {
            floor(offset + 4).max(offset)
        } else {
            end
        };
        // A scalar's span can run over the newline for block scalars; keep to one line.
        let line_end = source[offset..end].find('\n').map_or(end, |i| offset + i);
        return offset..line_end.max(offset);
    }
    let line_start: usize = source
        .split_inclusive('\n')
        .take(usize::try_from(loc.line.saturating_sub(1)).unwrap_or(0))
        .map(str::len)
        .sum();
    let line = source[line_start.min(source.len())..]
        .lines()
        .next()
        .unwrap_or("");
    let col_byte = line
        .char_indices()
        .nth(usize::try_from(loc.column.saturating_sub(1)).unwrap_or(0))
        .map_or(line.len(), |(i, _)| i);
    let start = line_start + col_byte;
    let end = (line_start + line.len()).max(start);
    start..end
}
