//! The stack file's `tables:` entries: their raw serde types and their validation against
//! `DynamoDB`'s own limits (name lengths, key types, attribute definitions that keys use,
//! capacity exactly when provisioned, at most 20 indexes). Pure.

use std::collections::{BTreeMap, BTreeSet};

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::stack::raw::{Case, SpannedMap, words_pattern};
use crate::stack::validate::{Validator, loc};

use super::{
    Billing, IndexSpec, KeySchema, Projection, ScalarType, StreamView, TableSpec, Throughput,
};
use crate::stack::Loc;

/// The billing modes, as AWS spells them; the file may write them in any case.
pub const BILLING_MODES: [&str; 2] = [PROVISIONED, PAY_PER_REQUEST];
const PROVISIONED: &str = "PROVISIONED";
const PAY_PER_REQUEST: &str = "PAY_PER_REQUEST";

/// The projection types, as AWS spells them; the file may write them in any case.
pub const PROJECTIONS: [&str; 3] = [PROJECT_ALL, PROJECT_KEYS_ONLY, PROJECT_INCLUDE];
const PROJECT_ALL: &str = "ALL";
const PROJECT_KEYS_ONLY: &str = "KEYS_ONLY";
const PROJECT_INCLUDE: &str = "INCLUDE";

/// `stream:`'s word for no stream, besides the view types (any case).
pub const STREAM_OFF: &str = "OFF";

/// The key attribute types, exactly as `ScalarType::parse` reads them.
pub const KEY_TYPES: [ScalarType; 3] = [ScalarType::S, ScalarType::N, ScalarType::B];

/// What `stream:` accepts: a view type or `off`, in any case.
#[must_use]
pub fn stream_words() -> Vec<&'static str> {
    StreamView::ALL
        .into_iter()
        .map(StreamView::as_str)
        .chain([STREAM_OFF])
        .collect()
}

/// Schema only: `attributes:` maps attribute names to `S`, `N` or `B`, exactly.
fn attribute_types(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = SpannedMap::<Spanned<String>>::json_schema(generator);
    schema.insert(
        "additionalProperties".into(),
        serde_json::json!({
            "type": "string",
            "pattern": words_pattern(&KEY_TYPES.map(ScalarType::as_str), Case::Exact),
        }),
    );
    schema
}

/// A `DynamoDB` table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTable {
    /// `false`: absent from every environment that does not `enable` it.
    #[schemars(with = "Option<bool>")]
    pub enabled: Option<Spanned<bool>>,
    /// Table name in AWS.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Attribute name → `S`, `N` or `B`; only attributes used by a key.
    #[schemars(schema_with = "attribute_types")]
    pub attributes: Spanned<SpannedMap<Spanned<String>>>,
    /// The table's primary key.
    #[schemars(with = "RawKey")]
    pub key: Spanned<RawKey>,
    /// Billing mode and capacity.
    #[schemars(with = "RawBilling")]
    pub billing: Spanned<RawBilling>,
    /// Global secondary indexes.
    #[serde(default)]
    #[schemars(with = "Vec<RawIndex>")]
    pub global_secondary_indexes: Vec<Spanned<RawIndex>>,
    /// Stream view type, or `off` (any case); absent means off.
    #[schemars(
        with = "Option<String>",
        regex(pattern = words_pattern(&stream_words(), Case::Any))
    )]
    pub stream: Option<Spanned<String>>,
    /// AWS deletion protection; absent means off. While on, plans refuse to delete or
    /// replace the table.
    #[schemars(with = "Option<bool>")]
    pub deletion_protection: Option<Spanned<bool>>,
    /// Attribute holding the expiry time for TTL.
    #[schemars(with = "Option<String>")]
    pub ttl_attribute: Option<Spanned<String>>,
    /// Continuous backups (point-in-time recovery); absent means off.
    #[schemars(with = "Option<bool>")]
    pub point_in_time_recovery: Option<Spanned<bool>>,
    /// User tags (the ownership tag is added by the tool).
    #[serde(default)]
    pub tags: SpannedMap<Spanned<String>>,
}

/// A key schema: partition (hash) key and optional sort (range) key.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    /// Partition key attribute.
    #[schemars(with = "String")]
    pub hash: Spanned<String>,
    /// Sort key attribute.
    #[schemars(with = "Option<String>")]
    pub range: Option<Spanned<String>>,
}

/// Billing mode with capacity when provisioned.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBilling {
    /// `PROVISIONED` or `PAY_PER_REQUEST`, in any case.
    #[schemars(with = "String", regex(pattern = words_pattern(&BILLING_MODES, Case::Any)))]
    pub mode: Spanned<String>,
    /// Read capacity units.
    #[schemars(with = "Option<i64>")]
    pub read: Option<Spanned<i64>>,
    /// Write capacity units.
    #[schemars(with = "Option<i64>")]
    pub write: Option<Spanned<i64>>,
}

/// A global secondary index.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIndex {
    /// Index name.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The index's key.
    #[schemars(with = "RawKey")]
    pub key: Spanned<RawKey>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`, in any case.
    #[schemars(with = "String", regex(pattern = words_pattern(&PROJECTIONS, Case::Any)))]
    pub projection: Spanned<String>,
    /// With `INCLUDE`: the non-key attributes to project.
    #[schemars(with = "Option<Vec<String>>")]
    pub non_key_attributes: Option<Spanned<Vec<Spanned<String>>>>,
    /// Read capacity units (provisioned tables).
    #[schemars(with = "Option<i64>")]
    pub read: Option<Spanned<i64>>,
    /// Write capacity units (provisioned tables).
    #[schemars(with = "Option<i64>")]
    pub write: Option<Spanned<i64>>,
}

/// AWS's limit on global secondary indexes per table.
const MAX_INDEXES: usize = 20;

/// One provisioned capacity figure: AWS refuses fewer than 1 unit (reported, and 1 used so
/// that validation can go on).
fn capacity(vd: &mut Validator, what: &str, value: &Spanned<i64>) -> i64 {
    if value.value < 1 {
        vd.error(
            format!("{what} capacity is `{}`", value.value),
            loc(value),
            "provisioned capacity is at least 1 unit",
        );
    }
    value.value
}

/// Capacity of a table or index: both units when provisioned, none when on demand.
fn throughput(
    vd: &mut Validator,
    what: &str,
    at: Option<Loc>,
    provisioned: bool,
    read: Option<&Spanned<i64>>,
    write: Option<&Spanned<i64>>,
) -> Option<Throughput> {
    if provisioned {
        if let (Some(r), Some(w)) = (read, write) {
            Some(Throughput {
                read: capacity(vd, &format!("{what} read"), r),
                write: capacity(vd, &format!("{what} write"), w),
            })
        } else {
            let missing = if read.is_none() { "read" } else { "write" };
            vd.error(
                format!("{what} is provisioned but has no `{missing}` capacity"),
                at,
                "with `mode: PROVISIONED`, give both `read` and `write` (at least 1)",
            );
            None
        }
    } else {
        for (label, v) in [("read", read), ("write", write)] {
            if let Some(v) = v {
                vd.error(
                    format!("{what} has `{label}` capacity but the table is billed per request"),
                    loc(v),
                    format!("remove `{label}`, or use `mode: PROVISIONED`"),
                );
            }
        }
        None
    }
}

/// Checks a key against the attribute names declared (typed correctly or not: a bad
/// type is reported once, at the type).
fn key(
    vd: &mut Validator,
    owner: &str,
    key: &Spanned<RawKey>,
    declared: &BTreeSet<String>,
) -> KeySchema {
    for part in std::iter::once(&key.value.hash).chain(key.value.range.as_ref()) {
        if !declared.contains(&part.value) {
            vd.error(
                format!(
                    "{owner} key uses attribute `{}`, which is not defined",
                    part.value
                ),
                loc(part),
                format!("add `{}: S` (or `N`, `B`) under `attributes`", part.value),
            );
        }
    }
    if let Some(range) = &key.value.range
        && range.value == key.value.hash.value
    {
        vd.error(
            format!(
                "{owner} key uses `{}` as both partition and sort key",
                range.value
            ),
            loc(range),
            "use a different attribute for `range`, or remove it",
        );
    }
    KeySchema {
        hash: key.value.hash.value.clone(),
        range: key.value.range.as_ref().map(|r| r.value.clone()),
    }
}

/// The billing mode and its capacity: `PROVISIONED` needs both `read` and `write` (at least
/// 1 each), `PAY_PER_REQUEST` takes neither (AWS rejects capacity on an on-demand table).
/// Answers whether the table is provisioned, so its indexes can be checked the same way.
fn billing(vd: &mut Validator, billing: &Spanned<RawBilling>) -> (bool, Option<Billing>) {
    let b = &billing.value;
    let mode = b.mode.value.to_ascii_uppercase();
    match mode.as_str() {
        PROVISIONED => {
            let t = throughput(
                vd,
                "table",
                loc(billing),
                true,
                b.read.as_ref(),
                b.write.as_ref(),
            );
            (true, t.map(Billing::Provisioned))
        }
        PAY_PER_REQUEST => {
            throughput(
                vd,
                "table",
                loc(billing),
                false,
                b.read.as_ref(),
                b.write.as_ref(),
            );
            (false, Some(Billing::PayPerRequest))
        }
        other => {
            vd.error(
                format!("billing mode `{other}` is not one of AWS's"),
                loc(&b.mode),
                "use `PROVISIONED` (with `read` and `write`) or `PAY_PER_REQUEST`",
            );
            (false, None)
        }
    }
}

/// One global secondary index: its key must use defined `S`/`N`/`B` attributes; `INCLUDE`
/// needs `non_key_attributes` and no other projection takes them; capacity exactly when the
/// table is provisioned.
fn index(
    vd: &mut Validator,
    raw: &Spanned<RawIndex>,
    provisioned: bool,
    declared: &BTreeSet<String>,
) -> IndexSpec {
    let i = &raw.value;
    vd.aws_name("index name", &i.name, 3, 255);
    let key = key(vd, &format!("index `{}`", i.name.value), &i.key, declared);
    let kind = i.projection.value.to_ascii_uppercase();
    let projection = match (kind.as_str(), &i.non_key_attributes) {
        (PROJECT_ALL, None) => Projection::All,
        (PROJECT_KEYS_ONLY, None) => Projection::KeysOnly,
        (PROJECT_INCLUDE, Some(names)) if !names.value.is_empty() => {
            Projection::Include(names.value.iter().map(|n| n.value.clone()).collect())
        }
        (PROJECT_INCLUDE, other) => {
            vd.error(
                format!(
                    "index `{}` projects `INCLUDE` but names no attributes",
                    i.name.value
                ),
                other.as_ref().map_or(loc(&i.projection), loc),
                "list them: `non_key_attributes: [message, user_handle]`",
            );
            Projection::All
        }
        (PROJECT_ALL | PROJECT_KEYS_ONLY, Some(names)) => {
            vd.error(
                format!(
                    "index `{}` lists `non_key_attributes` but projects `{kind}`",
                    i.name.value
                ),
                loc(names),
                "remove `non_key_attributes`, or use `projection: INCLUDE`",
            );
            Projection::All
        }
        (other, _) => {
            vd.error(
                format!("projection `{other}` is not one of AWS's"),
                loc(&i.projection),
                "use `ALL`, `KEYS_ONLY` or `INCLUDE` (with `non_key_attributes`)",
            );
            Projection::All
        }
    };
    let what = format!("index `{}`", i.name.value);
    let throughput = throughput(
        vd,
        &what,
        loc(raw),
        provisioned,
        i.read.as_ref(),
        i.write.as_ref(),
    );
    IndexSpec {
        name: i.name.value.clone(),
        key,
        projection,
        throughput,
    }
}

/// One `tables:` entry, checked against `DynamoDB`'s rules before any call: a valid table
/// name; attribute names of 1 to 255 bytes with key types only; every defined attribute used
/// by some key (AWS rejects the others) and every key attribute defined; at most 20 indexes,
/// each named once; a known stream view type; a TTL attribute name of 1 to 255 bytes; tags
/// within AWS's limits and never the ownership tag.
///
/// Every problem goes to `vd` and validation goes on: a placeholder stands in for what was
/// wrong (on-demand billing, an `ALL` projection, the attributes that did parse), and the
/// spec returned is only used when `vd` reports no error.
pub(crate) fn table(vd: &mut Validator, raw: &Spanned<RawTable>) -> TableSpec {
    let t = &raw.value;
    vd.aws_name("table name", &t.name, 3, 255);
    let mut attributes = BTreeMap::new();
    for (name, ty) in &t.attributes.value.0 {
        if name.value.is_empty() || name.value.len() > 255 {
            vd.error(
                "attribute names have 1 to 255 bytes",
                loc(name),
                "rename the attribute",
            );
        }
        match ScalarType::parse(&ty.value) {
            Some(parsed) => {
                attributes.insert(name.value.clone(), parsed);
            }
            None => vd.error(
                format!(
                    "attribute `{}` has type `{}`, which cannot be a key",
                    name.value, ty.value
                ),
                loc(ty),
                "key attributes are `S` (string), `N` (number) or `B` (binary)",
            ),
        }
    }
    let declared: BTreeSet<String> = t
        .attributes
        .value
        .0
        .iter()
        .map(|(n, _)| n.value.clone())
        .collect();
    let key = key(vd, "table", &t.key, &declared);
    let (provisioned, billing) = billing(vd, &t.billing);
    if t.global_secondary_indexes.len() > MAX_INDEXES {
        vd.error(
            format!(
                "table declares {} global secondary indexes",
                t.global_secondary_indexes.len()
            ),
            loc(&t.global_secondary_indexes[MAX_INDEXES]),
            format!("AWS allows at most {MAX_INDEXES} per table"),
        );
    }
    let mut indexes: Vec<IndexSpec> = Vec::new();
    for raw_index in &t.global_secondary_indexes {
        let index = index(vd, raw_index, provisioned, &declared);
        if indexes.iter().any(|i| i.name == index.name) {
            vd.error(
                format!("index `{}` is declared twice", index.name),
                loc(&raw_index.value.name),
                "give each index of a table its own name",
            );
        }
        indexes.push(index);
    }
    let used: BTreeSet<&str> = key
        .attributes()
        .chain(indexes.iter().flat_map(|i| i.key.attributes()))
        .collect();
    for (name, _) in &t.attributes.value.0 {
        if !used.contains(name.value.as_str()) {
            vd.error(
                format!("attribute `{}` is defined but no key uses it", name.value),
                loc(name),
                "AWS rejects unused attribute definitions: remove it (items may still hold it), or use it in a key",
            );
        }
    }
    let stream = t.stream.as_ref().and_then(|s| {
        let upper = s.value.to_ascii_uppercase();
        if upper == STREAM_OFF {
            return None;
        }
        let parsed = StreamView::parse(&upper);
        if parsed.is_none() {
            vd.error(
                format!("stream view type `{}` is not one of AWS's", s.value),
                loc(s),
                "use `NEW_IMAGE`, `OLD_IMAGE`, `NEW_AND_OLD_IMAGES`, `KEYS_ONLY`, or `off`",
            );
        }
        parsed
    });
    if let Some(ttl) = &t.ttl_attribute
        && (ttl.value.is_empty() || ttl.value.len() > 255)
    {
        vd.error(
            "the TTL attribute name has 1 to 255 bytes",
            loc(ttl),
            "name the attribute that holds the expiry time",
        );
    }
    let tags = vd.tags(&t.tags);
    TableSpec {
        name: t.name.value.clone(),
        attributes,
        key,
        billing: billing.unwrap_or(Billing::PayPerRequest),
        indexes,
        stream,
        deletion_protection: t.deletion_protection.as_ref().is_some_and(|d| d.value),
        ttl_attribute: t.ttl_attribute.as_ref().map(|t| t.value.clone()),
        point_in_time_recovery: t.point_in_time_recovery.as_ref().is_some_and(|p| p.value),
        tags,
    }
}
