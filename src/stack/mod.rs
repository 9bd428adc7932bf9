//! The stack file: reading YAML into raw serde types, validating them into a [`Stack`],
//! and reporting every problem with `file:line:col` and a fix.
//!
//! This layer reads one file and nothing else; it never talks to AWS.

pub mod error;
pub mod raw;
pub mod validate;

use std::path::Path;

pub use error::{Diagnostic, Loc, Severity, StackError, render_diagnostics};

use crate::resources::Address;

/// Largest stack file accepted; a hand-written stack is a few kilobytes.
const MAX_FILE_BYTES: u64 = 1 << 20;

pub use crate::resources::Stack;

/// Where one environment's resources live. Unset fields fall back to the AWS SDK's
/// standard configuration chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// AWS region.
    pub region: Option<String>,
    /// Endpoint override.
    pub endpoint_url: Option<String>,
    /// Named profile.
    pub profile: Option<String>,
    /// What answers there: AWS (or moto), or DynamoDB Local (tables only).
    pub engine: crate::engine::Engine,
    /// Resources turned on here, with where each is named.
    pub enable: Vec<(Address, Option<Loc>)>,
    /// Resources turned off here (absent: deleted if the stack owns them).
    pub disable: Vec<(Address, Option<Loc>)>,
}

/// A declared resource: its address, its validated spec, and where it is declared.
#[derive(Debug, Clone)]
pub struct Declared<S> {
    /// `kind.logical_name`.
    pub address: Address,
    /// The validated spec.
    pub spec: S,
    /// The logical name's place in the file.
    pub loc: Option<Loc>,
    /// Whether it exists in the environment in force: its own `enabled:` (default on),
    /// then the environment's `enable:`/`disable:` (`Stack::select`). A disabled resource
    /// is planned as absent: never created, deleted if the stack owns it.
    pub enabled: bool,
}

/// One entry's reference to another (a `${…}` or a logical name such as a function's
/// `role:`), kept so that each environment can refuse references to what it disables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// The entry that refers.
    pub from: Address,
    /// The entry referred to.
    pub to: Address,
    /// Where the reference is written.
    pub loc: Option<Loc>,
}

impl Stack {
    /// The environment named `name`, or an error that lists the declared ones.
    pub fn environment(&self, name: &str) -> Result<&Environment, StackError> {
        self.environments.get(name).ok_or_else(|| {
            let known: Vec<String> = self.environments.keys().map(|k| format!("`{k}`")).collect();
            StackError {
                path: self.path.clone(),
                source: std::fs::read_to_string(&self.path).ok(),
                diagnostics: vec![Diagnostic::new(
                    format!("environment `{name}` is not declared in this stack"),
                    self.environments_loc,
                    format!("declared environments: {}; add `{name}:` under `environments` or pick one of them", known.join(", ")),
                )],
                closing: None,
            }
        })
    }
}

impl Stack {
    /// Fits the stack to the environment `name`: each resource's `enabled:`, overridden by
    /// the environment's `enable:` and `disable:`. A resource enabled here that refers to
    /// one disabled here is an error naming the reference and both ways to fix it. Answers
    /// the environment and, when any resource is disabled, the header's note naming them.
    pub fn select(&mut self, name: &str) -> Result<(Environment, Option<String>), StackError> {
        let env = self.environment(name)?.clone();
        for (address, _) in &env.enable {
            crate::resources::set_enabled(self, address, true);
        }
        for (address, _) in &env.disable {
            crate::resources::set_enabled(self, address, false);
        }
        let declared = crate::resources::declared_resources(self);
        let enabled = |a: &Address| declared.iter().any(|(d, on, _)| d == a && *on);
        let diagnostics: Vec<Diagnostic> = self
            .uses
            .iter()
            .filter(|u| enabled(&u.from) && !enabled(&u.to))
            .map(|u| {
                Diagnostic::new(
                    format!(
                        "`{}` refers to `{}`, which is disabled in environment `{name}`",
                        u.from, u.to
                    ),
                    u.loc,
                    format!(
                        "add `{}` to `enable:` of environment `{name}`, or disable `{}` there too",
                        u.to, u.from
                    ),
                )
            })
            .collect();
        if !diagnostics.is_empty() {
            return Err(StackError {
                path: self.path.clone(),
                source: std::fs::read_to_string(&self.path).ok(),
                diagnostics,
                closing: None,
            });
        }
        let off: Vec<String> = declared
            .iter()
            .filter(|(_, on, _)| !on)
            .map(|(a, _, _)| a.to_string())
            .collect();
        let note = (!off.is_empty()).then(|| {
            format!(
                "disabled in environment `{name}`: {} (never created here; deleted if the stack owns one)",
                off.join(", ")
            )
        });
        Ok((env, note))
    }
}

/// Reads and validates the stack file at `path`.
pub fn load(path: &Path) -> Result<Stack, StackError> {
    let meta = std::fs::metadata(path).map_err(|e| {
        StackError::whole_file(
            path,
            format!("cannot read stack file `{}`: {e}", path.display()),
            "run from the project folder, or pass `--stack PATH`",
        )
    })?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(StackError::whole_file(
            path,
            format!(
                "stack file is {} bytes, more than the 1 MiB limit",
                meta.len()
            ),
            "a stack file is hand-written YAML; check that `--stack` names the right file",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        StackError::whole_file(
            path,
            format!("cannot read stack file: {e}"),
            "check the file's permissions",
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        StackError::whole_file(
            path,
            format!(
                "stack file is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
            "save the file as UTF-8",
        )
    })?;
    parse(path, &text)
}

/// Parses and validates stack text; `path` is used in messages only.
pub fn parse(path: &Path, text: &str) -> Result<Stack, StackError> {
    let fail = |diagnostics| StackError {
        path: path.to_path_buf(),
        source: Some(text.to_string()),
        diagnostics,
        closing: None,
    };
    // Blank lines and comments alone are an empty stack, not a syntax error.
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(fail(vec![Diagnostic::new(
            "stack file is empty",
            None,
            "start with `name: cruddur`, `environments:` and `tables:` (see the README)",
        )]));
    }
    let raw: raw::RawStack =
        serde_saphyr::from_str(text).map_err(|e| fail(vec![syntax_diagnostic(&e)]))?;
    let mut v = validate::Validator::new();
    let (environments, environments_loc) = validate::stack_level(&mut v, &raw);
    let base = path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    // Each kind validates its own entries through the registry.
    let stack = crate::resources::validate_every_kind(&mut v, &raw, &base, path);
    validate::switches_declared(&mut v, &environments, &stack);
    v.finish(Stack {
        environments,
        environments_loc,
        source_sha256: crate::plan::document::sha256_hex(text.as_bytes()),
        ..stack
    })
    .map_err(fail)
}

/// Turns a parse or shape error into a diagnostic with a fix.
pub(crate) fn syntax_diagnostic(e: &serde_saphyr::Error) -> Diagnostic {
    let loc = e.location().and_then(Loc::from_saphyr);
    let message = e.without_snippet().to_string();
    let message = message
        .lines()
        .next()
        .unwrap_or("invalid YAML")
        .trim()
        .to_string();
    let message = plain_words(&strip_location_suffix(&message));
    let help = if let Some(field) = between(&message, "unknown field `", "`") {
        let expected = message.split("expected one of ").nth(1).unwrap_or("");
        let options: Vec<&str> = expected
            .split(", ")
            .map(|o| o.trim_matches('`').trim())
            .filter(|o| !o.is_empty())
            .collect();
        match options.iter().min_by_key(|o| strsim::levenshtein(o, field)) {
            Some(best) if strsim::levenshtein(best, field) <= 3 => {
                format!("did you mean `{best}`?")
            }
            _ if !options.is_empty() => format!(
                "valid keys here: {}",
                options
                    .iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => "remove this key".to_string(),
        }
    } else if message.contains("missing field") {
        "add the missing key (see the stack-file reference in the README)".to_string()
    } else if message.contains("appears twice") || message.contains("duplicate") {
        "each key may appear once in a mapping: remove or rename one".to_string()
    } else if message == "expected a whole number" {
        "write a number without quotes or decimals, like `5`".to_string()
    } else if message == "expected `true` or `false`" {
        "write `true` or `false`".to_string()
    } else if message.contains("invalid type") {
        "check the value's type against the stack-file reference in the README".to_string()
    } else if message.contains("budget") || message.contains("alias") || message.contains("depth") {
        "the document is too large or nested too deeply for a stack file: write it out plainly"
            .to_string()
    } else {
        "fix the YAML syntax here".to_string()
    };
    Diagnostic::new(message, loc, help)
}

/// Rewords the parser's messages that name Rust types or library options.
fn plain_words(message: &str) -> String {
    if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
        let key = key.split(',').next().unwrap_or(key);
        return format!("`{key}` appears twice in this mapping");
    }
    match message {
        "invalid i64" | "invalid i32" | "invalid u64" | "invalid u32" => {
            "expected a whole number".into()
        }
        "invalid boolean" => "expected `true` or `false`".into(),
        other => other.to_string(),
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

/// serde-saphyr appends ` at line L column C`; the diagnostic shows the place itself.
fn strip_location_suffix(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].trim_end_matches(',').to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests;
