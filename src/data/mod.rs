//! The data commands' pure half: plain values, the key schemas items are checked against,
//! seed files, query conditions and how items are shown.
//!
//! `data seed`, `data scan` and `data query` replace the bootcamp's `bin/ddb` scripts. The
//! checks that keep a bad file from writing anything live here, away from the SDK, so they
//! are tested without AWS; `aws.rs` is the I/O half (a test keeps this split).

pub mod aws;
pub mod query;
pub mod records;
pub mod seed;
pub mod show;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

pub use crate::resources::dynamodb_table::ScalarType;

/// A value as a seed file writes it and as `--json` prints it: what JSON can say, which is
/// what a `DynamoDB` item holds apart from binary values and sets.
#[derive(Debug, Clone, PartialEq)]
pub enum Plain {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as its decimal text: `DynamoDB` numbers have 38 digits, more than a
    /// float keeps. A seed file's numbers are in `DynamoDB`'s form ([`number`]).
    Number(String),
    /// A string.
    String(String),
    /// A list.
    List(Vec<Plain>),
    /// A map, keys sorted.
    Map(BTreeMap<String, Plain>),
}

impl Plain {
    /// What the value is, for messages: `a string`, `a number`, ….
    #[must_use]
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::String(_) => "a string",
            Self::List(_) => "a list",
            Self::Map(_) => "a map",
        }
    }

    /// Whether the value can be a key of type `ty` (non-empty strings for `S`, numbers for
    /// `N`; binary keys cannot be written as plain values).
    #[must_use]
    pub fn fits(&self, ty: ScalarType) -> bool {
        match (self, ty) {
            (Self::String(s), ScalarType::S) => !s.is_empty(),
            (Self::Number(_), ScalarType::N) => true,
            _ => false,
        }
    }

    /// The key text used to spot two items with the same key: a number in `DynamoDB`'s
    /// form, so that `1`, `1.0` and `1e0` are one key, as they are in the table.
    #[must_use]
    pub fn key_text(&self) -> String {
        match self {
            Self::String(s) => s.clone(),
            Self::Number(n) => number(n).unwrap_or_else(|_| n.clone()),
            other => format!("{other:?}"),
        }
    }

    /// The value as JSON; numbers that JSON cannot hold exactly (more digits than a 64-bit
    /// integer or float keeps) are printed as their exact decimal text in a string.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Number(n) => number_json(n),
            Self::String(s) => Value::String(s.clone()),
            Self::List(items) => Value::Array(items.iter().map(Self::to_json).collect()),
            Self::Map(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    /// An estimate of the value's size as `DynamoDB` counts it (UTF-8 bytes of strings,
    /// about one byte per two digits of numbers, 3 bytes of overhead per list or map).
    #[must_use]
    pub fn size(&self) -> usize {
        match self {
            Self::Null | Self::Bool(_) => 1,
            Self::Number(n) => n.len().div_ceil(2) + 1,
            Self::String(s) => s.len(),
            Self::List(items) => 3 + items.iter().map(|v| 1 + v.size()).sum::<usize>(),
            Self::Map(map) => {
                3 + map
                    .iter()
                    .map(|(k, v)| 1 + k.len() + v.size())
                    .sum::<usize>()
            }
        }
    }
}

/// `text` as a JSON number when it round-trips exactly, else as a string.
fn number_json(text: &str) -> serde_json::Value {
    if let Ok(i) = text.parse::<i64>() {
        return i.into();
    }
    if let Ok(u) = text.parse::<u64>() {
        return u.into();
    }
    // Up to 15 significant digits, a float holds a decimal exactly enough to print it back.
    if significant(text) <= 15
        && let Ok(f) = text.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return serde_json::Value::Number(n);
    }
    serde_json::Value::String(text.to_string())
}

/// How many significant digits a decimal text has.
fn significant(text: &str) -> usize {
    let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    digits.trim_start_matches('0').trim_end_matches('0').len()
}

/// `DynamoDB`'s largest number, as its documentation writes it.
pub const MAX_NUMBER: &str = "9.9999999999999999999999999999999999999E+125";

/// `DynamoDB`'s smallest number above zero.
pub const MIN_NUMBER: &str = "1E-130";

/// Significant digits a `DynamoDB` number keeps.
pub const NUMBER_DIGITS: usize = 38;

/// Why `DynamoDB` would refuse a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// Not decimal digits with an optional sign, point and exponent.
    NotDecimal,
    /// More significant digits than `DynamoDB` keeps (how many it has).
    Digits(usize),
    /// Larger in magnitude than [`MAX_NUMBER`].
    TooLarge,
    /// Smaller in magnitude than [`MIN_NUMBER`], and not zero.
    TooSmall,
}

impl fmt::Display for NumberError {
    /// What is wrong, to follow "`x` is 1E126, which …".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotDecimal => f.write_str("is not a decimal number"),
            Self::Digits(n) => write!(
                f,
                "has {n} significant digits; DynamoDB numbers keep at most {NUMBER_DIGITS}"
            ),
            Self::TooLarge => write!(
                f,
                "is larger in magnitude than DynamoDB's largest number, {MAX_NUMBER}"
            ),
            Self::TooSmall => write!(
                f,
                "is smaller in magnitude than DynamoDB's smallest number, {MIN_NUMBER} (other than 0)"
            ),
        }
    }
}

/// `text`, a decimal number (`-12.50`, `1e3`, `+.5`, `007`), in the form `DynamoDB` stores
/// and returns it: no exponent, no leading zeros, no trailing zeros after the point, no sign
/// on zero (`1.5E2` is `150`, `-0` is `0`); or why `DynamoDB` would refuse it (more than 38
/// significant digits, a magnitude outside 1E-130 to 9.99…E+125). Every text of one number
/// gives the same form, so keys compare as the table compares them. Nothing is rounded.
pub fn number(text: &str) -> Result<String, NumberError> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, exponent_of(e).ok_or(NumberError::NotDecimal)?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return Err(NumberError::NotDecimal);
    }
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok("0".into());
    }
    let significant = digits.trim_end_matches('0');
    // The number is `significant × 10^scale`, a whole number of significant digits.
    let scale = exponent - to_i64(fraction.len()) + to_i64(digits.len() - significant.len());
    let count = significant.len();
    if count > NUMBER_DIGITS {
        return Err(NumberError::Digits(count));
    }
    // The exponent in scientific notation (`d.ddd × 10^magnitude`).
    let magnitude = scale + to_i64(count) - 1;
    if magnitude > 125 {
        return Err(NumberError::TooLarge);
    }
    if magnitude < -130 {
        return Err(NumberError::TooSmall);
    }
    let mut out = String::with_capacity(count + 132);
    if negative {
        out.push('-');
    }
    // `scale` is within -168..=125 here, so the conversions below are exact.
    let point = to_i64(count) + scale;
    if scale >= 0 {
        out.push_str(significant);
        out.extend(std::iter::repeat_n(
            '0',
            usize::try_from(scale).unwrap_or(0),
        ));
    } else if point > 0 {
        let (int, frac) = significant.split_at(usize::try_from(point).unwrap_or(0));
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n(
            '0',
            usize::try_from(-point).unwrap_or(0),
        ));
        out.push_str(significant);
    }
    Ok(out)
}

/// The exponent after `e` (`+5`, `-130`, `007`), capped far beyond any number `DynamoDB`
/// keeps so that `1e99999999999999999999` is out of range rather than unreadable.
fn exponent_of(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = digits.bytes().fold(0_i64, |acc, b| {
        (acc * 10 + i64::from(b - b'0')).min(1_000_000_000_000)
    });
    Some(if negative { -value } else { value })
}

/// A length as `i64` (lengths of text in memory always fit).
fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An item: attribute names and values.
pub type Item = BTreeMap<String, Plain>;

/// One key attribute and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttr {
    /// Attribute name.
    pub name: String,
    /// Its declared type.
    pub ty: ScalarType,
}

/// A primary key: partition key and optional sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// Partition (HASH) key.
    pub hash: KeyAttr,
    /// Sort (RANGE) key.
    pub range: Option<KeyAttr>,
}

impl Keys {
    /// The key attributes, partition key first.
    pub fn attrs(&self) -> impl Iterator<Item = &KeyAttr> {
        std::iter::once(&self.hash).chain(self.range.as_ref())
    }

    /// `pk (S), sk (S)`, for messages.
    #[must_use]
    pub fn describe(&self) -> String {
        self.attrs()
            .map(|a| format!("`{}` ({})", a.name, a.ty.as_str()))
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

/// A live table's keys and its indexes' keys, as `DescribeTable` reports them: what
/// `DynamoDB` checks every written item against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableKeys {
    /// The table's name in AWS.
    pub table: String,
    /// The primary key.
    pub primary: Keys,
    /// Every secondary index (global and local) by name, with its key.
    pub indexes: Vec<(String, Keys)>,
}

impl TableKeys {
    /// The key of `index`, or of the table itself.
    #[must_use]
    pub fn of(&self, index: Option<&str>) -> Option<&Keys> {
        match index {
            None => Some(&self.primary),
            Some(name) => self.indexes.iter().find(|(n, _)| n == name).map(|(_, k)| k),
        }
    }

    /// The item's primary key.
    #[must_use]
    pub fn key_of(&self, item: &Item) -> Item {
        self.primary
            .attrs()
            .filter_map(|a| item.get(&a.name).map(|v| (a.name.clone(), v.clone())))
            .collect()
    }
}

/// A command line the data commands cannot run: what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}\n  help: {help}")]
pub struct Usage {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}
