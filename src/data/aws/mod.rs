//! The data commands' I/O half: a table's keys from `DescribeTable`, the items a seed would
//! overwrite (`BatchGetItem`), the writes (`BatchWriteItem`, 25 items a call, unprocessed
//! items retried with backoff), and paginated `Scan` and `Query`.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeySchemaElement, KeyType, KeysAndAttributes, PutRequest, WriteRequest,
};
use base64::Engine as _;

pub mod stream;

use super::query::Condition;
use super::{Item, KeyAttr, Keys, Plain, ScalarType, TableKeys};
use crate::aws::{Aws, AwsError};

/// Items one `BatchWriteItem` call takes at most.
pub const WRITE_BATCH: usize = 25;

/// Keys one `BatchGetItem` call takes at most.
const READ_BATCH: usize = 100;

/// An item as the SDK holds it.
pub type SdkItem = HashMap<String, AttributeValue>;

/// How long to wait before sending unprocessed items (or keys) again: exponential with
/// full jitter, as AWS advises for `BatchWriteItem`, for a bounded number of rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The longest first wait.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Rounds of one batch before giving up.
    pub attempts: u32,
}

impl Default for Backoff {
    /// 50 ms doubling to 5 s, 12 rounds: about half a minute of a throttled table before
    /// the command stops and says how far it got.
    fn default() -> Self {
        Self {
            first: Duration::from_millis(50),
            max: Duration::from_secs(5),
            attempts: 12,
        }
    }
}

impl Backoff {
    /// The wait before round `round` (1-based): a random time up to `first × 2^(round-1)`,
    /// capped at `max`.
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

/// The items already in the table under the keys of `items`, in the order of `items`
/// (`None` where there is none), read consistently.
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
            let out = aws
                .dynamodb
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| AwsError::call("BatchGetItem", table, &e, true))?;
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
            if !pending.is_empty() {
                round += 1;
                if round >= backoff.attempts {
                    return Err(AwsError::Unexpected {
                        op: "BatchGetItem",
                        address: table.to_string(),
                        message: format!(
                            "{} keys were still unprocessed after {round} rounds (the table is throttled)",
                            pending.len()
                        ),
                    });
                }
                tokio::time::sleep(backoff.delay(round)).await;
            }
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
    /// `BatchWriteItem` calls made.
    pub calls: usize,
    /// Calls that resent unprocessed items.
    pub resends: usize,
}

/// Why a seed stopped partway, with how far it got.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A call failed.
    #[error("{source}")]
    Call {
        /// What was written before.
        written: Written,
        /// The failure.
        source: AwsError,
    },
    /// Items stayed unprocessed through every round of backoff.
    #[error(
        "{left} items were still unprocessed after {rounds} rounds of backoff (the table's write capacity is used up)"
    )]
    Unprocessed {
        /// What was written before.
        written: Written,
        /// Items not written.
        left: usize,
        /// Rounds tried.
        rounds: u32,
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
}

/// Writes `items` to `table` with `BatchWriteItem`, 25 a call, resending what `DynamoDB`
/// leaves unprocessed (throttling, partition limits) after a backoff until it is written
/// or `backoff.attempts` rounds have passed.
pub async fn write(
    aws: &Aws,
    table: &str,
    items: &[Item],
    backoff: Backoff,
) -> Result<Written, WriteError> {
    let mut written = Written::default();
    for chunk in items.chunks(WRITE_BATCH) {
        let mut pending: Vec<WriteRequest> = chunk
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
            })?;
        let mut round = 0;
        loop {
            let sent = pending.len();
            let out = aws
                .dynamodb
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| WriteError::Call {
                    written,
                    source: AwsError::call("BatchWriteItem", table, &e, true),
                })?;
            written.calls += 1;
            if round > 0 {
                written.resends += 1;
            }
            pending = out
                .unprocessed_items
                .and_then(|mut u| u.remove(table))
                .unwrap_or_default();
            written.items += sent - pending.len();
            if pending.is_empty() {
                break;
            }
            round += 1;
            if round >= backoff.attempts {
                let later = items.len() - written.items - pending.len();
                return Err(WriteError::Unprocessed {
                    written,
                    left: pending.len() + later,
                    rounds: round,
                });
            }
            tokio::time::sleep(backoff.delay(round)).await;
        }
    }
    Ok(written)
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
