//! How `data scan` and `data query` print items: JSON Lines of plain values with `--json`
//! (one object per line, for `jq` and scripts), else a table with the key columns first.

use std::fmt::Write as _;

use super::{Item, Keys, Plain};

/// One item as a line of JSON (no newline).
#[must_use]
pub fn json_line(item: &Item) -> String {
    serde_json::Value::Object(item.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
        .to_string()
}

/// The items as a table: the key attributes first, then every other attribute any item has,
/// alphabetically; a cell is empty where an item lacks the attribute. Strings print as they
/// are, other values as JSON; `width` (on a terminal) cuts longer cells with `…`.
#[must_use]
pub fn table(items: &[Item], keys: &Keys, width: Option<usize>) -> String {
    let mut columns: Vec<String> = keys.attrs().map(|a| a.name.clone()).collect();
    let mut rest: Vec<&String> = items
        .iter()
        .flat_map(|i| i.keys())
        .filter(|k| !columns.contains(k))
        .collect();
    rest.sort();
    rest.dedup();
    columns.extend(rest.into_iter().cloned());
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|c| item.get(c).map_or_else(String::new, |v| cell(v, width)))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain(std::iter::once(c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", text.join("  ").trim_end());
    };
    line(&mut out, &columns);
    line(
        &mut out,
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
    );
    for row in &rows {
        line(&mut out, row);
    }
    out
}

/// One value as a table cell, on one line.
fn cell(value: &Plain, width: Option<usize>) -> String {
    let text = match value {
        Plain::String(s) => s.clone(),
        other => other.to_json().to_string(),
    };
    let text = text.replace('\n', "\\n").replace('\t', " ");
    match width {
        Some(w) if text.chars().count() > w => {
            let mut cut: String = text.chars().take(w.saturating_sub(1)).collect();
            cut.push('…');
            cut
        }
        _ => text,
    }
}
