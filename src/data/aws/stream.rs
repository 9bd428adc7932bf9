//! `stream tail`'s reader: the table's current stream through the DynamoDB Streams API
//! (`DescribeStream`, `GetShardIterator`, `GetRecords`), across shard generations (a
//! parent read to its end before its children, so each key's records come in order),
//! polling with backoff while nothing comes, until `--max`, `--for` or Ctrl-C. Expired
//! iterators are renewed without skipping or repeating records; trimmed records and a
//! stream that is gone end in a note, not a failure.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::operation::describe_stream::DescribeStreamError;
use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsError;
use aws_sdk_dynamodbstreams::operation::get_shard_iterator::GetShardIteratorError;
use aws_sdk_dynamodbstreams::types::{
    AttributeValue, OperationType, SequenceNumberRange, Shard, ShardIteratorType, StreamRecord,
};

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
    /// The stream is gone (the table deleted, or its stream disabled over 24 hours ago),
    /// after a note that says so: a clean end, not an error.
    Gone,
    /// The reader of the records stopped taking them (a closed pipe).
    Closed,
}

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

/// The Streams client (a scripted one in tests).
fn client(aws: &Aws) -> Client {
    aws.client(|c| crate::client!(aws_sdk_dynamodbstreams, c))
}

/// Every shard of the stream (all pages of `DescribeStream`), or `None` when the stream no
/// longer exists.
async fn shards(client: &Client, arn: &str) -> Result<Option<Vec<Shard>>, AwsError> {
    let mut out = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = match client
            .describe_stream()
            .stream_arn(arn)
            .set_exclusive_start_shard_id(start.take())
            .send()
            .await
        {
            Ok(page) => page,
            Err(e)
                if e.as_service_error()
                    .is_some_and(DescribeStreamError::is_resource_not_found_exception) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(AwsError::call("DescribeStream", arn, &e, true)),
        };
        let Some(d) = page.stream_description else {
            return Ok(Some(out));
        };
        out.extend(d.shards.unwrap_or_default());
        match d.last_evaluated_shard_id {
            Some(last) => start = Some(last),
            None => return Ok(Some(out)),
        }
    }
}

/// How `tail` paces itself, and its clock: the command's values come from `Pace::default`,
/// tests pass small waits and a fixed clock.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// The wait after a round that brought records.
    pub busy: Duration,
    /// The longest wait between rounds of a quiet stream (doubling up from `busy`).
    pub quiet: Duration,
    /// How often the shard list is read again to find new (child) shards.
    pub rescan: Duration,
    /// How often `Until::stop` and `Until::deadline` are checked while waiting.
    pub tick: Duration,
    /// The wall clock, to date when a shard was opened.
    pub now: fn() -> SystemTime,
}

impl Default for Pace {
    fn default() -> Self {
        Self {
            busy: Duration::from_millis(100),
            // AWS advises about one poll a second.
            quiet: Duration::from_secs(1),
            rescan: Duration::from_secs(10),
            tick: Duration::from_millis(50),
            now: SystemTime::now,
        }
    }
}

/// What `tail_with` hands its reader.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// A record, in stream order for its key.
    Record(Record),
    /// Something the person reading should know (records lost, the stream gone), in words.
    Note(String),
}

/// One shard being read.
#[derive(Debug)]
struct Open {
    /// Where the next `GetRecords` reads; `None` until the shard is positioned.
    iterator: Option<String>,
    /// How the shard was first positioned.
    started: ShardIteratorType,
    /// When the shard was first positioned.
    opened: SystemTime,
    /// The sequence number of the last record read from it.
    last: Option<String>,
    /// Records made before this time (Unix seconds, a minute boundary) are dropped: a `latest` iterator renewed
    /// at the trim horizon would otherwise bring back what was written before the tail.
    floor: Option<i64>,
}

/// Where a request for a shard iterator came to.
#[derive(Debug)]
enum Position {
    /// An iterator, or `None` when the shard has nothing more to read.
    At(Option<String>),
    /// The shard aged out while the stream lives: nothing more can be read from it.
    ShardGone,
    /// The stream itself is gone.
    StreamGone,
}

/// Whether to read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Read on.
    On,
    /// Stop, for this reason.
    End(Ended),
}

/// The state of one `tail`: the shards being read, those read to their end, and where
/// the records go.
struct Reader<'a, F> {
    /// The Streams client.
    client: Client,
    /// The stream's ARN.
    arn: &'a str,
    /// Waits and clock.
    pace: Pace,
    /// Shards being read, by id.
    open: BTreeMap<String, Open>,
    /// Shards read to their end (or skipped, or aged out): their children may be read.
    done: BTreeSet<String>,
    /// Whether the shard list must be read again at once (a shard ended: its children may
    /// be listed now).
    rescan: bool,
    /// Whether the last round brought any records (kept or dropped), to poll sooner.
    busy: bool,
    /// Records handed on.
    count: usize,
    /// Stop after this many records.
    max: Option<usize>,
    /// Where records and notes go.
    each: F,
}

impl<F: FnMut(Read) -> bool> Reader<'_, F> {
    /// Tells the reader `text`. Its answer is not heeded: a closed output is found by the
    /// next record.
    fn note(&mut self, text: String) {
        let _ = (self.each)(Read::Note(text));
    }

    /// Ends the tail because the stream no longer exists: a clean end, with a note.
    fn gone(&mut self) -> Flow {
        let text = format!(
            "the stream {} no longer exists: the table was deleted or its stream was disabled more than 24 hours ago",
            self.arn
        );
        self.note(text);
        Flow::End(Ended::Gone)
    }

    /// Marks `id` read to its end; its children are looked for at once.
    fn finish(&mut self, id: &str) {
        self.open.remove(id);
        self.done.insert(id.to_string());
        self.rescan = true;
    }

    /// Whether shard `id` had a position that trimming can lose: a record read, or a start
    /// other than `latest`. A shard opened at `latest` that has seen nothing had none: the
    /// records before its opening were never to be shown (DynamoDB Local answers
    /// `TrimmedDataAccessException` this way while a new stream is set up).
    fn positioned(&self, id: &str) -> bool {
        self.open
            .get(id)
            .is_some_and(|s| s.last.is_some() || s.started != ShardIteratorType::Latest)
    }

    /// Sets the record floor of `id` when it is about to be read from the trim horizon
    /// although it was opened at `latest` and has seen nothing: it has no position to go
    /// back to, and all it should show is what came after it was opened.
    fn floor_if_latest(&mut self, id: &str) {
        if let Some(shard) = self.open.get_mut(id)
            && shard.last.is_none()
            && shard.started == ShardIteratorType::Latest
        {
            // AWS rounds a record's creation time down to the second, DynamoDB Local to
            // the minute, and this machine's clock may run up to a minute ahead of
            // AWS's: the floor is the minute before the one the shard was opened in, so
            // nothing newer than the opening is ever dropped (at worst, records of up to
            // two minutes before it show).
            let opened = unix_secs(shard.opened);
            shard.floor = Some(opened - opened.rem_euclid(60) - 60);
        }
    }

    /// Reads the shard list and opens every shard that may be read now: not read yet,
    /// and whose parent is read to its end or no longer listed (aged out). A child read
    /// while its parent still has records would show a key's newer changes before its
    /// older ones.
    async fn scan(&mut self, first: bool, start: StartAt) -> Result<Flow, AwsError> {
        let Some(listed) = shards(&self.client, self.arn).await? else {
            return Ok(self.gone());
        };
        let latest = first && start == StartAt::Latest;
        if latest {
            // At the start, `latest` skips what is written already: closed shards hold
            // only that.
            for shard in &listed {
                if let (Some(id), true) = (shard.shard_id(), is_closed(shard)) {
                    self.done.insert(id.to_string());
                }
            }
        }
        let ids: BTreeSet<&str> = listed.iter().filter_map(Shard::shard_id).collect();
        for shard in &listed {
            let Some(id) = shard.shard_id() else { continue };
            if self.open.contains_key(id) || self.done.contains(id) {
                continue;
            }
            if let Some(parent) = shard.parent_shard_id()
                && ids.contains(parent)
                && !self.done.contains(parent)
            {
                continue;
            }
            // At the start of `latest`, open shards are read from now on. Any other shard
            // is read from its start: under `trim-horizon` that is the point, and a child
            // that appears later holds only what came after its parent.
            let kind = if latest {
                ShardIteratorType::Latest
            } else {
                ShardIteratorType::TrimHorizon
            };
            self.open.insert(
                id.to_string(),
                Open {
                    iterator: None,
                    started: kind.clone(),
                    opened: (self.pace.now)(),
                    last: None,
                    floor: None,
                },
            );
            let position = self.position(id, kind, None).await?;
            if let Flow::End(why) = self.settle(id, position) {
                return Ok(Flow::End(why));
            }
        }
        Ok(Flow::On)
    }

    /// An iterator of `kind` into shard `id` (after `after` when given). A position that
    /// was trimmed away (older than 24 hours) is replaced by the oldest record there is,
    /// with a note that records were lost; a missing resource is looked into.
    async fn position(
        &mut self,
        id: &str,
        mut kind: ShardIteratorType,
        mut after: Option<String>,
    ) -> Result<Position, AwsError> {
        loop {
            let result = self
                .client
                .get_shard_iterator()
                .stream_arn(self.arn)
                .shard_id(id)
                .shard_iterator_type(kind.clone())
                .set_sequence_number(after.clone())
                .send()
                .await;
            let e = match result {
                Ok(out) => return Ok(Position::At(out.shard_iterator)),
                Err(e) => e,
            };
            match e.as_service_error() {
                // Only once: the trim horizon itself cannot be trimmed away.
                Some(GetShardIteratorError::TrimmedDataAccessException(_))
                    if kind != ShardIteratorType::TrimHorizon =>
                {
                    if self.positioned(id) {
                        self.note(trimmed_note(id));
                    }
                    self.floor_if_latest(id);
                    kind = ShardIteratorType::TrimHorizon;
                    after = None;
                }
                Some(GetShardIteratorError::ResourceNotFoundException(_)) => {
                    let err = AwsError::call("GetShardIterator", id, &e, true);
                    return self.missing(id, err).await;
                }
                _ => return Err(AwsError::call("GetShardIterator", id, &e, true)),
            }
        }
    }

    /// What a `ResourceNotFoundException` about shard `id` means: the stream is gone when
    /// it cannot be described any more; the shard alone aged out when the stream no
    /// longer lists it; otherwise `err` stands.
    async fn missing(&mut self, id: &str, err: AwsError) -> Result<Position, AwsError> {
        match shards(&self.client, self.arn).await? {
            None => Ok(Position::StreamGone),
            Some(listed) if !listed.iter().any(|s| s.shard_id() == Some(id)) => {
                Ok(Position::ShardGone)
            }
            Some(_) => Err(err),
        }
    }

    /// Puts `position` into effect for the open shard `id`.
    fn settle(&mut self, id: &str, position: Position) -> Flow {
        match position {
            Position::At(Some(iterator)) => {
                if let Some(shard) = self.open.get_mut(id) {
                    shard.iterator = Some(iterator);
                }
            }
            Position::At(None) => self.finish(id),
            Position::ShardGone => {
                self.note(format!(
                    "shard {id} is no longer in the stream (its records aged out after 24 hours); reading on without it"
                ));
                self.finish(id);
            }
            Position::StreamGone => return self.gone(),
        }
        Flow::On
    }

    /// Gets shard `id` a fresh iterator after its own expired (`trimmed` false) or pointed
    /// at trimmed records (`trimmed` true): after the last record read when there is one
    /// and nothing was trimmed, else from the trim horizon.
    async fn renew(&mut self, id: &str, trimmed: bool) -> Result<Flow, AwsError> {
        let after = if trimmed {
            None
        } else {
            self.open.get(id).and_then(|s| s.last.clone())
        };
        if trimmed && self.positioned(id) {
            self.note(trimmed_note(id));
        }
        let kind = if after.is_some() {
            ShardIteratorType::AfterSequenceNumber
        } else {
            self.floor_if_latest(id);
            ShardIteratorType::TrimHorizon
        };
        let position = self.position(id, kind, after).await?;
        Ok(self.settle(id, position))
    }

    /// One `GetRecords` of shard `id`, its records handed on in order.
    async fn read(&mut self, id: &str) -> Result<Flow, AwsError> {
        let Some(iterator) = self.open.get(id).map(|s| s.iterator.clone()) else {
            return Ok(Flow::On);
        };
        let Some(iterator) = iterator else {
            self.finish(id);
            return Ok(Flow::On);
        };
        let result = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(1000)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                return match e.as_service_error() {
                    // An iterator lasts 15 minutes: a stall (a blocked pager, a sleeping
                    // laptop) outlives it.
                    Some(GetRecordsError::ExpiredIteratorException(_)) => {
                        self.renew(id, false).await
                    }
                    // The position is gone (past 24 hours, or a stream DynamoDB Local is
                    // still setting up): read from the oldest record there is, as AWS
                    // advises.
                    Some(GetRecordsError::TrimmedDataAccessException(_)) => {
                        self.renew(id, true).await
                    }
                    Some(GetRecordsError::ResourceNotFoundException(_)) => {
                        let err = AwsError::call("GetRecords", id, &e, true);
                        let position = self.missing(id, err).await?;
                        Ok(self.settle(id, position))
                    }
                    _ => Err(AwsError::call("GetRecords", id, &e, true)),
                };
            }
        };
        let records = out.records.unwrap_or_default();
        self.busy |= !records.is_empty();
        for r in records {
            let Some(change) = r.dynamodb else { continue };
            if let Some(shard) = self.open.get_mut(id) {
                if let Some(sequence) = &change.sequence_number {
                    shard.last = Some(sequence.clone());
                }
                if let Some(floor) = shard.floor {
                    // Minute precision: a record of the minute the shard was opened in
                    // may be newer than the opening, so only earlier minutes are dropped.
                    if change
                        .approximate_creation_date_time
                        .is_some_and(|t| t.secs() < floor)
                    {
                        continue;
                    }
                    // Every later record of the shard is later still.
                    shard.floor = None;
                }
            }
            if !(self.each)(Read::Record(record(id, r.event_name.as_ref(), change))) {
                return Ok(Flow::End(Ended::Closed));
            }
            self.count += 1;
            if self.max.is_some_and(|m| self.count >= m) {
                return Ok(Flow::End(Ended::Max));
            }
        }
        match out.next_shard_iterator {
            Some(next) => {
                if let Some(shard) = self.open.get_mut(id) {
                    shard.iterator = Some(next);
                }
            }
            // A closed shard read to its end: its children come next.
            None => self.finish(id),
        }
        Ok(Flow::On)
    }
}

/// Whether `shard` is closed (split or disabled): it has an ending sequence number.
fn is_closed(shard: &Shard) -> bool {
    shard
        .sequence_number_range()
        .and_then(SequenceNumberRange::ending_sequence_number)
        .is_some()
}

/// `time` in whole seconds since the Unix epoch (rounded down).
fn unix_secs(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The note for records of shard `id` trimmed before they were read.
fn trimmed_note(id: &str) -> String {
    format!(
        "records of shard {id} were trimmed (older than 24 hours) before they were read and are lost; reading on from the oldest record it still holds"
    )
}

/// The `Record` of one stream change read from shard `id`.
fn record(id: &str, event: Option<&OperationType>, change: StreamRecord) -> Record {
    let image = |m: Option<&HashMap<String, AttributeValue>>| -> Option<Item> {
        m.map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), from_stream_attr(v)))
                .collect()
        })
    };
    Record {
        time: change
            .approximate_creation_date_time
            .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok()),
        event: event.map_or_else(String::new, |e| e.as_str().to_string()),
        keys: image(change.keys.as_ref()).unwrap_or_default(),
        new_image: image(change.new_image.as_ref()),
        old_image: image(change.old_image.as_ref()),
        sequence: change.sequence_number.unwrap_or_default(),
        shard: id.to_string(),
    }
}

/// Reads `stream` from `start`, handing each record to `each` (which returns `false` to
/// stop) and writing notes to stderr, until `until` says stop; `ready` is called once every
/// shard has its iterator, so a write after it is read even from `latest`.
pub async fn tail(
    aws: &Aws,
    stream: &Stream,
    start: StartAt,
    until: Until,
    ready: impl FnOnce(),
    mut each: impl FnMut(Record) -> bool,
) -> Result<(usize, Ended), AwsError> {
    tail_with(
        aws,
        stream,
        start,
        until,
        Pace::default(),
        ready,
        |read| match read {
            Read::Record(r) => each(r),
            Read::Note(text) => {
                let _ = writeln!(std::io::stderr(), "note: {text}");
                true
            }
        },
    )
    .await
}

/// `tail` paced by `pace`, handing records and notes to `each`. A shard is read only once
/// its parent is read to its end, so that each key's records come in stream order and
/// `--max` takes the oldest.
pub async fn tail_with(
    aws: &Aws,
    stream: &Stream,
    start: StartAt,
    until: Until,
    pace: Pace,
    ready: impl FnOnce(),
    each: impl FnMut(Read) -> bool,
) -> Result<(usize, Ended), AwsError> {
    let mut ready = Some(ready);
    let mut reader = Reader {
        client: client(aws),
        arn: stream.arn.as_str(),
        pace,
        open: BTreeMap::new(),
        done: BTreeSet::new(),
        rescan: true,
        busy: false,
        count: 0,
        max: until.max,
        each,
    };
    let mut first = true;
    let mut rescan_at = Instant::now();
    let mut wait = pace.busy;
    loop {
        if reader.rescan || Instant::now() >= rescan_at {
            reader.rescan = false;
            if let Flow::End(why) = reader.scan(first, start).await? {
                return Ok((reader.count, why));
            }
            first = false;
            rescan_at = Instant::now() + pace.rescan;
            if let Some(ready) = ready.take() {
                ready();
            }
        }
        reader.busy = false;
        let ids: Vec<String> = reader.open.keys().cloned().collect();
        for id in ids {
            if let Flow::End(why) = reader.read(&id).await? {
                return Ok((reader.count, why));
            }
        }
        // A quiet stream is polled less often, up to `pace.quiet`; records reset that.
        wait = if reader.busy {
            pace.busy
        } else {
            (wait * 2).min(pace.quiet)
        };
        let wake = Instant::now() + wait;
        loop {
            if (until.stop)() {
                return Ok((reader.count, Ended::Interrupted));
            }
            if until.deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok((reader.count, Ended::Time));
            }
            if Instant::now() >= wake {
                break;
            }
            tokio::time::sleep(pace.tick).await;
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
