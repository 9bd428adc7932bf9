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

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

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
    /// float keeps.
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

    /// The key text used to spot two items with the same key.
    #[must_use]
    pub fn key_text(&self) -> String {
        match self {
            Self::String(s) | Self::Number(s) => s.clone(),
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

impl<'de> Deserialize<'de> for Plain {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Takes whatever the file holds.
        struct PlainVisitor;
        impl<'de> Visitor<'de> for PlainVisitor {
            type Value = Plain;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number, boolean, list, map or null")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Plain, E> {
                Ok(Plain::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Plain, E> {
                Ok(Plain::Number(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Plain, E> {
                Ok(Plain::Number(v.to_string()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Plain, E> {
                Ok(Plain::Number(v.to_string()))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Plain, E> {
                Ok(Plain::Number(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Plain, E> {
                // Whole numbers past 2^53 arrive here rounded: storing them would write a
                // number the file does not say.
                if v.is_finite() && v.fract() == 0.0 && v.abs() >= 9_007_199_254_740_992.0 {
                    Err(E::custom(
                        "this whole number has more digits than can be read exactly (at most 2^53 past the 64-bit integers); write it with fewer digits, or quote it to store it as a string",
                    ))
                } else if v.is_finite() {
                    Ok(Plain::Number(v.to_string()))
                } else {
                    Err(E::custom(
                        "infinity and NaN are not numbers DynamoDB can store; quote the value to keep it as a string",
                    ))
                }
            }
            fn visit_str<E>(self, v: &str) -> Result<Plain, E> {
                Ok(Plain::String(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Plain, E> {
                Ok(Plain::String(v))
            }
            fn visit_unit<E>(self) -> Result<Plain, E> {
                Ok(Plain::Null)
            }
            fn visit_none<E>(self) -> Result<Plain, E> {
                Ok(Plain::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Plain, D::Error> {
                Plain::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Plain, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Plain::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Plain, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, Plain>()? {
                    out.insert(k, v);
                }
                Ok(Plain::Map(out))
            }
        }
        deserializer.deserialize_any(PlainVisitor)
    }
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
