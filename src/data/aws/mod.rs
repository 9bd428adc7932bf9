//! The data commands' I/O half: a table's keys from `DescribeTable`, the items a seed would
//! overwrite (`BatchGetItem`), the writes (`BatchWriteItem`, 25 items a call), and paginated
//! `Scan` and `Query`.
//!
//! A throttled table answers a batch in two ways: it leaves some items (or keys)
//! unprocessed, or, when it can process none, it refuses the whole call with
//! `ProvisionedThroughputExceededException` (or `ThrottlingException`,
//! `RequestLimitExceeded`) once the SDK's own few retries are spent. Both are retried here
//! with jittered exponential backoff, and only calls that make no progress count towards
//! giving up, so a slow table that writes a little each call is seeded to the end.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemError;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemError;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeySchemaElement, KeyType, KeysAndAttributes, PutRequest, WriteRequest,
};
use base64::Engine as _;

pub mod stream;

use super::query::Condition;
use super::seed::Report;
use super::{Item, KeyAttr, Keys, Plain, ScalarType, TableKeys};
use crate::aws::{Aws, AwsError, Retry};

/// Items one `BatchWriteItem` call takes at most.
pub const WRITE_BATCH: usize = 25;

/// Keys one `BatchGetItem` call takes at most.
const READ_BATCH: usize = 100;

/// An item as the SDK holds it.
pub type SdkItem = HashMap<String, AttributeValue>;

/// How long to wait before sending unprocessed or throttled items (or keys) again:
/// exponential with full jitter, as AWS advises for `BatchWriteItem`, for a bounded number
/// of calls without progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The longest first wait.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Calls in a row that write (or read) nothing before giving up; a call that makes
    /// progress starts the count, and the waits, again.
    pub attempts: u32,
}

impl Default for Backoff {
    /// 50 ms doubling to 5 s, 12 calls: about half a minute of a table that takes nothing
    /// before the command stops and says how far it got.
    fn default() -> Self {
        Self {
            first: Duration::from_millis(50),
            max: Duration::from_secs(5),
            attempts: 12,
        }
    }
}

impl Backoff {
    /// The wait after `round` calls in a row without progress (0 after a call that made
    /// some): a random time up to `first × 2^(round-1)` (`first` for 0), capped at `max`.
    fn delay(&self, round: u32) -> Duration {
        let ceiling = self
            .first
            .saturating_mul(1 << round.saturating_sub(1).min(16))
            .min(self.max);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// A plain value as a `DynamoDB` attribute value.
#[must_use]
pub fn to_attr(value: &Plain) -> AttributeValue {
    match value {
        Plain::Null => AttributeValue::Null(true),
        Plain::Bool(b) => AttributeValue::Bool(*b),
        Plain::Number(n) => AttributeValue::N(n.clone()),
        Plain::String(s) => AttributeValue::S(s.clone()),
        Plain::List(items) => AttributeValue::L(items.iter().map(to_attr).collect()),
        Plain::Map(map) => {
            AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect())
        }
    }
}

/// Defines `$name`, turning an attribute value of `$sdk` (`DynamoDB`'s or the Streams
/// API's, the same shape in two crates) into a plain value: sets become lists, binary its
/// base64 text.
macro_rules! plain_of {
    ($name:ident, $sdk:ident) => {
        /// An attribute value as a plain value: sets become lists, binary its base64 text.
        #[must_use]
        pub fn $name(value: &$sdk::types::AttributeValue) -> Plain {
            use $sdk::types::AttributeValue as A;
            let b64 = |b: &aws_smithy_types::Blob| {
                Plain::String(base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
            };
            match value {
                A::S(s) => Plain::String(s.clone()),
                A::N(n) => Plain::Number(n.clone()),
                A::Bool(b) => Plain::Bool(*b),
                A::L(items) => Plain::List(items.iter().map($name).collect()),
                A::M(map) => Plain::Map(map.iter().map(|(k, v)| (k.clone(), $name(v))).collect()),
                A::Ss(set) => Plain::List(set.iter().cloned().map(Plain::String).collect()),
                A::Ns(set) => Plain::List(set.iter().cloned().map(Plain::Number).collect()),
                A::B(b) => b64(b),
                A::Bs(set) => Plain::List(set.iter().map(b64).collect()),
                // `Null(true)`, and any type a newer SDK adds.
                _ => Plain::Null,
            }
        }
    };
}

plain_of!(from_attr, aws_sdk_dynamodb);
plain_of!(from_stream_attr, aws_sdk_dynamodbstreams);

/// An item as the SDK sends it.
#[must_use]
pub fn to_item(item: &Item) -> SdkItem {
    item.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()
}

/// An item as the SDK returned it.
#[must_use]
pub fn from_item(item: &SdkItem) -> Item {
    item.iter()
        .map(|(k, v)| (k.clone(), from_attr(v)))
        .collect()
}

/// The live keys of table `table`, or `None` when it does not exist.
pub async fn keys(aws: &Aws, table: &str) -> Result<Option<TableKeys>, AwsError> {
    let out = match aws.dynamodb.describe_table().table_name(table).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(DescribeTableError::is_resource_not_found_exception) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(AwsError::call("DescribeTable", table, &e, true)),
    };
    let unexpected = |message: &str| AwsError::Unexpected {
        op: "DescribeTable",
        address: table.to_string(),
        message: message.to_string(),
    };
    let desc = out
        .table
        .ok_or_else(|| unexpected("no table description"))?;
    let types: HashMap<&str, ScalarType> = desc
        .attribute_definitions()
        .iter()
        .filter_map(|d| {
            ScalarType::parse(d.attribute_type().as_str()).map(|t| (d.attribute_name(), t))
        })
        .collect();
    let schema = |elements: &[KeySchemaElement]| -> Result<Keys, AwsError> {
        let attr = |kind: KeyType| {
            elements
                .iter()
                .find(|e| *e.key_type() == kind)
                .map(|e| {
                    let name = e.attribute_name();
                    types
                        .get(name)
                        .map(|ty| KeyAttr {
                            name: name.to_string(),
                            ty: *ty,
                        })
                        .ok_or_else(|| unexpected("a key attribute without a definition"))
                })
                .transpose()
        };
        Ok(Keys {
            hash: attr(KeyType::Hash)?
                .ok_or_else(|| unexpected("a key without a partition key"))?,
            range: attr(KeyType::Range)?,
        })
    };
    let mut indexes = Vec::new();
    for gsi in desc.global_secondary_indexes() {
        indexes.push((
            gsi.index_name().unwrap_or_default().to_string(),
            schema(gsi.key_schema())?,
        ));
    }
    for lsi in desc.local_secondary_indexes() {
        indexes.push((
            lsi.index_name().unwrap_or_default().to_string(),
            schema(lsi.key_schema())?,
        ));
    }
    Ok(Some(TableKeys {
        table: table.to_string(),
        primary: schema(desc.key_schema())?,
        indexes,
    }))
}

/// The name of the throttling error `DynamoDB` answers a `BatchWriteItem` with when it can
/// process no item of the batch, or `None` for any other error.
fn write_throttled(e: &BatchWriteItemError) -> Option<&'static str> {
    if e.is_provisioned_throughput_exceeded_exception() {
        Some("ProvisionedThroughputExceededException")
    } else if e.is_throttling_exception() {
        Some("ThrottlingException")
    } else if e.is_request_limit_exceeded() {
        Some("RequestLimitExceeded")
    } else {
        None
    }
}

/// `write_throttled` for `BatchGetItem`.
fn read_throttled(e: &BatchGetItemError) -> Option<&'static str> {
    if e.is_provisioned_throughput_exceeded_exception() {
        Some("ProvisionedThroughputExceededException")
    } else if e.is_throttling_exception() {
        Some("ThrottlingException")
    } else if e.is_request_limit_exceeded() {
        Some("RequestLimitExceeded")
    } else {
        None
    }
}

/// The items already in the table under the keys of `items`, in the order of `items`
/// (`None` where there is none), read consistently. Unprocessed keys and throttled calls
/// are retried with `backoff`, giving up after `backoff.attempts` calls in a row that read
/// nothing.
pub async fn existing(
    aws: &Aws,
    keys: &TableKeys,
    items: &[Item],
    backoff: Backoff,
) -> Result<Vec<Option<Item>>, AwsError> {
    let table = keys.table.as_str();
    let key_text = |item: &Item| -> Vec<String> {
        keys.primary
            .attrs()
            .filter_map(|a| item.get(&a.name).map(Plain::key_text))
            .collect()
    };
    let mut found: HashMap<Vec<String>, Item> = HashMap::new();
    for chunk in items.chunks(READ_BATCH) {
        let mut pending: Vec<SdkItem> = chunk.iter().map(|i| to_item(&keys.key_of(i))).collect();
        // Calls in a row that read nothing; the waits grow with it.
        let mut round = 0;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending.clone()))
                .consistent_read(true)
                .build()
                .map_err(|e| AwsError::Unexpected {
                    op: "BatchGetItem",
                    address: table.to_string(),
                    message: e.to_string(),
                })?;
            let sent = pending.len();
            let (progress, throttle) = match aws
                .dynamodb
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
            {
                Ok(out) => {
                    for item in out
                        .responses
                        .and_then(|mut r| r.remove(table))
                        .unwrap_or_default()
                    {
                        let item = from_item(&item);
                        found.insert(key_text(&item), item);
                    }
                    pending = out
                        .unprocessed_keys
                        .and_then(|mut u| u.remove(table))
                        .map(|k| k.keys)
                        .unwrap_or_default();
                    if pending.is_empty() {
                        break;
                    }
                    (pending.len() < sent, None)
                }
                Err(e) => match e.as_service_error().and_then(read_throttled) {
                    Some(name) => (false, Some(name)),
                    None => return Err(AwsError::call("BatchGetItem", table, &e, false)),
                },
            };
            round = if progress { 0 } else { round + 1 };
            if round >= backoff.attempts {
                return Err(AwsError::Call {
                    op: "BatchGetItem",
                    address: table.to_string(),
                    code: throttle.map(str::to_string),
                    message: format!(
                        "{} keys were still unread after {round} calls in a row that read nothing ({}): the table's read capacity is used up; nothing was written",
                        pending.len(),
                        throttle.unwrap_or("keys left unprocessed")
                    ),
                    retry: Retry::Busy,
                });
            }
            tokio::time::sleep(backoff.delay(round)).await;
        }
    }
    Ok(items
        .iter()
        .map(|i| found.get(&key_text(i)).cloned())
        .collect())
}

/// What a seed wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    /// Items written.
    pub items: usize,
    /// `BatchWriteItem` calls made, throttled ones included.
    pub calls: usize,
    /// Calls that sent items again (left unprocessed, or refused by throttling).
    pub resends: usize,
}

/// Why a seed stopped partway, with how far it got and which items, by key, it wrote.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A call failed with an error that waiting does not cure.
    #[error("{source}\n{report}")]
    Call {
        /// What was written before.
        written: Written,
        /// The failure.
        source: AwsError,
        /// Which items were written and which were not.
        report: Report,
    },
    /// The table took nothing in `Backoff::attempts` calls in a row.
    #[error(
        "BatchWriteItem on `{table}` wrote nothing in {rounds} calls in a row ({why}): the table's write capacity is used up\n{report}"
    )]
    Unprocessed {
        /// What was written before.
        written: Written,
        /// Items not written.
        left: usize,
        /// Calls in a row that wrote nothing.
        rounds: u32,
        /// The table.
        table: String,
        /// How the last round failed: the throttling error's name, or `items left
        /// unprocessed`.
        why: String,
        /// Which items were written and which were not.
        report: Report,
    },
}

impl WriteError {
    /// What was written before the failure.
    #[must_use]
    pub fn written(&self) -> Written {
        match self {
            Self::Call { written, .. } | Self::Unprocessed { written, .. } => *written,
        }
    }

    /// Which items were written and which were not.
    #[must_use]
    pub fn report(&self) -> &Report {
        match self {
            Self::Call { report, .. } | Self::Unprocessed { report, .. } => report,
        }
    }
}

/// Writes `items` to `table` with `BatchWriteItem`, as `write_keyed` does; a seed that
/// stops names its items by their attributes, the key not being known here.
pub async fn write(
    aws: &Aws,
    table: &str,
    items: &[Item],
    backoff: Backoff,
) -> Result<Written, WriteError> {
    write_items(aws, table, None, items, backoff).await
}

/// Writes `items` to the table of `keys` with `BatchWriteItem`, 25 a call, sending again
/// what `DynamoDB` leaves unprocessed or refuses for throughput after a backoff, until
/// every item is written or `backoff.attempts` calls in a row have written nothing; a
/// seed that stops says, by key, which items it wrote and which it did not.
pub async fn write_keyed(
    aws: &Aws,
    keys: &TableKeys,
    items: &[Item],
    backoff: Backoff,
) -> Result<Written, WriteError> {
    write_items(aws, &keys.table, Some(&keys.primary), items, backoff).await
}

/// `write_keyed`, with the key when it is known.
async fn write_items(
    aws: &Aws,
    table: &str,
    keys: Option<&Keys>,
    items: &[Item],
    backoff: Backoff,
) -> Result<Written, WriteError> {
    let mut written = Written::default();
    let mut done = vec![false; items.len()];
    let report = |done: &[bool]| Report::new(keys, items, done);
    let requests: Vec<WriteRequest> = items
        .iter()
        .map(|item| {
            let put = PutRequest::builder().set_item(Some(to_item(item))).build();
            put.map(|p| WriteRequest::builder().put_request(p).build())
        })
        .collect::<Result<_, _>>()
        .map_err(|e| WriteError::Call {
            written,
            source: AwsError::Unexpected {
                op: "BatchWriteItem",
                address: table.to_string(),
                message: e.to_string(),
            },
            report: report(&done),
        })?;
    for start in (0..items.len()).step_by(WRITE_BATCH) {
        // Indices into `items` of the batch's items not written yet.
        let mut pending: Vec<usize> = (start..items.len().min(start + WRITE_BATCH)).collect();
        let mut first = true;
        // Calls in a row that wrote nothing; the waits grow with it.
        let mut round = 0;
        loop {
            let batch: Vec<WriteRequest> = pending.iter().map(|&i| requests[i].clone()).collect();
            let answer = aws
                .dynamodb
                .batch_write_item()
                .request_items(table, batch)
                .send()
                .await;
            written.calls += 1;
            if !first {
                written.resends += 1;
            }
            first = false;
            let (progress, why) = match answer {
                Ok(out) => {
                    let left = out
                        .unprocessed_items
                        .and_then(|mut u| u.remove(table))
                        .unwrap_or_default();
                    let Some(still) = still_pending(&pending, &requests, &left) else {
                        return Err(WriteError::Call {
                            written,
                            source: AwsError::Unexpected {
                                op: "BatchWriteItem",
                                address: table.to_string(),
                                message: "it returned as unprocessed an item it was not sent"
                                    .into(),
                            },
                            report: report(&done),
                        });
                    };
                    for &i in &pending {
                        if !still.contains(&i) {
                            done[i] = true;
                            written.items += 1;
                        }
                    }
                    let progress = still.len() < pending.len();
                    pending = still;
                    if pending.is_empty() {
                        break;
                    }
                    (progress, "items left unprocessed")
                }
                Err(e) => match e.as_service_error().and_then(write_throttled) {
                    Some(name) => (false, name),
                    None => {
                        return Err(WriteError::Call {
                            written,
                            source: AwsError::call("BatchWriteItem", table, &e, false),
                            report: report(&done),
                        });
                    }
                },
            };
            round = if progress { 0 } else { round + 1 };
            if round >= backoff.attempts {
                return Err(WriteError::Unprocessed {
                    written,
                    left: items.len() - written.items,
                    rounds: round,
                    table: table.to_string(),
                    why: why.to_string(),
                    report: report(&done),
                });
            }
            tokio::time::sleep(backoff.delay(round)).await;
        }
    }
    Ok(written)
}

/// Which of `pending` (indices into `requests`) `DynamoDB` left unprocessed, given the
/// requests it returned (`left`); `None` when it returned one that was not sent.
fn still_pending(
    pending: &[usize],
    requests: &[WriteRequest],
    left: &[WriteRequest],
) -> Option<Vec<usize>> {
    let mut still: Vec<usize> = Vec::with_capacity(left.len());
    for request in left {
        let i = pending
            .iter()
            .copied()
            .find(|&i| !still.contains(&i) && requests.get(i) == Some(request))?;
        still.push(i);
    }
    still.sort_unstable();
    Some(still)
}

/// Reads `table` page by page (consistently, so a seed just written is seen), up to
/// `limit` items, handing each page to `page`.
pub async fn scan(
    aws: &Aws,
    table: &str,
    limit: Option<usize>,
    page: impl FnMut(Vec<Item>),
) -> Result<usize, AwsError> {
    pages(limit, page, |size, start| async move {
        let out = aws
            .dynamodb
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_limit(size)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| AwsError::call("Scan", table, &e, true))?;
        Ok((out.items, out.last_evaluated_key))
    })
    .await
}

/// Queries `table` with `condition`, sort key descending when `newest_first`, up to
/// `limit` items, handing each page to `page`.
pub async fn query(
    aws: &Aws,
    table: &str,
    condition: &Condition,
    newest_first: bool,
    limit: Option<usize>,
    page: impl FnMut(Vec<Item>),
) -> Result<usize, AwsError> {
    pages(limit, page, |size, start| async move {
        let mut request = aws
            .dynamodb
            .query()
            .table_name(table)
            .set_index_name(condition.index.clone())
            // Global indexes are read eventually consistent only; the table strongly.
            .consistent_read(condition.index.is_none())
            .key_condition_expression(&condition.expression)
            .scan_index_forward(!newest_first)
            .set_limit(size)
            .set_exclusive_start_key(start);
        for (placeholder, name) in &condition.names {
            request = request.expression_attribute_names(placeholder, name);
        }
        for (placeholder, value) in &condition.values {
            request = request.expression_attribute_values(placeholder, to_attr(value));
        }
        let out = request
            .send()
            .await
            .map_err(|e| AwsError::call("Query", table, &e, true))?;
        Ok((out.items, out.last_evaluated_key))
    })
    .await
}

/// Follows `LastEvaluatedKey` from page to page until the last page or `limit` items:
/// `fetch(page size, start key)` reads one page.
async fn pages<F, Fut>(
    limit: Option<usize>,
    mut page: impl FnMut(Vec<Item>),
    mut fetch: F,
) -> Result<usize, AwsError>
where
    F: FnMut(Option<i32>, Option<SdkItem>) -> Fut,
    Fut: std::future::Future<Output = Result<(Option<Vec<SdkItem>>, Option<SdkItem>), AwsError>>,
{
    let mut start: Option<SdkItem> = None;
    let mut seen = 0;
    loop {
        let size = limit.map(|l| page_limit(l - seen));
        let (items, last) = fetch(size, start.take()).await?;
        let mut items: Vec<Item> = items.unwrap_or_default().iter().map(from_item).collect();
        // `Limit` bounds a page; an emulator that sends more must not print past `--limit`.
        if let Some(l) = limit {
            items.truncate(l - seen);
        }
        seen += items.len();
        page(items);
        start = last.filter(|k| !k.is_empty());
        if start.is_none() || limit.is_some_and(|l| seen >= l) {
            return Ok(seen);
        }
    }
}

/// A page size for `remaining` items (the API takes an `i32`).
fn page_limit(remaining: usize) -> i32 {
    i32::try_from(remaining).unwrap_or(i32::MAX).max(1)
}
