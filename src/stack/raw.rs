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
    /// IAM roles by logical name.
    #[serde(default)]
    pub roles: SpannedMap<Spanned<RawRole>>,
    /// Lambda functions by logical name.
    #[serde(default)]
    pub functions: SpannedMap<Spanned<RawFunction>>,
    /// Stream-to-function mappings by logical name.
    #[serde(default)]
    pub event_source_mappings: SpannedMap<Spanned<RawMapping>>,
    /// Gateway VPC endpoints by logical name.
    #[serde(default)]
    pub vpc_endpoints: SpannedMap<Spanned<RawEndpoint>>,
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

/// One value or a list of them (`subnets: default` or `subnets: [subnet-1]`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single word, like `default` or `main`.
    One(String),
    /// A list of ids.
    Many(Vec<String>),
}

/// An IAM role.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    /// Role name.
    pub name: Spanned<String>,
    /// Role path (default `/`).
    pub path: Option<Spanned<String>>,
    /// Services that may assume the role, like `lambda.amazonaws.com`.
    pub trust: Spanned<Vec<Spanned<String>>>,
    /// Description.
    pub description: Option<Spanned<String>>,
    /// Longest session in seconds.
    pub max_session_seconds: Option<Spanned<i64>>,
    /// Inline policies: name → statements.
    #[serde(default)]
    pub policies: SpannedMap<Spanned<Vec<Spanned<RawStatement>>>>,
    /// Managed policy ARNs to attach.
    #[serde(default)]
    pub managed_policies: Vec<Spanned<String>>,
    /// User tags.
    #[serde(default)]
    pub tags: SpannedMap<Spanned<String>>,
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

/// A Lambda function.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFunction {
    /// Function name.
    pub name: Spanned<String>,
    /// Runtime.
    pub runtime: Spanned<String>,
    /// Handler.
    pub handler: Spanned<String>,
    /// Source folder, relative to the stack file.
    pub source: Spanned<String>,
    /// Logical name of its role.
    pub role: Spanned<String>,
    /// Memory in MB.
    pub memory: Option<Spanned<i64>>,
    /// Timeout in seconds.
    pub timeout: Option<Spanned<i64>>,
    /// Description.
    pub description: Option<Spanned<String>>,
    /// `x86_64` or `arm64`.
    pub architecture: Option<Spanned<String>>,
    /// Environment variables (values may hold references).
    #[serde(default)]
    pub environment: SpannedMap<Spanned<String>>,
    /// Environment variables never shown in plans.
    #[serde(default)]
    pub secret_environment: SpannedMap<Spanned<String>>,
    /// VPC placement.
    pub vpc: Option<Spanned<RawVpcPlacement>>,
    /// Keep `/aws/lambda/<name>` on destroy.
    pub keep_logs: Option<Spanned<bool>>,
    /// User tags.
    #[serde(default)]
    pub tags: SpannedMap<Spanned<String>>,
}

/// Subnets and security groups of a VPC function.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVpcPlacement {
    /// `default` (the default VPC's subnets) or subnet ids.
    pub subnets: Spanned<OneOrMany>,
    /// `default` (the default VPC's default group) or group ids.
    pub security_groups: Spanned<OneOrMany>,
}

/// A stream-to-function mapping.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMapping {
    /// Logical name of the table whose stream is read.
    pub table: Spanned<String>,
    /// Logical name of the function invoked.
    pub function: Spanned<String>,
    /// Records per invocation.
    pub batch_size: Option<Spanned<i64>>,
    /// `LATEST` or `TRIM_HORIZON`.
    pub starting_position: Option<Spanned<String>>,
    /// Whether it polls.
    pub enabled: Option<Spanned<bool>>,
    /// Event filter patterns (JSON).
    #[serde(default)]
    pub filter_patterns: Vec<Spanned<String>>,
    /// Retries (-1: until the record expires).
    pub maximum_retry_attempts: Option<Spanned<i64>>,
    /// Split a failing batch.
    pub bisect_batch_on_function_error: Option<Spanned<bool>>,
    /// Seconds to gather records.
    pub maximum_batching_window_seconds: Option<Spanned<i64>>,
}

/// A gateway VPC endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    /// The `Name` tag.
    pub name: Spanned<String>,
    /// `dynamodb` (default) or `s3`.
    pub service: Option<Spanned<String>>,
    /// `default` or a VPC id.
    pub vpc: Option<Spanned<String>>,
    /// `main`, `all`, or route table ids.
    pub route_tables: Option<Spanned<OneOrMany>>,
    /// Endpoint policy statements.
    pub policy: Option<Spanned<Vec<Spanned<RawStatement>>>>,
    /// Other tags.
    #[serde(default)]
    pub tags: SpannedMap<Spanned<String>>,
}
