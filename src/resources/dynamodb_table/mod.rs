//! `DynamoDB` tables: the validated spec, the normalized live view, the field diff, and the
//! ordered update steps AWS's rules require. Pure: the SDK is only named in `aws.rs`.
//!
//! AWS rules encoded here (see `AWS-RULES.md`): the key schema cannot change in place
//! (replace the table); an index whose key or projection changes is deleted and created
//! again; one index create or delete per `UpdateTable`, deletes first; a stream view type
//! change is disable-then-enable; TTL changes about once an hour per table, so moving it
//! to another attribute takes two applies (disable now, enable in a later one) and no TTL
//! step is planned while AWS is still `ENABLING`/`DISABLING`.

pub mod aws;
mod plan;
pub mod stack;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::{Effect, Field, FieldDiff, Val, diff_fields};

/// An attribute type usable in a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScalarType {
    /// String.
    S,
    /// Number.
    N,
    /// Binary.
    B,
}

impl ScalarType {
    /// Parses `S`, `N` or `B`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "S" => Some(Self::S),
            "N" => Some(Self::N),
            "B" => Some(Self::B),
            _ => None,
        }
    }

    /// The AWS spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S => "S",
            Self::N => "N",
            Self::B => "B",
        }
    }
}

/// A partition key and an optional sort key, by attribute name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySchema {
    /// Partition (HASH) key.
    pub hash: String,
    /// Sort (RANGE) key.
    pub range: Option<String>,
}

impl KeySchema {
    /// The key's attribute names, partition key first.
    pub fn attributes(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.hash.as_str()).chain(self.range.as_deref())
    }
}

/// Provisioned capacity units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throughput {
    /// Read capacity units.
    pub read: i64,
    /// Write capacity units.
    pub write: i64,
}

/// How the table is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billing {
    /// Fixed capacity.
    Provisioned(Throughput),
    /// On demand.
    PayPerRequest,
}

impl Billing {
    /// The AWS spelling of the mode.
    #[must_use]
    pub fn mode(self) -> &'static str {
        match self {
            Billing::Provisioned(_) => "PROVISIONED",
            Billing::PayPerRequest => "PAY_PER_REQUEST",
        }
    }
}

/// Which attributes an index copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    /// Every attribute.
    All,
    /// Only the table's and the index's keys.
    KeysOnly,
    /// The keys plus these attributes (a set: order carries no meaning).
    Include(BTreeSet<String>),
}

impl Projection {
    /// The AWS spelling of the projection type.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Projection::All => "ALL",
            Projection::KeysOnly => "KEYS_ONLY",
            Projection::Include(_) => "INCLUDE",
        }
    }
}

/// A global secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    /// Index name, unique within the table.
    pub name: String,
    /// The index's key.
    pub key: KeySchema,
    /// What it copies.
    pub projection: Projection,
    /// Capacity, present exactly when the table is provisioned.
    pub throughput: Option<Throughput>,
}

/// What a stream record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamView {
    /// Only the key attributes.
    KeysOnly,
    /// The item after the change.
    NewImage,
    /// The item before the change.
    OldImage,
    /// Both.
    NewAndOldImages,
}

impl StreamView {
    /// Every view type, for help messages.
    pub const ALL: [StreamView; 4] = [
        StreamView::KeysOnly,
        StreamView::NewImage,
        StreamView::OldImage,
        StreamView::NewAndOldImages,
    ];

    /// The AWS spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            StreamView::KeysOnly => "KEYS_ONLY",
            StreamView::NewImage => "NEW_IMAGE",
            StreamView::OldImage => "OLD_IMAGE",
            StreamView::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }

    /// Parses the AWS spelling.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for StreamView {
    /// Writes the AWS spelling, as progress lines show it (`enabling the stream (...)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A table as the stack declares it, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// Table name in AWS.
    pub name: String,
    /// Every key attribute of the table and its indexes, with its type. Validation rejects
    /// any other: AWS refuses attribute definitions that no key uses.
    pub attributes: BTreeMap<String, ScalarType>,
    /// Primary key.
    pub key: KeySchema,
    /// Billing mode and capacity.
    pub billing: Billing,
    /// Global secondary indexes, matched by name.
    pub indexes: Vec<IndexSpec>,
    /// Stream view type when the stream is on.
    pub stream: Option<StreamView>,
    /// AWS deletion protection.
    pub deletion_protection: bool,
    /// TTL attribute when TTL is on.
    pub ttl_attribute: Option<String>,
    /// Point-in-time recovery.
    pub point_in_time_recovery: bool,
    /// User tags (never the ownership tag).
    pub tags: BTreeMap<String, String>,
}

/// A table's lifecycle state, as `DescribeTable` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableState {
    /// Being created.
    Creating,
    /// Ready.
    Active,
    /// Being updated (an index backfill, a stream change, …).
    Updating,
    /// Being deleted.
    Deleting,
    /// Anything else AWS may report (archived, inaccessible key, …).
    Other(String),
}

/// A TTL change AWS is still carrying out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlTransition {
    /// `ENABLING`.
    Enabling,
    /// `DISABLING`.
    Disabling,
}

impl fmt::Display for TtlTransition {
    /// Writes AWS's TTL status (`ENABLING`, `DISABLING`), as TTL notes show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TtlTransition::Enabling => "ENABLING",
            TtlTransition::Disabling => "DISABLING",
        })
    }
}

/// A table as AWS reports it, normalized into the same shape as the spec so that the two
/// compare field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLive {
    /// The live configuration, in spec shape (tags without the ownership tag). For a
    /// `DELETING` table, TTL, point-in-time recovery and tags are not read: off and empty.
    pub config: TableSpec,
    /// The stack named by the ownership tag, if any (`None` for a `DELETING` table, whose
    /// tags are not read).
    pub owner: Option<String>,
    /// Table ARN.
    pub arn: String,
    /// Lifecycle state.
    pub state: TableState,
    /// Latest stream ARN, when the stream is on. Disabling and enabling the stream again
    /// gives a new one, which is why a view type change invalidates references to it.
    pub stream_arn: Option<String>,
    /// Approximate item count (refreshed by AWS about every six hours).
    pub item_count: i64,
    /// A TTL change in progress, during which AWS accepts no other.
    pub ttl_transition: Option<TtlTransition>,
}

/// The ARN AWS gives the table `name` in `region` and `account`.
#[must_use]
pub fn arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:dynamodb:{region}:{account}:table/{name}")
}

/// `DynamoDB`'s prices in US East (N. Virginia), standard table class, in US dollars, from
/// <https://aws.amazon.com/dynamodb/pricing/> as published in 2026. Other regions cost
/// somewhat different amounts; the cost line says which figure it used.
pub mod prices {
    /// Per provisioned read capacity unit and hour.
    pub const RCU_HOUR: f64 = 0.00013;
    /// Per provisioned write capacity unit and hour.
    pub const WCU_HOUR: f64 = 0.00065;
    /// On demand, per million read request units.
    pub const READS_PER_MILLION: f64 = 0.125;
    /// On demand, per million write request units.
    pub const WRITES_PER_MILLION: f64 = 0.625;
    /// Storage beyond the free 25 GB, per GB-month.
    pub const STORAGE_GB_MONTH: f64 = 0.25;
    /// Provisioned capacity the AWS Free Tier covers, per account and region (each of
    /// reads and writes), shared by every table and index there.
    pub const FREE_UNITS: i64 = 25;
    /// Hours in an average month, as AWS's calculator counts them.
    pub const HOURS_PER_MONTH: f64 = 730.0;
}

/// The cost lines of `tables` in `region`: their provisioned capacity, tables and indexes
/// together, against the free tier (which the whole account shares in a region); on-demand
/// tables by the request; storage by the GB. With `stopping`, what deleting them stops.
#[must_use]
pub fn cost_lines(region: &str, tables: &[&TableSpec], stopping: bool) -> Vec<String> {
    let basis = if region == "us-east-1" {
        "us-east-1 price of 2026".to_string()
    } else {
        format!("us-east-1 price of 2026; {region} may differ")
    };
    let mut parts = Vec::new();
    let (mut rcu, mut wcu) = (0, 0);
    let mut on_demand = Vec::new();
    for t in tables {
        match t.billing {
            Billing::Provisioned(c) => {
                rcu += c.read;
                wcu += c.write;
                parts.push(format!("table `{}` {}/{}", t.name, c.read, c.write));
                for i in &t.indexes {
                    if let Some(c) = i.throughput {
                        rcu += c.read;
                        wcu += c.write;
                        parts.push(format!("index `{}` {}/{}", i.name, c.read, c.write));
                    }
                }
            }
            Billing::PayPerRequest => on_demand.push(format!("`{}`", t.name)),
        }
    }
    let mut lines = Vec::new();
    if !parts.is_empty() {
        // Capacities are at most 40,000 units a table (AWS's default quota): exact in f64.
        let over = |n: i64| f64::from(u32::try_from(n - prices::FREE_UNITS).unwrap_or(0));
        let monthly =
            (over(rcu) * prices::RCU_HOUR + over(wcu) * prices::WCU_HOUR) * prices::HOURS_PER_MONTH;
        let within = rcu <= prices::FREE_UNITS && wcu <= prices::FREE_UNITS;
        let verdict = if within {
            "within the free tier of 25 RCU and 25 WCU per account and region: $0/month while nothing else there uses it".to_string()
        } else {
            format!(
                "beyond the free tier of 25 RCU and 25 WCU per account and region: about ${monthly:.2}/month"
            )
        };
        let what = format!(
            "DynamoDB capacity, {rcu} read and {wcu} write units provisioned ({})",
            parts.join(", ")
        );
        lines.push(if stopping && within {
            format!("stops using the free tier once deleted: {what}; their storage too")
        } else if stopping {
            format!("stops costing once deleted: {what}, about ${monthly:.2}/month beyond the free tier; their storage too")
        } else {
            format!(
                "cost: {what}, {verdict}; each unit beyond it ${}/h read, ${}/h write; storage beyond 25 GB ${}/GB-month ({basis})",
                prices::RCU_HOUR,
                prices::WCU_HOUR,
                prices::STORAGE_GB_MONTH
            )
        });
    }
    if !on_demand.is_empty() {
        let names = on_demand.join(", ");
        lines.push(if stopping {
            format!("stops costing once deleted: on-demand table(s) {names} and their storage")
        } else {
            format!(
                "cost: on-demand table(s) {names}: ${} per million writes and ${} per million reads, nothing while idle; storage beyond 25 GB ${}/GB-month ({basis})",
                prices::WRITES_PER_MILLION,
                prices::READS_PER_MILLION,
                prices::STORAGE_GB_MONTH
            )
        });
    }
    lines
}

/// What replacing an index costs, as plans say it.
const INDEX_REPLACED: &str = "delete, then create with a full backfill";

/// How a TTL move is carried out, as plans explain it.
const TTL_MOVE: &str = "two applies: this one disables TTL on the old attribute; AWS then refuses another TTL change for about an hour, so a later apply enables it on the new one";

/// The plan path of one field of an index, keyed by the index name (indexes match by name).
fn index_path(index: &str, field: &str) -> String {
    format!("global_secondary_index[{index:?}].{field}")
}

/// A key part as plans show it, with its type: `pk (S)`.
fn key_text(attributes: &BTreeMap<String, ScalarType>, part: Option<&str>) -> Option<String> {
    let name = part?;
    let ty = attributes.get(name).map_or("?", |t| t.as_str());
    Some(format!("{name} ({ty})"))
}

/// The table's fields as plans show them, in a fixed order. Both the spec and the live view
/// go through this one function, so equal configurations flatten to equal lists.
///
/// Effects: `name`, `key.hash` and `key.range` (shown with their types, so a key type
/// change counts) replace the table; an index's key, projection and non-key attributes
/// rebuild that index; billing, capacities, stream, deletion protection, TTL, backups and
/// tags change in place. Capacity fields appear only under provisioned billing,
/// `ttl_attribute` only while TTL is on, and indexes in name order.
#[must_use]
pub fn flatten(spec: &TableSpec) -> Vec<Field> {
    // Exhaustive on purpose: a new field fails to compile here until it is shown and compared.
    let TableSpec {
        name: _,
        attributes: _,
        key: _,
        billing: _,
        indexes: _,
        stream: _,
        deletion_protection: _,
        ttl_attribute: _,
        point_in_time_recovery: _,
        tags: _,
    } = spec;
    let attrs = &spec.attributes;
    let mut fields =
        vec![Field::new("name", Val::Str(spec.name.clone())).with_effect(Effect::ReplacesResource)];
    for (label, part) in [
        ("key.hash", Some(spec.key.hash.as_str())),
        ("key.range", spec.key.range.as_deref()),
    ] {
        if let Some(text) = key_text(attrs, part) {
            fields.push(Field::new(label, Val::Str(text)).with_effect(Effect::ReplacesResource));
        }
    }
    fields.push(Field::new(
        "billing.mode",
        Val::Str(spec.billing.mode().to_string()),
    ));
    if let Billing::Provisioned(t) = spec.billing {
        fields.push(Field::new("billing.read", Val::Int(t.read)));
        fields.push(Field::new("billing.write", Val::Int(t.write)));
    }
    let mut indexes: Vec<&IndexSpec> = spec.indexes.iter().collect();
    indexes.sort_by(|a, b| a.name.cmp(&b.name));
    for index in indexes {
        let replaced = Effect::ReplacesPart(format!(
            "replaces index {:?} ({INDEX_REPLACED})",
            index.name
        ));
        let key = index
            .key
            .attributes()
            .map(|a| format!("{a} ({})", attrs.get(a).map_or("?", |t| t.as_str())))
            .collect::<Vec<_>>()
            .join(", ");
        fields.push(
            Field::new(index_path(&index.name, "key"), Val::Str(key)).with_effect(replaced.clone()),
        );
        fields.push(
            Field::new(
                index_path(&index.name, "projection"),
                Val::Str(index.projection.kind().to_string()),
            )
            .with_effect(replaced.clone()),
        );
        if let Projection::Include(names) = &index.projection {
            fields.push(
                Field::new(
                    index_path(&index.name, "non_key_attributes"),
                    Val::Set(names.iter().cloned().collect()),
                )
                .with_effect(replaced),
            );
        }
        if let Some(t) = index.throughput {
            fields.push(Field::new(
                index_path(&index.name, "read"),
                Val::Int(t.read),
            ));
            fields.push(Field::new(
                index_path(&index.name, "write"),
                Val::Int(t.write),
            ));
        }
    }
    let stream = spec.stream.map_or("off", StreamView::as_str);
    fields.push(Field::new("stream", Val::Str(stream.to_string())));
    fields.push(Field::new(
        "deletion_protection",
        Val::Bool(spec.deletion_protection),
    ));
    if let Some(ttl) = &spec.ttl_attribute {
        fields.push(Field::new("ttl_attribute", Val::Str(ttl.clone())));
    }
    fields.push(Field::new(
        "point_in_time_recovery",
        Val::Bool(spec.point_in_time_recovery),
    ));
    for (k, v) in &spec.tags {
        fields.push(Field::new(format!("tags[{k:?}]"), Val::Str(v.clone())));
    }
    fields
}

/// Fields shown for a table about to be created: its configuration, then what AWS will
/// assign.
#[must_use]
pub fn creation_fields(spec: &TableSpec) -> Vec<Field> {
    let mut fields = flatten(spec);
    fields.push(Field::new("arn", Val::Unknown));
    if spec.stream.is_some() {
        fields.push(Field::new("stream_arn", Val::Unknown));
    }
    fields
}

/// What differs between the stack's table and the live one.
///
/// Two in-place changes get a note instead of a plain update: a stream view type change
/// (both sides on), done as disable-then-enable with a new stream ARN, and a TTL move
/// from one attribute to another, done over two applies (`TTL_MOVE`).
#[must_use]
pub fn diff(spec: &TableSpec, live: &TableLive) -> Vec<FieldDiff> {
    let mut diffs = diff_fields(&flatten(spec), &flatten(&live.config));
    for d in &mut diffs {
        let both_on = |v: &Option<Val>| matches!(v, Some(Val::Str(s)) if s != "off");
        if d.path == "stream" && both_on(&d.old) && both_on(&d.new) {
            d.effect = Effect::Note("disable, then enable: the stream gets a new ARN".into());
        }
        if d.path == "ttl_attribute" && d.old.is_some() && d.new.is_some() {
            d.effect = Effect::Note(TTL_MOVE.into());
        }
    }
    diffs
}

/// One call (or one call and its wait) of an in-place table update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableStep {
    /// `UpdateTable` deleting one index, then wait until it is gone. Also the first half of
    /// an index rebuild.
    DeleteIndex(String),
    /// One `UpdateTable` for billing, capacities and deletion protection. Planned only when
    /// at least one of them changes; `None` and empty mean "leave as is".
    Update {
        /// New billing mode and capacity.
        billing: Option<Billing>,
        /// New capacity of existing indexes.
        index_throughput: Vec<(String, Throughput)>,
        /// New deletion protection.
        deletion_protection: Option<bool>,
    },
    /// `UpdateTable` creating one index, with the attribute definitions of every key that
    /// exists once it does; then wait until the index is active.
    CreateIndex {
        /// The index.
        index: IndexSpec,
        /// Attribute definitions to send: the table key's and those of every index that
        /// exists once this one does (not of indexes created later: AWS rejects
        /// definitions no key uses).
        attributes: Vec<(String, ScalarType)>,
    },
    /// `UpdateTable` turning the stream off (without a view type, which AWS rejects).
    DisableStream,
    /// `UpdateTable` turning the stream on.
    EnableStream(StreamView),
    /// `UpdateTimeToLive`. At most one per apply (see `ttl_step`).
    SetTtl {
        /// The attribute: the old one when disabling, the new one when enabling.
        attribute: String,
        /// On or off.
        enabled: bool,
    },
    /// `UpdateContinuousBackups`.
    SetPointInTimeRecovery(bool),
    /// `TagResource` with tags to add or change.
    Tag(BTreeMap<String, String>),
    /// `UntagResource` with tag keys to remove.
    Untag(Vec<String>),
}

/// Whether an index must be deleted and created again: AWS changes only its capacity in
/// place, so a new key, key type or projection rebuilds it (with a full backfill).
fn index_rebuilt(
    wanted: &IndexSpec,
    live: &IndexSpec,
    spec: &TableSpec,
    live_table: &TableSpec,
) -> bool {
    let types = |key: &KeySchema, attrs: &BTreeMap<String, ScalarType>| {
        key.attributes()
            .map(|a| attrs.get(a).copied())
            .collect::<Vec<_>>()
    };
    wanted.key != live.key
        || wanted.projection != live.projection
        || types(&wanted.key, &spec.attributes) != types(&live.key, &live_table.attributes)
}

/// The in-place steps that turn `live` into `spec`, in the order AWS accepts them: index
/// deletes first (one per call), then one call for billing and capacities (which must name
/// every remaining index's capacity when switching to provisioned), then index creates
/// (one per call), then the stream, TTL, backups and tags, which have calls of their own.
///
/// Call only when the key schema is unchanged: a key change replaces the table.
///
/// Indexes match by name, so a renamed index is a delete plus a create. A kept index's
/// capacity is sent only when it changes, or always when switching to provisioned.
/// Deletes and creates each go in name order; tag steps never include the ownership tag.
#[must_use]
pub fn update_steps(spec: &TableSpec, live: &TableLive) -> Vec<TableStep> {
    // Exhaustive on purpose: a new field fails to compile here until it is applied (or, like the name and key, replaced).
    let TableSpec {
        name: _,
        attributes: _,
        key: _,
        billing: _,
        indexes: _,
        stream: _,
        deletion_protection: _,
        ttl_attribute: _,
        point_in_time_recovery: _,
        tags: _,
    } = spec;
    let have = &live.config;
    let mut steps = Vec::new();
    let live_index = |name: &str| have.indexes.iter().find(|i| i.name == name);
    let rebuilt: BTreeSet<&str> = spec
        .indexes
        .iter()
        .filter(|w| live_index(&w.name).is_some_and(|l| index_rebuilt(w, l, spec, have)))
        .map(|w| w.name.as_str())
        .collect();
    let mut deletes: Vec<&str> = have
        .indexes
        .iter()
        .map(|i| i.name.as_str())
        .filter(|n| rebuilt.contains(n) || !spec.indexes.iter().any(|w| w.name == *n))
        .collect();
    deletes.sort_unstable();
    steps.extend(
        deletes
            .iter()
            .map(|n| TableStep::DeleteIndex((*n).to_string())),
    );

    let kept: Vec<&IndexSpec> = spec
        .indexes
        .iter()
        .filter(|w| live_index(&w.name).is_some() && !rebuilt.contains(w.name.as_str()))
        .collect();
    let billing = (spec.billing != have.billing).then_some(spec.billing);
    let switching_to_provisioned = matches!(
        (spec.billing, have.billing),
        (Billing::Provisioned(_), Billing::PayPerRequest)
    );
    let index_throughput: Vec<(String, Throughput)> = kept
        .iter()
        .filter_map(|w| {
            let t = w.throughput?;
            let old = live_index(&w.name).and_then(|l| l.throughput);
            (switching_to_provisioned || old != Some(t)).then(|| (w.name.clone(), t))
        })
        .collect();
    let deletion_protection =
        (spec.deletion_protection != have.deletion_protection).then_some(spec.deletion_protection);
    if billing.is_some() || !index_throughput.is_empty() || deletion_protection.is_some() {
        steps.push(TableStep::Update {
            billing,
            index_throughput,
            deletion_protection,
        });
    }

    let mut existing: Vec<&IndexSpec> = kept.clone();
    let mut creates: Vec<&IndexSpec> = spec
        .indexes
        .iter()
        .filter(|w| live_index(&w.name).is_none() || rebuilt.contains(w.name.as_str()))
        .collect();
    creates.sort_by(|a, b| a.name.cmp(&b.name));
    for index in creates {
        existing.push(index);
        let mut names: BTreeSet<&str> = spec.key.attributes().collect();
        names.extend(existing.iter().flat_map(|i| i.key.attributes()));
        let attributes = names
            .into_iter()
            .filter_map(|n| spec.attributes.get(n).map(|t| (n.to_string(), *t)))
            .collect();
        steps.push(TableStep::CreateIndex {
            index: index.clone(),
            attributes,
        });
    }

    match (have.stream, spec.stream) {
        (None, Some(view)) => steps.push(TableStep::EnableStream(view)),
        (Some(_), None) => steps.push(TableStep::DisableStream),
        (Some(old), Some(new)) if old != new => {
            steps.push(TableStep::DisableStream);
            steps.push(TableStep::EnableStream(new));
        }
        _ => {}
    }
    steps.extend(ttl_step(spec, live));
    if have.point_in_time_recovery != spec.point_in_time_recovery {
        steps.push(TableStep::SetPointInTimeRecovery(
            spec.point_in_time_recovery,
        ));
    }
    let (to_tag, untag) = super::tag_changes(&spec.tags, &have.tags);
    if !to_tag.is_empty() {
        steps.push(TableStep::Tag(to_tag));
    }
    if !untag.is_empty() {
        steps.push(TableStep::Untag(untag));
    }
    steps
}

/// The one TTL call this apply may make, if any. AWS allows about one TTL change per table
/// per hour, and none while the previous one is `ENABLING`/`DISABLING`: a move to another
/// attribute disables the old one now and leaves the enable to a later apply.
fn ttl_step(spec: &TableSpec, live: &TableLive) -> Option<TableStep> {
    let have = &live.config;
    if have.ttl_attribute == spec.ttl_attribute || live.ttl_transition.is_some() {
        return None;
    }
    match (&have.ttl_attribute, &spec.ttl_attribute) {
        (Some(old), _) => Some(TableStep::SetTtl {
            attribute: old.clone(),
            enabled: false,
        }),
        (None, Some(new)) => Some(TableStep::SetTtl {
            attribute: new.clone(),
            enabled: true,
        }),
        (None, None) => None,
    }
}

/// What the reader must know about a TTL change this apply cannot finish, if any.
///
/// Two cases: a TTL change still `ENABLING`/`DISABLING` holds any other for a later apply
/// (`ttl_step` plans none); a move between two attributes takes two applies, about an
/// hour apart. Turning TTL simply on or off needs no note.
#[must_use]
pub fn ttl_note(spec: &TableSpec, live: &TableLive) -> Option<String> {
    let have = &live.config;
    if have.ttl_attribute == spec.ttl_attribute {
        return None;
    }
    let wanted = spec
        .ttl_attribute
        .as_deref()
        .map_or_else(|| "off".to_string(), |a| format!("on `{a}`"));
    if let Some(transition) = live.ttl_transition {
        return Some(format!(
            "TTL of `{}` is still {transition}; AWS accepts no other TTL change until it finishes (up to an hour), so TTL {wanted} waits for a later apply",
            spec.name
        ));
    }
    match (&have.ttl_attribute, &spec.ttl_attribute) {
        (Some(old), Some(new)) => Some(format!(
            "TTL of `{}` moves from `{old}` to `{new}` in two applies: this one disables it; AWS allows about one TTL change per hour, so run `apply` again about an hour after this one to enable it on `{new}`",
            spec.name
        )),
        _ => None,
    }
}


/// A `DynamoDB` table, as the registry knows the kind.
///
/// A unit type: `Resource` is implemented in `plan.rs` (pure planning), `ResourceIo` in
/// `aws` (the SDK calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table;

/// What apply must do to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableOp {
    /// Create it: `CreateTable` with indexes, stream and tags (the ownership tag included),
    /// wait for `ACTIVE`, then turn on TTL and point-in-time recovery if wanted.
    Create(TableSpec),
    /// Wait until the table of the same name that AWS is still deleting is gone (it holds
    /// the name until then), then create it.
    CreateAfterDeletion(TableSpec),
    /// Run these steps in order on the table with this ARN.
    Update {
        /// The table ARN (for tag calls).
        arn: String,
        /// The steps, in AWS's accepted order.
        steps: Vec<TableStep>,
    },
    /// Delete the table of this name, wait until it is gone, then create this one. Loses
    /// every item, so the data-loss guard and `--backup` see it.
    Replace(TableSpec),
    /// Delete it and wait until it is gone: destroy, or an owned table the stack no longer
    /// declares (a stray). Loses every item, like `Replace`.
    Delete,
}

#[cfg(test)]
pub(crate) mod tests;
