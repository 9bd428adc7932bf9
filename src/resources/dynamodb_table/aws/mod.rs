//! `DynamoDB` tables through the SDK: read (normalized into spec shape), create, the
//! in-place steps `update_steps` planned, and delete, each waiting for AWS's asynchronous
//! states with bounded backoff.
//!
//! Every `UpdateTable` is preceded by a wait for `ACTIVE`: AWS accepts no other update
//! while a table or one of its indexes is changing.
//!
//! What AWS does that the emulator hides, handled here: tagging is asynchronous (a second
//! tagging call meanwhile is `LimitExceededException`, so each is retried and then
//! confirmed with `ListTagsOfResource`, which may answer `ResourceNotFound` for a table
//! still `CREATING`); point-in-time recovery is unavailable for a while after
//! `CreateTable`; TTL changes about once an hour; a `DELETING` table still holds its name.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate,
    IndexStatus, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    PointInTimeRecoveryStatus, Projection as SdkProjection, ProjectionType, ProvisionedThroughput,
    ScalarAttributeType, StreamSpecification, StreamViewType, TableDescription, TableStatus, Tag,
    TimeToLiveSpecification, TimeToLiveStatus, UpdateGlobalSecondaryIndexAction,
};

use super::{
    Billing, IndexSpec, KeySchema, Projection, ScalarType, StreamView, TableLive, TableOp,
    TableSpec, TableState, TableStep, Throughput, TtlTransition,
};
use crate::apply::Run;
use crate::aws::{Api, AwsError, Poll, Retry, retry, retry_within, wait_until};
use crate::ownership;
use crate::plan::Change;
use crate::refresh::ReadContext;
use crate::resources::ResourceIo;
use crate::resources::refs::{Attr, Ref};
use crate::resources::{Kind, OWNER_TAG};
use crate::stack::Declared;

/// How long a table or stream change may take before the tool gives up.
const TABLE_TIMEOUT: Duration = Duration::from_mins(20);
/// Index backfills copy the whole table and can take hours on big tables.
const INDEX_TIMEOUT: Duration = Duration::from_hours(3);

/// A request part built from validated values: the SDK builders only refuse missing
/// required fields, so a failure here is a bug, reported as an unexpected answer.
fn built<T>(op: &'static str, name: &str, r: Result<T, BuildError>) -> Result<T, AwsError> {
    r.map_err(|e| AwsError::Unexpected {
        op,
        address: name.to_string(),
        message: format!("could not build the request: {e}"),
    })
}

/// The SDK spelling of a key attribute type.
fn scalar(t: ScalarType) -> ScalarAttributeType {
    match t {
        ScalarType::S => ScalarAttributeType::S,
        ScalarType::N => ScalarAttributeType::N,
        ScalarType::B => ScalarAttributeType::B,
    }
}

/// The SDK spelling of a stream view type.
fn view(v: StreamView) -> StreamViewType {
    match v {
        StreamView::KeysOnly => StreamViewType::KeysOnly,
        StreamView::NewImage => StreamViewType::NewImage,
        StreamView::OldImage => StreamViewType::OldImage,
        StreamView::NewAndOldImages => StreamViewType::NewAndOldImages,
    }
}

/// A key schema as `CreateTable` and index creation take it: the partition key first.
fn key_schema(
    op: &'static str,
    name: &str,
    key: &KeySchema,
) -> Result<Vec<KeySchemaElement>, AwsError> {
    let mut out = vec![built(
        op,
        name,
        KeySchemaElement::builder()
            .attribute_name(&key.hash)
            .key_type(KeyType::Hash)
            .build(),
    )?];
    if let Some(range) = &key.range {
        out.push(built(
            op,
            name,
            KeySchemaElement::builder()
                .attribute_name(range)
                .key_type(KeyType::Range)
                .build(),
        )?);
    }
    Ok(out)
}

/// Provisioned capacity as the SDK takes it.
fn throughput(
    op: &'static str,
    name: &str,
    t: Throughput,
) -> Result<ProvisionedThroughput, AwsError> {
    built(
        op,
        name,
        ProvisionedThroughput::builder()
            .read_capacity_units(t.read)
            .write_capacity_units(t.write)
            .build(),
    )
}

/// An index projection as the SDK takes it (non-key attributes only for `INCLUDE`).
fn projection(p: &Projection) -> SdkProjection {
    let b = SdkProjection::builder();
    match p {
        Projection::All => b.projection_type(ProjectionType::All).build(),
        Projection::KeysOnly => b.projection_type(ProjectionType::KeysOnly).build(),
        Projection::Include(names) => b
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(names.iter().cloned().collect()))
            .build(),
    }
}

/// Attribute definitions for exactly the given key attributes: AWS rejects a definition
/// that no key of the table or its indexes uses.
fn attribute_definitions<'a>(
    op: &'static str,
    name: &str,
    attrs: impl IntoIterator<Item = (&'a String, &'a ScalarType)>,
) -> Result<Vec<AttributeDefinition>, AwsError> {
    attrs
        .into_iter()
        .map(|(n, t)| {
            built(
                op,
                name,
                AttributeDefinition::builder()
                    .attribute_name(n)
                    .attribute_type(scalar(*t))
                    .build(),
            )
        })
        .collect()
}

/// Normalizes `DescribeTable`'s answer into spec shape. Capacity only counts under
/// provisioned billing: after a switch to on-demand AWS (and moto) may still report the
/// old figures.
///
/// Returns the configuration, the table state and the latest stream ARN (only while the
/// stream is enabled). Indexes being deleted are left out; TTL, point-in-time recovery
/// and tags come from calls of their own, so they are left off/empty for `read` to fill.
#[must_use]
pub fn normalize(desc: &TableDescription) -> (TableSpec, TableState, Option<String>) {
    let attributes: BTreeMap<String, ScalarType> = desc
        .attribute_definitions()
        .iter()
        .filter_map(|a| {
            let t = ScalarType::parse(a.attribute_type().as_str())?;
            Some((a.attribute_name().to_string(), t))
        })
        .collect();
    let key = |elements: &[KeySchemaElement]| KeySchema {
        hash: elements
            .iter()
            .find(|k| *k.key_type() == KeyType::Hash)
            .map(|k| k.attribute_name().to_string())
            .unwrap_or_default(),
        range: elements
            .iter()
            .find(|k| *k.key_type() == KeyType::Range)
            .map(|k| k.attribute_name().to_string()),
    };
    let on_demand = desc
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .is_some_and(|m| *m == BillingMode::PayPerRequest);
    let capacity = |read: Option<i64>, write: Option<i64>| Throughput {
        read: read.unwrap_or(0),
        write: write.unwrap_or(0),
    };
    let billing = if on_demand {
        Billing::PayPerRequest
    } else {
        let t = desc.provisioned_throughput();
        Billing::Provisioned(capacity(
            t.and_then(
                aws_sdk_dynamodb::types::ProvisionedThroughputDescription::read_capacity_units,
            ),
            t.and_then(
                aws_sdk_dynamodb::types::ProvisionedThroughputDescription::write_capacity_units,
            ),
        ))
    };
    let indexes = desc
        .global_secondary_indexes()
        .iter()
        // An index being deleted is already gone as far as the plan is concerned.
        .filter(|g| g.index_status() != Some(&IndexStatus::Deleting))
        .map(|g| {
            let p = g.projection();
            let projection = match p.and_then(|p| p.projection_type()) {
                Some(ProjectionType::KeysOnly) => Projection::KeysOnly,
                Some(ProjectionType::Include) => Projection::Include(
                    p.map(|p| p.non_key_attributes().iter().cloned().collect())
                        .unwrap_or_default(),
                ),
                _ => Projection::All,
            };
            let t = g.provisioned_throughput();
            IndexSpec {
                name: g.index_name().unwrap_or_default().to_string(),
                key: key(g.key_schema()),
                projection,
                throughput: (!on_demand).then(|| {
                    capacity(
                        t.and_then(aws_sdk_dynamodb::types::ProvisionedThroughputDescription::read_capacity_units),
                        t.and_then(aws_sdk_dynamodb::types::ProvisionedThroughputDescription::write_capacity_units),
                    )
                }),
            }
        })
        .collect();
    let stream = desc
        .stream_specification()
        .filter(|s| s.stream_enabled())
        .and_then(|s| s.stream_view_type())
        .and_then(|v| StreamView::parse(v.as_str()));
    let state = match desc.table_status() {
        Some(TableStatus::Active) => TableState::Active,
        Some(TableStatus::Creating) => TableState::Creating,
        Some(TableStatus::Updating) => TableState::Updating,
        Some(TableStatus::Deleting) => TableState::Deleting,
        other => TableState::Other(other.map_or("unknown", |s| s.as_str()).to_string()),
    };
    let spec = TableSpec {
        name: desc.table_name().unwrap_or_default().to_string(),
        attributes,
        key: key(desc.key_schema()),
        billing,
        indexes,
        stream,
        deletion_protection: desc.deletion_protection_enabled().unwrap_or(false),
        ttl_attribute: None,
        point_in_time_recovery: false,
        tags: BTreeMap::new(),
    };
    (
        spec,
        state,
        desc.latest_stream_arn()
            .map(str::to_string)
            .filter(|_| stream.is_some()),
    )
}

/// `DescribeTable`, with a missing table (the modeled `ResourceNotFoundException`) as `None`.
async fn describe(api: Api<'_>, name: &str) -> Result<Option<TableDescription>, AwsError> {
    match api.aws.dynamodb.describe_table().table_name(name).send().await {
        Ok(out) => Ok(out.table),
        Err(e)
            if e.as_service_error()
                .is_some_and(aws_sdk_dynamodb::operation::describe_table::DescribeTableError::is_resource_not_found_exception) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::call("DescribeTable", name, &e, false)),
    }
}

/// All the table's tags, following `NextToken`; `None` when AWS does not find the table
/// (which a table still `CREATING` may answer).
async fn list_tags(
    api: Api<'_>,
    arn: &str,
    name: &str,
) -> Result<Option<BTreeMap<String, String>>, AwsError> {
    let mut tags = BTreeMap::new();
    let mut token = None;
    // ListTagsOfResource pages (moto at 10 tags); a key listed twice keeps its last value.
    loop {
        let out = match api
            .aws.dynamodb
            .list_tags_of_resource()
            .resource_arn(arn)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_dynamodb::operation::list_tags_of_resource::ListTagsOfResourceError::is_resource_not_found_exception) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(AwsError::call("ListTagsOfResource", name, &e, false)),
        };
        for t in out.tags() {
            tags.insert(t.key().to_string(), t.value().to_string());
        }
        token = out.next_token;
        if token.is_none() {
            return Ok(Some(tags));
        }
    }
}

/// The table's tags. A table still `CREATING` may answer `ResourceNotFound` for a while:
/// that is not an error, and not "no owner" either, so the read waits (within the settling
/// budget) until the tags can be read.
async fn tags(
    api: Api<'_>,
    arn: &str,
    name: &str,
    creating: bool,
) -> Result<BTreeMap<String, String>, AwsError> {
    if !creating {
        return list_tags(api, arn, name)
            .await?
            .ok_or_else(|| AwsError::Unexpected {
                op: "ListTagsOfResource",
                address: name.to_string(),
                message:
                    "the table was described but its tags were not found; run the command again"
                        .into(),
            });
    }
    wait_until(
        api.wait(),
        api.reporter,
        "reading the tags of a table still being created",
        api.wait().settling,
        || async {
            Ok(match list_tags(api, arn, name).await? {
                Some(tags) => Poll::Ready(tags),
                None => Poll::Pending("CREATING, tags not readable yet".into()),
            })
        },
    )
    .await
}

/// The TTL attribute while TTL is on (or turning on), and the transition in progress.
async fn ttl(
    api: Api<'_>,
    name: &str,
) -> Result<(Option<String>, Option<TtlTransition>), AwsError> {
    let out = api
        .aws
        .dynamodb
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await;
    let out = match out {
        Ok(out) => out,
        // Asked before knowing whether the table exists. moto answers with the code
        // `ResourceNotFound`, which the SDK does not model; the code (never the message)
        // is checked for it.
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_resource_not_found_exception()
                    || aws_smithy_types::error::metadata::ProvideErrorMetadata::code(s)
                        == Some("ResourceNotFound")
            }) =>
        {
            return Ok((None, None));
        }
        Err(e) => return Err(AwsError::call("DescribeTimeToLive", name, &e, false)),
    };
    let Some(d) = out.time_to_live_description else {
        return Ok((None, None));
    };
    let transition = match d.time_to_live_status() {
        Some(TimeToLiveStatus::Enabling) => Some(TtlTransition::Enabling),
        Some(TimeToLiveStatus::Disabling) => Some(TtlTransition::Disabling),
        _ => None,
    };
    let on = matches!(
        d.time_to_live_status(),
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    );
    Ok((d.attribute_name.filter(|_| on), transition))
}

/// Whether point-in-time recovery is on. Asked before knowing whether the table exists,
/// so a missing table (modeled, or moto's unmodeled code) reads as off.
async fn pitr(api: Api<'_>, name: &str) -> Result<bool, AwsError> {
    // DynamoDB Local answers UnknownOperationException: it never has PITR on.
    if !api.aws.engine.has_point_in_time_recovery() {
        return Ok(false);
    }
    let out = api
        .aws
        .dynamodb
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await;
    let out = match out {
        Ok(out) => out,
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_table_not_found_exception()
                    || aws_smithy_types::error::metadata::ProvideErrorMetadata::code(s)
                        .is_some_and(|c| c.starts_with("ResourceNotFound"))
            }) =>
        {
            return Ok(false);
        }
        Err(e) => return Err(AwsError::call("DescribeContinuousBackups", name, &e, false)),
    };
    Ok(out
        .continuous_backups_description
        .and_then(|d| d.point_in_time_recovery_description)
        .and_then(|p| p.point_in_time_recovery_status)
        == Some(PointInTimeRecoveryStatus::Enabled))
}

/// Reads the table named `name`, or `None` when it does not exist. A `DELETING` table is
/// returned in that state, without tags or settings: it still holds its name, so a create
/// must wait for it to go.
///
/// `DescribeTable`, `DescribeTimeToLive` and `DescribeContinuousBackups` run concurrently
/// (each treats a missing table as absent); then `ListTagsOfResource` on the ARN, whose
/// ownership tag becomes `owner` and is removed from the user tags.
///
/// # Errors
///
/// Any of those calls failing otherwise (not retried); a table still `CREATING` whose
/// tags stay unreadable past the settling budget (`Timeout`); a table described but
/// whose tags AWS does not find (`Unexpected`, asking to run the command again).
pub async fn read(api: Api<'_>, name: &str) -> Result<Option<TableLive>, AwsError> {
    read_with(api, name, async { Ok(None) }, &BTreeMap::new()).await
}

/// `read`, taking the tags from `listing` (the Tagging API's listing of the stack's
/// resources, asked in the same round as the description) when it shows this table with
/// exactly the `wanted` tags: then no `ListTagsOfResource` is needed. A table it does not
/// list, or lists with other tags, gets its own tag read: the listing lags, and a plan must
/// never show a difference only the listing saw.
pub async fn read_with<'t>(
    api: Api<'_>,
    name: &str,
    listing: impl std::future::Future<Output = Result<Option<&'t crate::refresh::Tagged>, AwsError>>,
    wanted: &BTreeMap<String, String>,
) -> Result<Option<TableLive>, AwsError> {
    // TTL, backups and the listing need no answer of the description: asked together with
    // it, they cost no round trip of their own. Tags need the ARN it returns.
    let (desc, (ttl_attribute, ttl_transition), pitr_on, listed) = tokio::try_join!(
        describe(api, name),
        ttl(api, name),
        pitr(api, name),
        listing
    )?;
    let Some(desc) = desc else {
        return Ok(None);
    };
    let (mut config, state, stream_arn) = normalize(&desc);
    let arn = desc.table_arn().unwrap_or_default().to_string();
    let mut live = TableLive {
        config: config.clone(),
        owner: None,
        arn: arn.clone(),
        state: state.clone(),
        stream_arn,
        item_count: desc.item_count().unwrap_or(0),
        ttl_transition,
    };
    if state == TableState::Deleting {
        return Ok(Some(live));
    }
    if api.aws.engine.can_tag() {
        let confirmed = listed.and_then(|tagged| listed_tags(tagged, &arn, wanted));
        let mut tags = match confirmed {
            Some(tags) => tags,
            None => tags(api, &arn, name, state == TableState::Creating).await?,
        };
        live.owner = tags.remove(OWNER_TAG);
        config.tags = tags;
    } else {
        // No tags at all here (DynamoDB Local): the ownership record says who owns it, and
        // the stack's declared tags were set aside before planning (`fit_to_engine`).
        // The record names this very table by its creation time, so that a table made
        // by hand under a recorded name is owned by no stack.
        live.owner = ownership::owner_of(api.aws, Kind::Table, name, created_millis(&desc)).await?;
    }
    config.ttl_attribute = ttl_attribute;
    config.point_in_time_recovery = pitr_on;
    live.config = config;
    Ok(Some(live))
}

/// The tags the Tagging API's listing shows for `arn`, when they are exactly the `wanted`
/// ones plus the ownership tag (the listing holds only resources carrying it); `None`
/// otherwise, so that the table's own tag read decides.
#[must_use]
pub fn listed_tags(
    tagged: &crate::refresh::Tagged,
    arn: &str,
    wanted: &BTreeMap<String, String>,
) -> Option<BTreeMap<String, String>> {
    let tags = tagged.get(arn)?;
    let user: BTreeMap<&String, &String> = tags.iter().filter(|(k, _)| *k != OWNER_TAG).collect();
    let same = user.len() == wanted.len() && wanted.iter().all(|(k, v)| user.get(k) == Some(&v));
    (same && tags.contains_key(OWNER_TAG)).then(|| tags.clone())
}

/// Waits until the table and every index are `ACTIVE` (and `index`, when given, exists or,
/// with `gone`, does not), returning the description.
///
/// Polls `DescribeTable` with backoff; a table not found yet is pending, not an error.
/// `what` names the wait in progress lines and in the `Timeout` error after `timeout`.
/// Checking every index, not just the one changed, matters because AWS refuses an
/// `UpdateTable` while any index is still `CREATING` (backfilling) or `DELETING`.
async fn wait_active(
    api: Api<'_>,
    name: &str,
    what: &str,
    timeout: Duration,
    index: Option<(&str, bool)>,
) -> Result<TableDescription, AwsError> {
    wait_until(api.wait(), api.reporter, what, timeout, || async {
        let Some(desc) = describe(api, name).await? else {
            return Ok(Poll::Pending("not found".into()));
        };
        let table = desc
            .table_status()
            .map_or("unknown", TableStatus::as_str)
            .to_string();
        if desc.table_status() != Some(&TableStatus::Active) {
            return Ok(Poll::Pending(table));
        }
        if let Some(busy) = desc
            .global_secondary_indexes()
            .iter()
            .find(|g| g.index_status() != Some(&IndexStatus::Active))
        {
            let status = busy.index_status().map_or("unknown", IndexStatus::as_str);
            return Ok(Poll::Pending(format!(
                "index {:?} {status}",
                busy.index_name().unwrap_or("")
            )));
        }
        if let Some((index, gone)) = index {
            let present = desc
                .global_secondary_indexes()
                .iter()
                .any(|g| g.index_name() == Some(index));
            if present == gone {
                return Ok(Poll::Pending(format!(
                    "index {index:?} {}",
                    if gone {
                        "still listed"
                    } else {
                        "not listed yet"
                    }
                )));
            }
        }
        Ok(Poll::Ready(desc))
    })
    .await
}

/// Creates the table with everything `CreateTable` accepts in one call (the ownership tag
/// included, so a crash cannot leave an untagged table), waits for `ACTIVE`, then turns on
/// TTL and point-in-time recovery, which have calls of their own.
///
/// The TTL and backup calls run concurrently. The returned live view is built from the
/// last description and the spec (no read-back): item count 0, no TTL transition.
///
/// # Errors
///
/// `CreateTable` is retried only on `LimitExceededException` (too many table operations
/// at once); anything else, such as `ResourceInUseException` for a name already taken,
/// fails at once. Then a `Timeout` when the table and its indexes are not `ACTIVE`
/// within 20 minutes, or the errors of `set_ttl` and `set_pitr`.
pub async fn create(api: Api<'_>, spec: &TableSpec, stack: &str) -> Result<TableLive, AwsError> {
    const OP: &str = "CreateTable";
    let name = spec.name.as_str();
    let mut req = api
        .aws
        .dynamodb
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attribute_definitions(OP, name, &spec.attributes)?))
        .set_key_schema(Some(key_schema(OP, name, &spec.key)?))
        .deletion_protection_enabled(spec.deletion_protection);
    match spec.billing {
        Billing::Provisioned(t) => {
            req = req
                .billing_mode(BillingMode::Provisioned)
                .provisioned_throughput(throughput(OP, name, t)?);
        }
        Billing::PayPerRequest => req = req.billing_mode(BillingMode::PayPerRequest),
    }
    for index in &spec.indexes {
        let mut g = GlobalSecondaryIndex::builder()
            .index_name(&index.name)
            .set_key_schema(Some(key_schema(OP, name, &index.key)?))
            .projection(projection(&index.projection));
        if let Some(t) = index.throughput {
            g = g.provisioned_throughput(throughput(OP, name, t)?);
        }
        req = req.global_secondary_indexes(built(OP, name, g.build())?);
    }
    if let Some(v) = spec.stream {
        req = req.stream_specification(built(
            OP,
            name,
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(view(v))
                .build(),
        )?);
    }
    if api.aws.engine.can_tag() {
        let mut all_tags = spec.tags.clone();
        all_tags.insert(OWNER_TAG.to_string(), stack.to_string());
        for (k, v) in &all_tags {
            req = req.tags(built(OP, name, Tag::builder().key(k).value(v).build())?);
        }
    } else {
        // Where nothing can be tagged, the ownership record is written before the table
        // exists, so a crash between the two never leaves a table nobody owns.
        let address = api.reporter.address.to_string();
        ownership::claim(api.aws, stack, Kind::Table, &address, name, None).await?;
    }
    let created = retry(api.wait(), api.reporter, || {
        let req = req.clone();
        async move {
            match req.send().await {
                Ok(_) => Ok(true),
                // A retried create whose first answer was lost (or a crashed run's): the
                // table is there; whose it is is checked below.
                Err(e)
                    if e.as_service_error().is_some_and(
                        aws_sdk_dynamodb::operation::create_table::CreateTableError::is_resource_in_use_exception,
                    ) =>
                {
                    Ok(false)
                }
                Err(e) => {
                    let busy = e.as_service_error().is_some_and(
                        aws_sdk_dynamodb::operation::create_table::CreateTableError::is_limit_exceeded_exception,
                    );
                    Err(AwsError::call(OP, name, &e, busy))
                }
            }
        }
    })
    .await;
    let created = match created {
        Ok(created) => created,
        Err(e) => {
            // A create refused for good made no table: the claim goes with it (best effort;
            // a record left behind names no table, since it holds no creation time).
            if !api.aws.engine.can_tag() {
                let _ = ownership::release(api.aws, stack, Kind::Table, name).await;
            }
            return Err(e);
        }
    };
    if !created {
        // The table is there: this run's own if it carries this stack's ownership.
        let live = read(api, name).await?;
        api.created_earlier("CreateTable", "table", name, stack, live, |l| {
            l.owner.as_deref()
        })?;
    }
    let desc = wait_active(api, name, "creating", TABLE_TIMEOUT, None).await?;
    if !api.aws.engine.can_tag() {
        ownership::record_created(api.aws, stack, Kind::Table, name, created_millis(&desc)).await?;
    }
    let ttl = async {
        match &spec.ttl_attribute {
            Some(attribute) => set_ttl(api, name, attribute, true).await,
            None => Ok(()),
        }
    };
    let pitr = async {
        if spec.point_in_time_recovery {
            set_pitr(api, name, true).await
        } else {
            Ok(())
        }
    };
    tokio::try_join!(ttl, pitr)?;
    // The last description already says everything apply needs (the stream ARN): no
    // read-back round trip.
    let (mut config, state, stream_arn) = normalize(&desc);
    config.tags.clone_from(&spec.tags);
    config.ttl_attribute.clone_from(&spec.ttl_attribute);
    config.point_in_time_recovery = spec.point_in_time_recovery;
    Ok(TableLive {
        config,
        owner: Some(stack.to_string()),
        arn: desc.table_arn().unwrap_or_default().to_string(),
        state,
        stream_arn,
        item_count: 0,
        ttl_transition: None,
    })
}

/// One `UpdateTimeToLive`. AWS accepts about one per table per hour; a refusal is not
/// retried, but says when to run again.
///
/// `ResourceInUseException` and `LimitExceededException` are retried as busy. The call
/// is not awaited: AWS keeps the TTL `ENABLING`/`DISABLING` for a while, which the next
/// refresh sees as `ttl_transition`.
async fn set_ttl(api: Api<'_>, name: &str, attribute: &str, enabled: bool) -> Result<(), AwsError> {
    const OP: &str = "UpdateTimeToLive";
    let spec = built(
        OP,
        name,
        TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(enabled)
            .build(),
    )?;
    retry(api.wait(), api.reporter, || {
        let spec = spec.clone();
        async move {
            api.aws
                .dynamodb
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(spec)
                .send()
                .await
                .map_err(|e| {
                    let busy = e.as_service_error().is_some_and(|s| {
                        s.is_resource_in_use_exception() || s.is_limit_exceeded_exception()
                    });
                    ttl_refused(AwsError::call(OP, name, &e, busy))
                })
        }
    })
    .await?;
    Ok(())
}

/// AWS answers a TTL change within about an hour of the previous one with a plain
/// `ValidationException`: say what it means and when to try again.
fn ttl_refused(err: AwsError) -> AwsError {
    match err {
        AwsError::Call {
            op,
            address,
            code: Some(code),
            message,
            retry,
        } if code == "ValidationException" => AwsError::Call {
            op,
            address,
            message: format!(
                "{message}\n  help: AWS allows about one TTL change per table per hour; if TTL changed within the last hour, run `apply` again after that"
            ),
            code: Some(code),
            retry,
        },
        other => other,
    }
}

/// One `UpdateContinuousBackups`, retried while AWS is still setting backups up after
/// `CreateTable`.
///
/// Only `ContinuousBackupsUnavailableException` is retried (as settling, up to four
/// settling budgets); every other error fails at once.
async fn set_pitr(api: Api<'_>, name: &str, enabled: bool) -> Result<(), AwsError> {
    const OP: &str = "UpdateContinuousBackups";
    let spec = built(
        OP,
        name,
        PointInTimeRecoverySpecification::builder()
            .point_in_time_recovery_enabled(enabled)
            .build(),
    )?;
    // Right after CreateTable, backups stay unavailable for a while: the Terraform provider
    // waits up to 20 minutes; four settling budgets (20 minutes by default) match it.
    retry_within(api.wait(), api.reporter, api.wait().settling * 4, || {
        let spec = spec.clone();
        async move {
            api.aws.dynamodb
                .update_continuous_backups()
                .table_name(name)
                .point_in_time_recovery_specification(spec)
                .send()
                .await
                .map_err(|e| {
                    let settling = e
                        .as_service_error()
                        .is_some_and(aws_sdk_dynamodb::operation::update_continuous_backups::UpdateContinuousBackupsError::is_continuous_backups_unavailable_exception);
                    AwsError::classified(
                        OP,
                        name,
                        &e,
                        if settling { Retry::Settling } else { Retry::Never },
                    )
                })
        }
    })
    .await?;
    Ok(())
}

/// Sends one `UpdateTable`, retrying while AWS reports the table busy or the account at its
/// limit of concurrent table operations.
///
/// `ResourceInUseException` and `LimitExceededException` are retried as busy, up to the
/// policy's attempt count; the caller waits for `ACTIVE` before and after.
async fn update_table(
    api: Api<'_>,
    name: &str,
    req: aws_sdk_dynamodb::operation::update_table::builders::UpdateTableFluentBuilder,
) -> Result<(), AwsError> {
    retry(api.wait(), api.reporter, || {
        let req = req.clone();
        async move {
            req.send().await.map(|_| ()).map_err(|e| {
                let busy = e.as_service_error().is_some_and(|s| {
                    s.is_limit_exceeded_exception() || s.is_resource_in_use_exception()
                });
                AwsError::call("UpdateTable", name, &e, busy)
            })
        }
    })
    .await
}

/// Runs the planned in-place steps in order, waiting for `ACTIVE` before each `UpdateTable`
/// and for each index change to finish before the next.
///
/// Index deletes and creates may wait up to 3 hours (a backfill copies the table), other
/// waits 20 minutes; `Tag` and `Untag` use `arn` and are confirmed with `ListTagsOfResource`.
///
/// # Errors
///
/// The first call that fails for good or wait that times out; the steps before it stay
/// applied, and the next plan starts from what AWS then reports.
pub async fn update(
    api: Api<'_>,
    name: &str,
    arn: &str,
    steps: &[TableStep],
) -> Result<(), AwsError> {
    const OP: &str = "UpdateTable";
    for step in steps {
        let base = || api.aws.dynamodb.update_table().table_name(name);
        match step {
            TableStep::DeleteIndex(index) => {
                api.reporter.step(format!("deleting index {index:?}"));
                wait_active(api, name, "updating", TABLE_TIMEOUT, None).await?;
                let action = built(
                    OP,
                    name,
                    DeleteGlobalSecondaryIndexAction::builder()
                        .index_name(index)
                        .build(),
                )?;
                update_table(
                    api,
                    name,
                    base().global_secondary_index_updates(
                        GlobalSecondaryIndexUpdate::builder().delete(action).build(),
                    ),
                )
                .await?;
                wait_active(
                    api,
                    name,
                    &format!("deleting index {index:?}"),
                    INDEX_TIMEOUT,
                    Some((index, true)),
                )
                .await?;
            }
            TableStep::Update {
                billing,
                index_throughput,
                deletion_protection,
            } => {
                api.reporter.step("updating billing, capacity and settings");
                wait_active(api, name, "updating", TABLE_TIMEOUT, None).await?;
                let mut req = base();
                match billing {
                    Some(Billing::Provisioned(t)) => {
                        req = req
                            .billing_mode(BillingMode::Provisioned)
                            .provisioned_throughput(throughput(OP, name, *t)?);
                    }
                    Some(Billing::PayPerRequest) => {
                        req = req.billing_mode(BillingMode::PayPerRequest);
                    }
                    None => {}
                }
                for (index, t) in index_throughput {
                    let action = built(
                        OP,
                        name,
                        UpdateGlobalSecondaryIndexAction::builder()
                            .index_name(index)
                            .provisioned_throughput(throughput(OP, name, *t)?)
                            .build(),
                    )?;
                    req = req.global_secondary_index_updates(
                        GlobalSecondaryIndexUpdate::builder().update(action).build(),
                    );
                }
                if let Some(on) = deletion_protection {
                    req = req.deletion_protection_enabled(*on);
                }
                update_table(api, name, req).await?;
                wait_active(api, name, "updating", TABLE_TIMEOUT, None).await?;
            }
            TableStep::CreateIndex { index, attributes } => {
                api.reporter
                    .step(format!("creating index {:?} (backfill)", index.name));
                wait_active(api, name, "updating", TABLE_TIMEOUT, None).await?;
                let mut action = CreateGlobalSecondaryIndexAction::builder()
                    .index_name(&index.name)
                    .set_key_schema(Some(key_schema(OP, name, &index.key)?))
                    .projection(projection(&index.projection));
                if let Some(t) = index.throughput {
                    action = action.provisioned_throughput(throughput(OP, name, t)?);
                }
                let action = built(OP, name, action.build())?;
                let defs = attribute_definitions(OP, name, attributes.iter().map(|(n, t)| (n, t)))?;
                let req = base()
                    .set_attribute_definitions(Some(defs))
                    .global_secondary_index_updates(
                        GlobalSecondaryIndexUpdate::builder().create(action).build(),
                    );
                update_table(api, name, req).await?;
                wait_active(
                    api,
                    name,
                    &format!("creating index {:?}", index.name),
                    INDEX_TIMEOUT,
                    Some((&index.name, false)),
                )
                .await?;
            }
            TableStep::DisableStream => {
                api.reporter.step("disabling the stream");
                wait_active(api, name, "updating", TABLE_TIMEOUT, None).await?;
                // AWS rejects a view type when disabling.
                let spec = built(
                    OP,
                    name,
                    StreamSpecification::builder().stream_enabled(false).build(),
                )?;
                update_table(api, name, base().stream_specification(spec)).await?;
                wait_active(api, name, "disabling the stream", TABLE_TIMEOUT, None).await?;
            }
            TableStep::EnableStream(v) => {
                api.reporter.step(format!("enabling the stream ({v})"));
                wait_active(api, name, "updating", TABLE_TIMEOUT, None).await?;
                let spec = built(
                    OP,
                    name,
                    StreamSpecification::builder()
                        .stream_enabled(true)
                        .stream_view_type(view(*v))
                        .build(),
                )?;
                update_table(api, name, base().stream_specification(spec)).await?;
                wait_active(api, name, "enabling the stream", TABLE_TIMEOUT, None).await?;
            }
            TableStep::SetTtl { attribute, enabled } => {
                api.reporter.step(format!(
                    "{} TTL on {attribute:?}",
                    if *enabled { "enabling" } else { "disabling" }
                ));
                set_ttl(api, name, attribute, *enabled).await?;
            }
            TableStep::SetPointInTimeRecovery(on) => {
                api.reporter.step(format!(
                    "{} point-in-time recovery",
                    if *on { "enabling" } else { "disabling" }
                ));
                set_pitr(api, name, *on).await?;
            }
            TableStep::Tag(tags) => {
                api.reporter.step("tagging");
                let mut req = api.aws.dynamodb.tag_resource().resource_arn(arn);
                for (k, v) in tags {
                    req = req.tags(built(
                        "TagResource",
                        name,
                        Tag::builder().key(k).value(v).build(),
                    )?);
                }
                retry(api.wait(), api.reporter, || {
                    let req = req.clone();
                    async move {
                        req.send().await.map_err(|e| {
                            let busy = e.as_service_error().is_some_and(|s| {
                                s.is_limit_exceeded_exception() || s.is_resource_in_use_exception()
                            });
                            tagging_error("TagResource", name, &e, busy)
                        })
                    }
                })
                .await?;
                confirm_tags(api, arn, name, |have| {
                    tags.iter().all(|(k, v)| have.get(k) == Some(v))
                })
                .await?;
            }
            TableStep::Untag(keys) => {
                api.reporter.step("untagging");
                let keys: BTreeSet<&String> = keys.iter().collect();
                let req = api
                    .aws
                    .dynamodb
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(keys.iter().map(|k| (*k).clone()).collect()));
                retry(api.wait(), api.reporter, || {
                    let req = req.clone();
                    async move {
                        req.send().await.map_err(|e| {
                            let busy = e.as_service_error().is_some_and(|s| {
                                s.is_limit_exceeded_exception() || s.is_resource_in_use_exception()
                            });
                            tagging_error("UntagResource", name, &e, busy)
                        })
                    }
                })
                .await?;
                confirm_tags(api, arn, name, |have| {
                    keys.iter().all(|k| !have.contains_key(*k))
                })
                .await?;
            }
        }
    }
    Ok(())
}

/// A tagging call's error: `busy` (`LimitExceededException`, `ResourceInUseException`)
/// means another tagging call on the table is still running (tagging is asynchronous),
/// which settles within seconds to minutes.
fn tagging_error<E>(
    op: &'static str,
    name: &str,
    e: &aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
    busy: bool,
) -> AwsError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    AwsError::classified(
        op,
        name,
        e,
        if busy { Retry::Settling } else { Retry::Never },
    )
}

/// Waits until `ListTagsOfResource` shows what a tagging call asked for: the call only
/// starts an asynchronous change.
async fn confirm_tags(
    api: Api<'_>,
    arn: &str,
    name: &str,
    done: impl Fn(&BTreeMap<String, String>) -> bool,
) -> Result<(), AwsError> {
    wait_until(
        api.wait(),
        api.reporter,
        "confirming the tags",
        api.wait().settling,
        || async {
            Ok(match list_tags(api, arn, name).await? {
                Some(have) if done(&have) => Poll::Ready(()),
                _ => Poll::Pending("tagging in progress".into()),
            })
        },
    )
    .await
}

/// Deletes the table (waiting out an update in progress) and waits until AWS no longer
/// lists it. A table that is already gone counts as deleted.
///
/// # Errors
///
/// `DeleteTable` is retried while AWS answers `ResourceInUseException` (the table is
/// `CREATING` or `UPDATING`) or `LimitExceededException`, up to the policy's attempts;
/// any other refusal (deletion protection on, say) fails at once. Then a `Timeout` after
/// 20 minutes if the table is still listed.
pub async fn delete(api: Api<'_>, name: &str) -> Result<(), AwsError> {
    const OP: &str = "DeleteTable";
    let result = retry(api.wait(), api.reporter, || async {
        match api.aws.dynamodb.delete_table().table_name(name).send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_dynamodb::operation::delete_table::DeleteTableError::is_resource_not_found_exception) =>
            {
                Ok(false)
            }
            Err(e) => {
                // ResourceInUse: the table is CREATING or UPDATING; it will accept the delete
                // once ACTIVE.
                let busy = e.as_service_error().is_some_and(|s| {
                    s.is_resource_in_use_exception() || s.is_limit_exceeded_exception()
                });
                Err(AwsError::call(OP, name, &e, busy))
            }
        }
    })
    .await?;
    if !result {
        return Ok(());
    }
    wait_gone(api, name).await
}

/// Waits until AWS no longer lists the table: a `DELETING` table still holds its name, so
/// a table of the same name can only be created after this.
///
/// # Errors
///
/// A `DescribeTable` failure other than not-found, or a `Timeout` after 20 minutes.
pub async fn wait_gone(api: Api<'_>, name: &str) -> Result<(), AwsError> {
    wait_until(
        api.wait(),
        api.reporter,
        "destroying",
        TABLE_TIMEOUT,
        || async {
            Ok(match describe(api, name).await? {
                None => Poll::Ready(()),
                Some(desc) => Poll::Pending(
                    desc.table_status()
                        .map_or("unknown", TableStatus::as_str)
                        .to_string(),
                ),
            })
        },
    )
    .await
}

/// Whether the table holds at least one item. `ItemCount` is refreshed only every six
/// hours or so, and one eventually consistent Scan page can be empty while items exist (a
/// page stops at its size limit, and may have read only deleted items): this scans with
/// consistent reads and follows `LastEvaluatedKey` until it finds an item or the end.
///
/// Each page is a `Scan` with `Select::Count` and `Limit` 1, so no item is returned and
/// a table with items usually answers on the first page.
///
/// # Errors
///
/// A `Scan` failure; `ProvisionedThroughputExceededException` and
/// `RequestLimitExceeded` are retried as busy first.
pub async fn has_items(api: Api<'_>, name: &str) -> Result<bool, AwsError> {
    let mut start = None;
    loop {
        let out = retry(api.wait(), api.reporter, || {
            let start = start.clone();
            async move {
                api.aws
                    .dynamodb
                    .scan()
                    .table_name(name)
                    .consistent_read(true)
                    .limit(1)
                    .select(aws_sdk_dynamodb::types::Select::Count)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| {
                        let busy = e.as_service_error().is_some_and(|s| {
                            s.is_provisioned_throughput_exceeded_exception()
                                || s.is_request_limit_exceeded()
                        });
                        AwsError::call("Scan", name, &e, busy)
                    })
            }
        })
        .await?;
        if out.count() > 0 {
            return Ok(true);
        }
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(false),
        }
    }
}

/// Takes an on-demand backup and returns its ARN.
///
/// One `CreateBackup` named `<table>-<label>`, not retried. The backup is not awaited:
/// it may still be `CREATING` when this returns.
///
/// # Errors
///
/// The call failing, or an answer without a backup ARN (`Unexpected`).
pub async fn backup(api: Api<'_>, name: &str, label: &str) -> Result<String, AwsError> {
    let out = api
        .aws
        .dynamodb
        .create_backup()
        .table_name(name)
        .backup_name(format!("{name}-{label}"))
        .send()
        .await
        .map_err(|e| AwsError::call("CreateBackup", name, &e, false))?;
    out.backup_details
        .map(|d| d.backup_arn)
        .ok_or_else(|| AwsError::Unexpected {
            op: "CreateBackup",
            address: name.to_string(),
            message: "no backup ARN in the answer".into(),
        })
}

/// When the table was created, in epoch milliseconds (0 when AWS does not say).
fn created_millis(desc: &TableDescription) -> i64 {
    desc.creation_date_time()
        .and_then(|t| t.to_millis().ok())
        .unwrap_or(0)
}

/// Adds this stack's ownership tag to the table `arn` (`adopt`), and waits until it shows;
/// where nothing can be tagged (DynamoDB Local), writes the ownership record instead, naming
/// the table by its creation time.
async fn tag_as_owned(api: Api<'_>, arn: &str, stack: &str) -> Result<(), AwsError> {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    if !api.aws.engine.can_tag() {
        let address = api.reporter.address.to_string();
        let desc = describe(api, name)
            .await?
            .ok_or_else(|| AwsError::Unexpected {
                op: "DescribeTable",
                address: name.to_string(),
                message: "the table to adopt is gone".into(),
            })?;
        return ownership::claim(
            api.aws,
            stack,
            Kind::Table,
            &address,
            name,
            Some(created_millis(&desc)),
        )
        .await;
    }
    update(
        api,
        name,
        arn,
        &[TableStep::Tag(BTreeMap::from([(
            OWNER_TAG.to_string(),
            stack.to_string(),
        )]))],
    )
    .await
}

/// The I/O half of the `table` kind, over the functions above.
impl ResourceIo for super::Table {
    /// Reads by name (description, TTL, backups, tags); creates, updates, waits and deletes
    /// on the table's ARN, the data-loss probe (`Scan`) before a delete, and `CreateBackup`
    /// under `--backup`. Streams are the mapping's.
    fn permissions(
        scope: &crate::resources::permissions::Scope<'_>,
        d: &Declared<super::TableSpec>,
    ) -> Vec<crate::resources::permissions::Permission> {
        use crate::resources::permissions::{Permission, Phase};
        let arn: Vec<String> = crate::resources::arn_of(scope, &d.address)
            .into_iter()
            .collect();
        let mut change = vec![
            "dynamodb:CreateTable",
            "dynamodb:UpdateTable",
            "dynamodb:DeleteTable",
            "dynamodb:UpdateTimeToLive",
            "dynamodb:UpdateContinuousBackups",
            "dynamodb:TagResource",
            "dynamodb:UntagResource",
            "dynamodb:Scan",
        ];
        if scope.backup {
            change.push("dynamodb:CreateBackup");
        }
        vec![
            Permission::new(
                "TablesRead",
                Phase::Plan,
                &[
                    "dynamodb:DescribeTable",
                    "dynamodb:DescribeTimeToLive",
                    "dynamodb:DescribeContinuousBackups",
                    "dynamodb:ListTagsOfResource",
                ],
                arn.clone(),
            ),
            Permission::new("Tables", Phase::Change, &change, arn),
        ]
    }

    /// Tables are listed by the Resource Groups Tagging API, so owned strays are found.
    const STRAY_TYPE: Option<&'static str> = Some("dynamodb:table");

    /// The table name in `arn:aws:dynamodb:<region>:<account>:table/<name>`. ARNs with a
    /// further path (`/stream/…`, `/index/…`, `/backup/…`) name no table: `None`.
    fn stray_name(arn: &str) -> Option<String> {
        arn.split(":table/")
            .nth(1)
            .filter(|n| !n.contains('/'))
            .map(str::to_string)
    }

    /// Reads the listed table back by name: `None` when it is gone, `DELETING`, or no
    /// longer tagged with `stack`; otherwise its approximate item count and deletion
    /// protection, for the plan's notes and checks.
    async fn read_stray(
        api: Api<'_>,
        stack: &str,
        name: &str,
    ) -> Result<Option<crate::plan::Stray>, AwsError> {
        let live = read(api, name).await?.filter(|l| {
            l.state != super::TableState::Deleting && l.owner.as_deref() == Some(stack)
        });
        Ok(live.map(|l| crate::plan::Stray {
            kind: crate::resources::Kind::Table,
            name: name.to_string(),
            items: l.item_count,
            protected: l.config.deletion_protection,
        }))
    }

    /// `target` is the table ARN that `Resource::adopt` returned.
    async fn tag_owned(api: Api<'_>, target: &str, stack: &str) -> Result<(), AwsError> {
        tag_as_owned(api, target, stack).await
    }

    /// The exact check of `has_items`, never the approximate `ItemCount`.
    async fn holds_data(api: Api<'_>, name: &str) -> Result<bool, AwsError> {
        has_items(api, name).await
    }

    /// Tables hold data, so there is always a backup ARN (see `backup`).
    async fn backup(api: Api<'_>, name: &str, label: &str) -> Result<Option<String>, AwsError> {
        backup(api, name, label).await.map(Some)
    }

    /// Reads the table by its declared name (see `read_with`), its tags from the stack's
    /// one Tagging API listing when it confirms the declared ones.
    async fn read(
        api: Api<'_>,
        ctx: &ReadContext<'_>,
        d: &Declared<super::TableSpec>,
    ) -> Result<Option<super::TableLive>, AwsError> {
        // The listing may only confirm what a plan leaves alone: a table to be deleted
        // (destroy, disabled) or re-read under the lock before a change proves its owner
        // with its own tag read, since the listing may still show a table deleted and
        // made again by someone else under the same name (and so the same ARN).
        if ctx.partial || !d.enabled || ctx.mode == crate::plan::Mode::Destroy {
            return read(api, &d.spec.name).await;
        }
        read_with(api, &d.spec.name, ctx.tagged(), &d.spec.tags).await
    }

    /// Runs one `TableOp`: `Create` creates; `CreateAfterDeletion` first waits until the
    /// `DELETING` table of the same name is gone; `Update` runs the steps and reads the
    /// table back; `Replace` deletes (and waits) before creating, since both have one name;
    /// `Delete` deletes and waits. A table that ends with a stream publishes its ARN to
    /// `run.outputs` for the changes after it (a new stream gets a new ARN).
    async fn apply(
        api: Api<'_>,
        run: &Run<'_>,
        change: &Change,
        op: &TableOp,
    ) -> Result<(), AwsError> {
        let reporter = api.reporter;
        let stack = run.stack;
        let name = change.name.as_str();
        let address = &change.address;
        let out = run.outputs;
        {
            let live = match op {
                TableOp::Create(spec) => Some(create(api, spec, stack).await?),
                TableOp::CreateAfterDeletion(spec) => {
                    reporter.step("waiting for the table of this name being deleted to go");
                    wait_gone(api, name).await?;
                    Some(create(api, spec, stack).await?)
                }
                TableOp::Update { arn, steps } => {
                    update(api, name, arn, steps).await?;
                    read(api, name).await?
                }
                TableOp::Replace(spec) => {
                    // Delete first: the new table has the same name.
                    reporter.step("deleting the old table");
                    delete(api, name).await?;
                    reporter.step("creating the new table");
                    Some(create(api, spec, stack).await?)
                }
                TableOp::Delete => {
                    delete(api, name).await?;
                    // The record goes only once the table is gone (`delete` waits).
                    if !api.aws.engine.can_tag() {
                        ownership::release(api.aws, stack, Kind::Table, name).await?;
                    }
                    None
                }
            };
            if let Some(arn) = live.and_then(|l| l.stream_arn) {
                out.set(Ref::Attribute(address.clone(), Attr::StreamArn), arn);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
