//! Seed files: a YAML or JSON list of items in plain values, read with the place of every
//! item and attribute, and checked against the live table's keys before anything is
//! written, so a bad file writes nothing and its errors name `file:line`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_saphyr::Spanned;

use super::{Item, Plain, TableKeys};
use crate::stack::raw::SpannedMap;
use crate::stack::{Diagnostic, Loc, StackError};

/// Largest seed file read: items are held in memory, and `DynamoDB` items are at most
/// 400 KB each.
const MAX_FILE_BYTES: u64 = 64 << 20;

/// `DynamoDB`'s item size limit.
const MAX_ITEM_BYTES: usize = 400 * 1024;

/// One item of a seed file and where it and its attributes are written.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedItem {
    /// Where the item starts.
    pub loc: Option<Loc>,
    /// The item.
    pub item: Item,
    /// Where each attribute's value is written.
    pub places: BTreeMap<String, Option<Loc>>,
}

/// A seed file that was read and parsed (not yet checked).
#[derive(Debug)]
pub struct SeedFile {
    /// The items in file order.
    pub items: Vec<SeedItem>,
    /// The file's text, for quoting in errors.
    pub text: String,
}

/// An error about the seed file at `path`: nothing of it was written.
#[must_use]
pub fn error(path: &Path, text: Option<&str>, diagnostics: Vec<Diagnostic>) -> StackError {
    StackError {
        path: path.to_path_buf(),
        source: text.map(str::to_string),
        diagnostics,
        closing: Some("nothing was written from".into()),
    }
}

/// Reads and parses the seed file at `path` (YAML, or JSON, which YAML reads too).
pub fn load(path: &Path) -> Result<SeedFile, StackError> {
    let whole =
        |message: String, help: &str| error(path, None, vec![Diagnostic::new(message, None, help)]);
    let meta = std::fs::metadata(path).map_err(|e| {
        whole(
            format!("cannot read seed file `{}`: {e}", path.display()),
            "the path is relative to the current folder, like `stacks/data/conversation.yaml`",
        )
    })?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(whole(
            format!(
                "seed file is {} bytes, more than the 64 MiB limit",
                meta.len()
            ),
            "split it into several files and seed each",
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        whole(
            format!("cannot read seed file: {e}"),
            "save the file as UTF-8 text",
        )
    })?;
    let items = parse(path, &text)?;
    Ok(SeedFile { items, text })
}

/// Parses seed text; `path` is used in messages only.
pub fn parse(path: &Path, text: &str) -> Result<Vec<SeedItem>, StackError> {
    let fail = |d| error(path, Some(text), vec![d]);
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(fail(Diagnostic::new(
            "seed file has no items",
            None,
            "write a list of items, each a mapping like `- {pk: GRP#1, sk: '2023-01-01'}`",
        )));
    }
    // YAML 1.2 booleans only: `sk: y` or `handle: no` stay strings, as a JSON reader and
    // a student would read them; a key written twice in one item is an error.
    let options = serde_saphyr::options! {
        strict_booleans: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
    };
    let raw: Vec<Spanned<SpannedMap<Spanned<Plain>>>> =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| {
            let mut d = crate::stack::syntax_diagnostic(&e);
            d.help = Some(
                "a seed file is a list of items, each a mapping of attribute names to strings, numbers, booleans, lists, maps or null".into(),
            );
            fail(d)
        })?;
    if raw.is_empty() {
        return Err(fail(Diagnostic::new(
            "seed file has no items",
            None,
            "write a list of items, each a mapping like `- {pk: GRP#1, sk: '2023-01-01'}`",
        )));
    }
    Ok(raw
        .into_iter()
        .map(|item| {
            let loc = Loc::from_saphyr(item.referenced);
            let mut out = SeedItem {
                loc,
                item: Item::new(),
                places: BTreeMap::new(),
            };
            for (name, value) in item.value.0 {
                out.places
                    .insert(name.value.clone(), Loc::from_saphyr(value.referenced));
                out.item.insert(name.value, value.value);
            }
            out
        })
        .collect())
}

/// Every reason `DynamoDB` would refuse an item of `items` (a key attribute missing, of the
/// wrong type or empty; an index key of the wrong type; the same key twice; an item over
/// 400 KB), found before any write so that a bad file writes nothing.
#[must_use]
pub fn check(items: &[SeedItem], keys: &TableKeys) -> Vec<Diagnostic> {
    let table = &keys.table;
    let mut problems = Vec::new();
    let mut seen: BTreeMap<Vec<String>, (usize, Option<Loc>)> = BTreeMap::new();
    let key_help = format!(
        "every item needs {}, the key of `{table}`",
        keys.primary.describe()
    );
    for (n, seed) in items.iter().enumerate() {
        let number = n + 1;
        let mut complete = true;
        for attr in keys.primary.attrs() {
            let role = if attr.name == keys.primary.hash.name {
                "partition key"
            } else {
                "sort key"
            };
            match seed.item.get(&attr.name) {
                None => {
                    complete = false;
                    problems.push(Diagnostic::new(
                        format!(
                            "item {number} has no `{}`, the {role} of `{table}`",
                            attr.name
                        ),
                        seed.loc,
                        key_help.clone(),
                    ));
                }
                Some(value) if !value.fits(attr.ty) => {
                    complete = false;
                    problems.push(type_problem(
                        number,
                        &attr.name,
                        value,
                        attr.ty,
                        &format!("the {role} of `{table}`"),
                        place(seed, &attr.name),
                    ));
                }
                Some(_) => {}
            }
        }
        for (index, index_keys) in &keys.indexes {
            for attr in index_keys.attrs() {
                if let Some(value) = seed.item.get(&attr.name)
                    && !value.fits(attr.ty)
                    && !keys.primary.attrs().any(|a| a.name == attr.name)
                {
                    problems.push(type_problem(
                        number,
                        &attr.name,
                        value,
                        attr.ty,
                        &format!("a key of index `{index}`"),
                        place(seed, &attr.name),
                    ));
                }
            }
        }
        let size: usize = seed.item.iter().map(|(k, v)| k.len() + v.size()).sum();
        if size > MAX_ITEM_BYTES {
            problems.push(Diagnostic::new(
                format!("item {number} is about {size} bytes; DynamoDB items are at most 400 KB"),
                seed.loc,
                "store large values in S3 and keep their keys in the item",
            ));
        }
        if complete {
            let key: Vec<String> = keys
                .primary
                .attrs()
                .filter_map(|a| seed.item.get(&a.name).map(Plain::key_text))
                .collect();
            if let Some((first, first_loc)) = seen.get(&key) {
                let at = first_loc.map_or(String::new(), |l| format!(" (line {})", l.line));
                problems.push(Diagnostic::new(
                    format!(
                        "item {number} has the same key as item {first}{at}: {}",
                        key.join(", ")
                    ),
                    seed.loc,
                    "keys are unique in a table; change one key or remove one item",
                ));
            } else {
                seen.insert(key, (number, seed.loc));
            }
        }
    }
    problems
}

/// Where attribute `name` of `seed` is written, else where the item starts.
fn place(seed: &SeedItem, name: &str) -> Option<Loc> {
    seed.places.get(name).copied().flatten().or(seed.loc)
}

/// A key attribute whose value `DynamoDB` would refuse.
fn type_problem(
    number: usize,
    name: &str,
    value: &Plain,
    ty: super::ScalarType,
    what: &str,
    loc: Option<Loc>,
) -> Diagnostic {
    use super::ScalarType;
    let (wanted, help) = match ty {
        ScalarType::S => (
            "a non-empty string",
            "quote the value to make it a string, like `'2023'`",
        ),
        ScalarType::N => ("a number", "write the number without quotes"),
        ScalarType::B => (
            "binary",
            "binary keys cannot be written from a plain-value seed file; seed this table with the AWS CLI",
        ),
    };
    let is = match value {
        Plain::String(s) if s.is_empty() => "an empty string",
        other => other.describe(),
    };
    Diagnostic::new(
        format!(
            "item {number}: `{name}` is {is}, but it is {what}, which must be {wanted} ({})",
            ty.as_str()
        ),
        loc,
        help,
    )
}
