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

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStack {
    /// The stack's name, used in the ownership tag `cruddur-infra:stack=<name>`.
    pub name: Spanned<String>,
    /// Named environments (`local`, `prod`, …).
    pub environments: Spanned<SpannedMap<Spanned<RawEnvironment>>>,
    /// `DynamoDB` tables by logical name.
    #[serde(default)]
    pub tables: SpannedMap<Spanned<RawTable>>,
}

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
}

/// A `DynamoDB` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTable {
    /// Table name in AWS.
    pub name: Spanned<String>,
    /// Attribute name → `S`, `N` or `B`; only attributes used by a key.
    pub attributes: Spanned<SpannedMap<Spanned<String>>>,
    /// The table's primary key.
    pub key: Spanned<RawKey>,
    /// Billing mode and capacity.
    pub billing: Spanned<RawBilling>,
    /// Global secondary indexes.
    #[serde(default)]
    pub global_secondary_indexes: Vec<Spanned<RawIndex>>,
    /// Stream view type, or `off`.
    pub stream: Option<Spanned<String>>,
    /// AWS deletion protection.
    pub deletion_protection: Option<Spanned<bool>>,
    /// Attribute holding the expiry time for TTL.
    pub ttl_attribute: Option<Spanned<String>>,
    /// Continuous backups.
    pub point_in_time_recovery: Option<Spanned<bool>>,
    /// User tags (the ownership tag is added by the tool).
    #[serde(default)]
    pub tags: SpannedMap<Spanned<String>>,
}

/// A key schema: partition (hash) key and optional sort (range) key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    /// Partition key attribute.
    pub hash: Spanned<String>,
    /// Sort key attribute.
    pub range: Option<Spanned<String>>,
}

/// Billing mode with capacity when provisioned.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBilling {
    /// `PROVISIONED` or `PAY_PER_REQUEST`.
    pub mode: Spanned<String>,
    /// Read capacity units.
    pub read: Option<Spanned<i64>>,
    /// Write capacity units.
    pub write: Option<Spanned<i64>>,
}

/// A global secondary index.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIndex {
    /// Index name.
    pub name: Spanned<String>,
    /// The index's key.
    pub key: Spanned<RawKey>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: Spanned<String>,
    /// With `INCLUDE`: the non-key attributes to project.
    pub non_key_attributes: Option<Spanned<Vec<Spanned<String>>>>,
    /// Read capacity units (provisioned tables).
    pub read: Option<Spanned<i64>>,
    /// Write capacity units (provisioned tables).
    pub write: Option<Spanned<i64>>,
}
