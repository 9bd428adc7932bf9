//! `stream tail`'s reader: the table's current stream through the DynamoDB Streams API
//! (`DescribeStream`, `GetShardIterator`, `GetRecords`), following child shards as they
//! appear, polling with backoff while nothing comes, until `--max`, `--for` or Ctrl-C.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsError;
use aws_sdk_dynamodbstreams::types::{Shard, ShardIteratorType};

use super::from_stream_attr;
use crate::aws::{Aws, AwsError};
use crate::data::Item;
use crate::data::records::{Record, StartAt};

/// A table's current stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    /// Its ARN (`LatestStreamArn`).
    pub arn: String,
    /// Its view type, like `NEW_IMAGE`.
    pub view: String,
    /// `ENABLED`, `ENABLING`, `DISABLED` or `DISABLING`, from the Streams API.
    pub status: String,
}

/// When to stop reading.
#[derive(Debug, Clone, Copy)]
pub struct Until {
    /// After this many records.
    pub max: Option<usize>,
    /// At this time.
    pub deadline: Option<Instant>,
    /// When this says so (Ctrl-C).
    pub stop: fn() -> bool,
}

/// Why reading stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// `--max` records were read.
    Max,
    /// `--for` passed.
    Time,
    /// Ctrl-C.
    Interrupted,
    /// The reader of the records stopped taking them (a closed pipe).
    Closed,
}

/// Longest wait between polls of a quiet stream (AWS advises about one poll a second).
const QUIET_MAX: Duration = Duration::from_secs(1);

/// How often the shard list is read again to find new (child) shards.
const RESCAN: Duration = Duration::from_secs(10);

/// The table's current stream, or `None` when it has none enabled.
pub async fn current(aws: &Aws, table: &str) -> Result<Option<Stream>, AwsError> {
    let out = aws
        .dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| AwsError::call("DescribeTable", table, &e, true))?;
    let Some(desc) = out.table else {
        return Ok(None);
    };
    let enabled = desc
        .stream_specification()
        .is_some_and(aws_sdk_dynamodb::types::StreamSpecification::stream_enabled);
    let (Some(arn), true) = (desc.latest_stream_arn, enabled) else {
        return Ok(None);
    };
    let described = client(aws)
        .describe_stream()
        .stream_arn(&arn)
        .limit(1)
        .send()
        .await
        .map_err(|e| AwsError::call("DescribeStream", table, &e, true))?;
    let d = described.stream_description;
    Ok(Some(Stream {
        arn,
        view: d
            .as_ref()
            .and_then(|d| d.stream_view_type())
            .map_or_else(String::new, |v| v.as_str().to_string()),
        status: d
            .as_ref()
            .and_then(|d| d.stream_status())
            .map_or_else(String::new, |s| s.as_str().to_string()),
    }))
}

fn client(aws: &Aws) -> Client {
    aws.client(Client::new)
}

/// Every shard of the stream (all pages of `DescribeStream`).
async fn shards(client: &Client, arn: &str) -> Result<Vec<Shard>, AwsError> {
    let mut out = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = client
            .describe_stream()
            .stream_arn(arn)
            .set_exclusive_start_shard_id(start.take())
            .send()
            .await
            .map_err(|e| AwsError::call("DescribeStream", arn, &e, true))?;
        let Some(d) = page.stream_description else {
            return Ok(out);
        };
        out.extend(d.shards.unwrap_or_default());
        match d.last_evaluated_shard_id {
            Some(last) => start = Some(last),
            None => return Ok(out),
        }
    }
}

/// An iterator of `kind` into `shard` (after `after` when given).
async fn iterator(
    client: &Client,
    arn: &str,
    shard: &str,
    kind: ShardIteratorType,
    after: Option<&str>,
) -> Result<Option<String>, AwsError> {
    let kind = if after.is_some() {
        ShardIteratorType::AfterSequenceNumber
    } else {
        kind
    };
    let out = client
        .get_shard_iterator()
        .stream_arn(arn)
        .shard_id(shard)
        .shard_iterator_type(kind)
        .set_sequence_number(after.map(str::to_string))
        .send()
        .await
        .map_err(|e| AwsError::call("GetShardIterator", shard, &e, true))?;
    Ok(out.shard_iterator)
}

/// Reads `stream` from `start`, handing each record to `each` (which returns `false` to
/// stop), until `until` says stop; `ready` is called once every shard has its iterator,
/// so a write after it is read even from `latest`.
pub async fn tail(
    aws: &Aws,
    stream: &Stream,
    start: StartAt,
    until: Until,
    ready: impl FnOnce(),
    mut each: impl FnMut(Record) -> bool,
) -> Result<(usize, Ended), AwsError> {
    let mut ready = Some(ready);
    let client = client(aws);
    let arn = stream.arn.as_str();
    // Open shards and their iterators; shards read to their end.
    let mut open: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut last_seen: BTreeMap<String, String> = BTreeMap::new();
    // How each shard was first positioned, to renew an iterator that expired before any
    // record came (an expired `latest` must not turn into `trim-horizon`).
    let mut started: BTreeMap<String, ShardIteratorType> = BTreeMap::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut first = true;
    let mut rescan_at = Instant::now();
    let mut quiet = Duration::from_millis(100);
    let mut count = 0;
    loop {
        if Instant::now() >= rescan_at {
            for shard in shards(&client, arn).await? {
                let Some(id) = shard.shard_id else { continue };
                if open.contains_key(&id) || done.contains(&id) {
                    continue;
                }
                let closed = shard
                    .sequence_number_range
                    .as_ref()
                    .and_then(|r| r.ending_sequence_number.as_ref())
                    .is_some();
                // At the start, `latest` skips what is written already: closed shards
                // hold only that. A shard that appears later is a child: read from its
                // start so that nothing written across the split is missed.
                let kind = match (first, start) {
                    (true, StartAt::Latest) if closed => {
                        done.insert(id);
                        continue;
                    }
                    (true, StartAt::Latest) => ShardIteratorType::Latest,
                    _ => ShardIteratorType::TrimHorizon,
                };
                let it = iterator(&client, arn, &id, kind.clone(), None).await?;
                started.insert(id.clone(), kind);
                open.insert(id, it);
            }
            first = false;
            rescan_at = Instant::now() + RESCAN;
            if let Some(ready) = ready.take() {
                ready();
            }
        }
        let mut got = 0;
        let ids: Vec<String> = open.keys().cloned().collect();
        for id in ids {
            let Some(Some(it)) = open.get(&id).cloned() else {
                open.remove(&id);
                done.insert(id);
                rescan_at = Instant::now();
                continue;
            };
            let out = match client
                .get_records()
                .shard_iterator(&it)
                .limit(1000)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e)
                    if e.as_service_error().is_some_and(|e| {
                        matches!(
                            e,
                            GetRecordsError::ExpiredIteratorException(_)
                                | GetRecordsError::TrimmedDataAccessException(_)
                        )
                    }) =>
                {
                    // An expired iterator (15 minutes) is renewed where it stopped, or as
                    // the shard was first positioned. Trimmed data means the position is
                    // gone (past 24 hours, or a stream DynamoDB Local is still setting up):
                    // read from the oldest record there is, as AWS advises.
                    let trimmed = e.as_service_error().is_some_and(|e| {
                        matches!(e, GetRecordsError::TrimmedDataAccessException(_))
                    });
                    let (kind, after) = if trimmed {
                        (ShardIteratorType::TrimHorizon, None)
                    } else {
                        (
                            started
                                .get(&id)
                                .cloned()
                                .unwrap_or(ShardIteratorType::TrimHorizon),
                            last_seen.get(&id).map(String::as_str),
                        )
                    };
                    let fresh = iterator(&client, arn, &id, kind, after).await?;
                    open.insert(id, fresh);
                    continue;
                }
                Err(e) => return Err(AwsError::call("GetRecords", &id, &e, true)),
            };
            for r in out.records.unwrap_or_default() {
                let Some(change) = r.dynamodb else { continue };
                let image = |m: Option<&std::collections::HashMap<String, _>>| -> Option<Item> {
                    m.map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), from_stream_attr(v)))
                            .collect()
                    })
                };
                let sequence = change.sequence_number.clone().unwrap_or_default();
                last_seen.insert(id.clone(), sequence.clone());
                let taken = each(Record {
                    time: change
                        .approximate_creation_date_time
                        .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
                    event: r
                        .event_name
                        .as_ref()
                        .map_or_else(String::new, |e| e.as_str().to_string()),
                    keys: image(change.keys.as_ref()).unwrap_or_default(),
                    new_image: image(change.new_image.as_ref()),
                    old_image: image(change.old_image.as_ref()),
                    sequence,
                    shard: id.clone(),
                });
                if !taken {
                    return Ok((count, Ended::Closed));
                }
                got += 1;
                count += 1;
                if until.max.is_some_and(|m| count >= m) {
                    return Ok((count, Ended::Max));
                }
            }
            open.insert(id, out.next_shard_iterator);
        }
        // A quiet stream is polled less often, up to once a second; records reset that.
        quiet = if got > 0 {
            Duration::from_millis(100)
        } else {
            (quiet * 2).min(QUIET_MAX)
        };
        let wake = Instant::now() + quiet;
        while Instant::now() < wake {
            if (until.stop)() {
                return Ok((count, Ended::Interrupted));
            }
            if until.deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok((count, Ended::Time));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
