//! The stack file exactly as written: serde types that mirror the YAML, with the source
//! location of every value the validator may need to point at.
//!
//! Nothing here is trusted. Unknown keys are rejected (`deny_unknown_fields`); enum-like
//! values stay strings so that `validate` can say which spellings are allowed.

use std::fmt;
use std::marker::PhantomData;

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

pub use crate::resources::RawStack;

/// Where an environment's resources live.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironment {
    /// AWS region.
    pub region: Option<Spanned<String>>,
    /// Endpoint override (an emulator on loopback, for example).
    pub endpoint_url: Option<Spanned<String>>,
    /// Named AWS profile.
    pub profile: Option<Spanned<String>>,
    /// What answers at the endpoint: `aws` (AWS or moto) or `dynamodb-local`.
    pub engine: Option<Spanned<String>>,
    /// Addresses (`kind.name`) of resources declared `enabled: false` that exist here.
    pub enable: Option<Spanned<Vec<Spanned<String>>>>,
    /// Addresses of resources that are absent here (deleted if the stack owns them).
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

/// A policy statement.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStatement {
    /// Statement id.
    pub sid: Option<Spanned<String>>,
    /// `Allow` or `Deny`.
    pub effect: Spanned<String>,
    /// Principal (endpoint policies only): `"*"` or a mapping.
    pub principal: Option<Spanned<serde_json::Value>>,
    /// Actions.
    pub actions: Spanned<Vec<Spanned<String>>>,
    /// Resources, with `${kind.name.attr}` references.
    pub resources: Spanned<Vec<Spanned<String>>>,
    /// Condition block, as IAM writes it.
    pub conditions: Option<Spanned<serde_json::Value>>,
}
