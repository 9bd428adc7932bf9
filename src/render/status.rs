//! `status`: every declared resource with its AWS name, its live state and whether it
//! matches the file, as a table for people or one JSON document.

use std::fmt::Write as _;

/// Whether a resource matches the stack file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sync {
    /// It exists and nothing differs.
    Matches,
    /// It does not exist: `apply` creates it.
    Missing,
    /// It exists and these fields differ: `apply` changes them (or replaces it).
    Differs(Vec<String>),
    /// The environment turns it off; `exists` when the stack still owns one (`apply`
    /// deletes it).
    Disabled {
        /// Whether one exists.
        exists: bool,
    },
    /// Not compared: the plan refuses to go on (the errors follow the list).
    Unknown,
}

/// One line of `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Like `table.messages`.
    pub address: String,
    /// Its name in AWS.
    pub name: String,
    /// The state AWS reports, or `missing`.
    pub state: String,
    /// Against the file.
    pub sync: Sync,
    /// Other facts: item count, stream, endpoint, ….
    pub facts: Vec<(&'static str, String)>,
}

impl Sync {
    /// In words.
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            Self::Matches => "matches the file".into(),
            Self::Missing => "missing (apply creates it)".into(),
            Self::Differs(fields) => format!("differs from the file: {}", fields.join(", ")),
            Self::Disabled { exists: true } => {
                "disabled here, but exists (apply deletes it)".into()
            }
            Self::Disabled { exists: false } => "disabled here".into(),
            Self::Unknown => "not compared (see the errors below)".into(),
        }
    }

    /// For `--json`: `matches`, `missing`, `differs`, `disabled`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Matches => "matches",
            Self::Missing => "missing",
            Self::Differs(_) => "differs",
            Self::Disabled { .. } => "disabled",
            Self::Unknown => "unknown",
        }
    }
}

/// The rows as a table: address, name, state, sync; then each resource's facts below it.
#[must_use]
pub fn text(rows: &[Row]) -> String {
    let width = |f: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|r| f(r).chars().count())
            .chain([title.chars().count()])
            .max()
            .unwrap_or(0)
    };
    let (a, n, s) = (
        width(|r| &r.address, "RESOURCE"),
        width(|r| &r.name, "NAME"),
        width(|r| &r.state, "STATE"),
    );
    let mut out = format!(
        "{:<a$}  {:<n$}  {:<s$}  FILE\n",
        "RESOURCE", "NAME", "STATE"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<a$}  {:<n$}  {:<s$}  {}",
            r.address,
            r.name,
            r.state,
            r.sync.text()
        );
        for (k, v) in &r.facts {
            let _ = writeln!(out, "{:<a$}    {}: {v}", "", k.replace('_', " "));
        }
    }
    out
}

/// The rows as one JSON document: `{"stack", "environment", "resources": [...]}`.
#[must_use]
pub fn json(stack: &str, environment: &str, rows: &[Row]) -> String {
    let resources: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut o = serde_json::Map::new();
            o.insert("address".into(), r.address.clone().into());
            o.insert("name".into(), r.name.clone().into());
            o.insert("state".into(), r.state.clone().into());
            o.insert("sync".into(), r.sync.code().into());
            if let Sync::Differs(fields) = &r.sync {
                o.insert("differs".into(), fields.clone().into());
            }
            for (k, v) in &r.facts {
                // Counts are numbers in JSON.
                let value = v
                    .parse::<i64>()
                    .map_or_else(|_| v.clone().into(), serde_json::Value::from);
                o.insert((*k).into(), value);
            }
            serde_json::Value::Object(o)
        })
        .collect();
    serde_json::json!({
        "stack": stack,
        "environment": environment,
        "resources": resources,
    })
    .to_string()
}
