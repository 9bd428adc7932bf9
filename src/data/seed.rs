//! Seed files: a YAML or JSON list of items in plain values, read with the place of every
//! item and attribute, and checked against the live table's keys before anything is
//! written, so a bad file writes nothing and its errors name `file:line`.
//!
//! Numbers are read from the file's text, not from the float the YAML reader makes of
//! them: `DynamoDB` keeps 38 significant digits, a float 15 to 17.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::{Item, Keys, MAX_NUMBER, MIN_NUMBER, NumberError, Plain, TableKeys};
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
    let raw: Vec<Spanned<SpannedMap<Spanned<Node>>>> =
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
    let mut reader = Reader {
        text,
        problems: Vec::new(),
    };
    let mut items = Vec::with_capacity(raw.len());
    for (n, item) in raw.into_iter().enumerate() {
        let loc = Loc::from_saphyr(item.referenced);
        let mut out = SeedItem {
            loc,
            item: Item::new(),
            places: BTreeMap::new(),
        };
        for (name, value) in item.value.0 {
            out.places
                .insert(name.value.clone(), Loc::from_saphyr(value.referenced));
            let plain = reader.plain(value, n + 1, &name.value);
            out.item.insert(name.value, plain);
        }
        items.push(out);
    }
    // Every number `DynamoDB` would refuse, in one error, before any call to AWS.
    if !reader.problems.is_empty() {
        return Err(error(path, Some(text), reader.problems));
    }
    Ok(items)
}

/// A value as the YAML reader hands it over, every node with its place, so that a number
/// the reader made a float of can be read again, exactly, from the file's text.
#[derive(Debug)]
enum Node {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number the reader parsed exactly, as its decimal digits.
    Whole(String),
    /// A number the reader parsed as a float; its digits are in the file.
    Float(f64),
    /// A string.
    String(String),
    /// A list.
    List(Vec<Spanned<Node>>),
    /// A map, in file order.
    Map(Vec<(String, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Takes whatever the file holds.
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number, boolean, list, map or null")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Whole(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Whole(v.to_string()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
                Ok(Node::Whole(v.to_string()))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
                Ok(Node::Whole(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Node, E> {
                if v.is_finite() {
                    Ok(Node::Float(v))
                } else {
                    Err(E::custom(
                        "infinity and NaN are not numbers DynamoDB can store; quote the value to keep it as a string",
                    ))
                }
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::String(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::String(v))
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Spanned<Node>>()? {
                    entries.push(entry);
                }
                Ok(Node::Map(entries))
            }
        }
        deserializer.deserialize_any(NodeVisitor)
    }
}

/// Turns parsed nodes into plain values, reading numbers from the file's text and noting
/// every number `DynamoDB` would refuse.
struct Reader<'a> {
    /// The file's text.
    text: &'a str,
    /// Numbers `DynamoDB` would refuse, with their places.
    problems: Vec<Diagnostic>,
}

impl Reader<'_> {
    /// `node`, the value at `path` (`n`, `m.x`, `tags[1]`) of item `item` (1-based), as a
    /// plain value; a refused number is noted and read as `Null` (nothing is written then).
    fn plain(&mut self, node: Spanned<Node>, item: usize, path: &str) -> Plain {
        let Spanned {
            value,
            referenced,
            defined,
        } = node;
        let (written, read) = match value {
            Node::Null => return Plain::Null,
            Node::Bool(b) => return Plain::Bool(b),
            Node::String(s) => return Plain::String(s),
            Node::List(nodes) => {
                let mut out = Vec::with_capacity(nodes.len());
                for (i, n) in nodes.into_iter().enumerate() {
                    out.push(self.plain(n, item, &format!("{path}[{i}]")));
                }
                return Plain::List(out);
            }
            Node::Map(entries) => {
                let mut out = BTreeMap::new();
                for (name, n) in entries {
                    let value = self.plain(n, item, &format!("{path}.{name}"));
                    out.insert(name, value);
                }
                return Plain::Map(out);
            }
            Node::Whole(digits) => {
                let read = super::number(&digits);
                (digits, read.map_err(Some))
            }
            Node::Float(v) => match float_text(self.text, v, defined) {
                Some(written) => {
                    let read = super::number(&written);
                    (written, read.map_err(Some))
                }
                None => (v.to_string(), Err(None)),
            },
        };
        match read {
            Ok(n) => Plain::Number(n),
            Err(why) => {
                self.problems
                    .push(number_problem(item, path, &written, why, referenced));
                Plain::Null
            }
        }
    }
}

/// The digits of a number the reader parsed as the float `value`, exactly: its text in
/// the file (when the parser gave the scalar's bytes and they read as the same float),
/// else the float's shortest decimal form when that has at most 15 significant digits,
/// which a float holds exactly; `None` when neither is sure.
fn float_text(text: &str, value: f64, defined: serde_saphyr::Location) -> Option<String> {
    if let Some(written) = scalar_text(text, defined)
        && written
            .parse::<f64>()
            .is_ok_and(|w| w.to_bits() == value.to_bits())
        && super::number(written) != Err(NumberError::NotDecimal)
    {
        return Some(written.to_string());
    }
    let shortest = value.to_string();
    (super::significant(&shortest) <= 15).then_some(shortest)
}

/// The text of the scalar at `location`, when the parser gave its bytes.
fn scalar_text(text: &str, location: serde_saphyr::Location) -> Option<&str> {
    let span = location.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    text.get(start..start.checked_add(len)?).map(str::trim)
}

/// The diagnostic for the number `written` at `path` of item `item`, which `DynamoDB` would
/// refuse for `why` (`None`: its digits could not be read exactly).
fn number_problem(
    item: usize,
    path: &str,
    written: &str,
    why: Option<NumberError>,
    at: serde_saphyr::Location,
) -> Diagnostic {
    let loc = Loc::from_saphyr(at);
    let range = format!(
        "DynamoDB numbers are 0 or between {MIN_NUMBER} and {MAX_NUMBER} in magnitude; quote the value to keep it as a string"
    );
    match why {
        Some(why @ NumberError::Digits(_)) => Diagnostic::new(
            format!("item {item}: `{path}` is {written}, which {why}"),
            loc,
            "round it to 38 significant digits, or quote it to keep every digit as a string",
        ),
        Some(why @ (NumberError::TooLarge | NumberError::TooSmall)) => Diagnostic::new(
            format!("item {item}: `{path}` is {written}, which {why}"),
            loc,
            range,
        ),
        Some(why @ NumberError::NotDecimal) => Diagnostic::new(
            format!("item {item}: `{path}` is {written}, which {why}"),
            loc,
            "write the number in decimal digits, like `12.5` or `1.25E1`, or quote it to keep it as a string",
        ),
        None => Diagnostic::new(
            format!(
                "item {item}: the digits of the number at `{path}` cannot be read exactly (about {written})"
            ),
            loc,
            "write the number in decimal digits, like `12.5` or `1.25E1`, or quote it to keep it as a string",
        ),
    }
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

/// Keys a list of a stopped seed's items shows before it only counts the rest.
const REPORT_KEYS: usize = 25;

/// Which items of a seed were written and which were not, each named by its key: what a
/// seed that stopped partway says, so that no file is left half-applied without saying so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The items written, by key, in the order given.
    pub written: Vec<String>,
    /// The items not written, by key, in the order given.
    pub unwritten: Vec<String>,
}

impl Report {
    /// The report on `items`, of which those marked in `done` were written; `keys` names
    /// each item by its key (without it, by its attributes).
    #[must_use]
    pub fn new(keys: Option<&Keys>, items: &[Item], done: &[bool]) -> Self {
        let mut report = Self::default();
        for (i, item) in items.iter().enumerate() {
            let list = if done.get(i).copied().unwrap_or(false) {
                &mut report.written
            } else {
                &mut report.unwritten
            };
            list.push(label(keys, item));
        }
        report
    }
}

impl fmt::Display for Report {
    /// Two indented lists, `written (2 of 4):` and `not written (2 of 4):`, one key a line,
    /// the first 25 of each and then how many more.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.written.len() + self.unwritten.len();
        for (n, (what, list)) in [("written", &self.written), ("not written", &self.unwritten)]
            .into_iter()
            .enumerate()
        {
            if n > 0 {
                f.write_str("\n")?;
            }
            if list.is_empty() {
                write!(f, "  {what}: none of {total}")?;
                continue;
            }
            write!(f, "  {what} ({} of {total}):", list.len())?;
            for key in list.iter().take(REPORT_KEYS) {
                write!(f, "\n    {key}")?;
            }
            if list.len() > REPORT_KEYS {
                write!(f, "\n    … and {} more", list.len() - REPORT_KEYS)?;
            }
        }
        Ok(())
    }
}

/// An item named by its key (`pk=MSG#1 sk=2023`), or, when the key is not known, by its
/// attributes as JSON, cut at 100 characters.
#[must_use]
pub fn label(keys: Option<&Keys>, item: &Item) -> String {
    if let Some(keys) = keys {
        keys.attrs()
            .map(|a| {
                let value = item
                    .get(&a.name)
                    .map_or_else(|| "(none)".to_string(), Plain::key_text);
                format!("{}={value}", a.name)
            })
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        let json = super::show::json_line(item);
        if json.chars().count() > 100 {
            json.chars().take(99).chain(['…']).collect()
        } else {
            json
        }
    }
}
