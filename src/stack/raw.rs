//! The stack file exactly as written: serde types that mirror the YAML, with the source
//! location of every value the validator may need to point at.
//!
//! Nothing here is trusted. Unknown keys are rejected (`deny_unknown_fields`); enum-like
//! values stay strings so that `validate` can say which spellings are allowed.
//!
//! The same types give the file's JSON Schema (`cruddur-infra schema`), so editors complete
//! and check exactly what serde reads: each enum-like field carries a `pattern` built from
//! the list its validator uses, by [`words_pattern`]. Nothing here decides what is valid
//! beyond the file's shape; `validate` still does.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

/// A YAML mapping that keeps file order and the location of every key.
#[derive(Debug)]
pub struct SpannedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for SpannedMap<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for SpannedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Visits a mapping entry by entry, in file order.
        struct MapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = SpannedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(SpannedMap(entries))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                // `tags:` with nothing after it is an empty mapping, not an error.
                Ok(SpannedMap(Vec::new()))
            }
        }
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

/// A spanned value seen through to what it holds, for schemas: a [`SpannedMap`]'s values
/// are `Spanned`, a foreign type that cannot implement `JsonSchema` itself.
pub trait Unspanned {
    /// The value without its place in the file.
    type Plain: JsonSchema;
}

impl<T: JsonSchema> Unspanned for Spanned<T> {
    type Plain = T;
}

impl<V: Unspanned> JsonSchema for SpannedMap<V> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::Plain::schema_name()).into()
    }

    fn schema_id() -> Cow<'static, str> {
        format!("SpannedMap<{}>", V::Plain::schema_id()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            // `tags:` with nothing after it is an empty mapping to the tool (`visit_unit`).
            "type": ["object", "null"],
            "additionalProperties": generator.subschema_for::<V::Plain>(),
        })
    }
}

/// How a validator compares an enum-like value with the spellings it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Exactly as listed (`S`, `python3.12`, `dynamodb-local`).
    Exact,
    /// In any case (`PROVISIONED`, `provisioned`): the validator uppercases before comparing.
    Any,
}

/// The JSON Schema `pattern` that matches exactly the spellings in `words`, compared as
/// `case` says, like `^([Aa][Ll][Ll]|[Kk][Ee][Yy][Ss]_[Oo][Nn][Ll][Yy])$`.
///
/// Editors run patterns as ECMA-262 (the YAML language server is JavaScript), which has no
/// inline `(?i)` flag: a letter of any case is a class of its two cases instead.
#[must_use]
pub fn words_pattern(words: &[&str], case: Case) -> String {
    format!("^({})$", alternatives(words, case))
}

/// The pattern of one of `words` exactly, or of anything that starts with `prefix` (`vpc:
/// default` or `vpc: vpc-…`).
#[must_use]
pub fn word_or_prefix_pattern(words: &[&str], prefix: &str) -> String {
    format!(
        "^({}$|{})",
        alternatives(words, Case::Exact),
        literal(prefix, Case::Exact)
    )
}

/// The pattern of anything that starts with `prefix` (an id like `subnet-…`).
#[must_use]
pub fn prefix_pattern(prefix: &str) -> String {
    format!("^{}", literal(prefix, Case::Exact))
}

fn alternatives(words: &[&str], case: Case) -> String {
    words
        .iter()
        .map(|w| literal(w, case))
        .collect::<Vec<_>>()
        .join("|")
}

/// `word` as pattern text: letters as `[Xx]` classes when any case goes, ECMA-262's syntax
/// characters escaped (runtimes have dots).
fn literal(word: &str, case: Case) -> String {
    let mut out = String::new();
    for c in word.chars() {
        if case == Case::Any && c.is_ascii_alphabetic() {
            out.push('[');
            out.push(c.to_ascii_uppercase());
            out.push(c.to_ascii_lowercase());
            out.push(']');
        } else {
            if "^$\\.*+?()[]{}|".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// What a [`OneOrMany`] field accepts, for its schema: single words, compared exactly, or a
/// non-empty list of ids that each start with one prefix.
pub trait Choices {
    /// The single words (`default`; `main` and `all`).
    const WORDS: &'static [&'static str];
    /// How every id of a list starts (`subnet-`).
    const PREFIX: &'static str;
}

/// Schema only, never read: the schema of a [`OneOrMany`] field whose words and ids are
/// `C`'s.
pub struct OneOrManyOf<C>(PhantomData<C>);

impl<C: Choices> JsonSchema for OneOrManyOf<C> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "OneOrMany".into()
    }

    fn schema_id() -> Cow<'static, str> {
        format!("OneOrManyOf<{}>", std::any::type_name::<C>()).into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "string", "pattern": words_pattern(C::WORDS, Case::Exact) },
                {
                    "type": "array",
                    "minItems": 1,
                    "items": { "type": "string", "pattern": prefix_pattern(C::PREFIX) },
                },
            ],
        })
    }
}

/// Subnets of a function or a DAX cluster: `default` (the default VPC's) or subnet ids.
pub struct SubnetIds;

impl Choices for SubnetIds {
    const WORDS: &'static [&'static str] = &["default"];
    const PREFIX: &'static str = "subnet-";
}

/// Security groups of a function or a DAX cluster: `default` (the default VPC's `default`
/// group) or group ids.
pub struct SecurityGroupIds;

impl Choices for SecurityGroupIds {
    const WORDS: &'static [&'static str] = &["default"];
    const PREFIX: &'static str = "sg-";
}

pub use crate::resources::RawStack;

/// Where an environment's resources live.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironment {
    /// AWS region.
    #[schemars(with = "Option<String>")]
    pub region: Option<Spanned<String>>,
    /// Endpoint override (an emulator on loopback, for example).
    #[schemars(with = "Option<String>")]
    pub endpoint_url: Option<Spanned<String>>,
    /// Named AWS profile.
    #[schemars(with = "Option<String>")]
    pub profile: Option<Spanned<String>>,
    /// What answers at the endpoint: `aws` (AWS or moto) or `dynamodb-local`.
    #[schemars(
        with = "Option<String>",
        regex(pattern = words_pattern(&crate::engine::Engine::ALL.map(crate::engine::Engine::as_str), Case::Exact))
    )]
    pub engine: Option<Spanned<String>>,
    /// Addresses (`kind.name`) of resources declared `enabled: false` that exist here.
    #[schemars(with = "Option<Vec<String>>")]
    pub enable: Option<Spanned<Vec<Spanned<String>>>>,
    /// Addresses of resources that are absent here (deleted if the stack owns them).
    #[schemars(with = "Option<Vec<String>>")]
    pub disable: Option<Spanned<Vec<Spanned<String>>>>,
}

/// One value or a list of them (`subnets: default` or `subnets: [subnet-1]`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single word, like `default` or `main`.
    One(String),
    /// A list of ids.
    Many(Vec<String>),
}

/// A statement's `effect:` words; `validate` compares them in any case.
pub const EFFECTS: [&str; 2] = ["Allow", "Deny"];

/// A policy statement.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStatement {
    /// Statement id.
    #[schemars(with = "Option<String>")]
    pub sid: Option<Spanned<String>>,
    /// `Allow` or `Deny`, in any case.
    #[schemars(with = "String", regex(pattern = words_pattern(&EFFECTS, Case::Any)))]
    pub effect: Spanned<String>,
    /// Principal (endpoint policies only): `"*"` or a mapping.
    #[schemars(with = "Option<serde_json::Value>")]
    pub principal: Option<Spanned<serde_json::Value>>,
    /// Actions.
    #[schemars(with = "Vec<String>")]
    pub actions: Spanned<Vec<Spanned<String>>>,
    /// Resources, with `${kind.name.attr}` references.
    #[schemars(with = "Vec<String>")]
    pub resources: Spanned<Vec<Spanned<String>>>,
    /// Condition block, as IAM writes it.
    #[schemars(with = "Option<serde_json::Value>")]
    pub conditions: Option<Spanned<serde_json::Value>>,
}
