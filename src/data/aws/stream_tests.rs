//! SDK-seam tests of `tail_with`: the real reader against scripted Streams clients. They
//! prove stream order across shard generations (a parent before its children, `--max`
//! taking the oldest), the renewal of an expired iterator without skipping or repeating
//! records, and that trimmed records and a stream that is gone end in notes, not errors.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodbstreams::Client as Streams;
use aws_sdk_dynamodbstreams::operation::describe_stream::{
    DescribeStreamError, DescribeStreamOutput,
};
use aws_sdk_dynamodbstreams::operation::get_records::{GetRecordsError, GetRecordsOutput};
use aws_sdk_dynamodbstreams::operation::get_shard_iterator::{
    GetShardIteratorError, GetShardIteratorOutput,
};
use aws_sdk_dynamodbstreams::types::error::{
    ExpiredIteratorException, ResourceNotFoundException, TrimmedDataAccessException,
};
use aws_sdk_dynamodbstreams::types::{
    AttributeValue as A, OperationType, Record as R, SequenceNumberRange, Shard, ShardIteratorType,
    StreamDescription, StreamRecord,
};
use aws_smithy_mocks::{Rule, RuleMode, mock};
use aws_smithy_types::DateTime;

use super::*;
use crate::data::Plain;
use crate::testing::{aws_of, mock_sdk_client};

/// The stream every test reads.
const ARN: &str = "arn:aws:dynamodb:ca-central-1:1:table/messages/stream/2024-01-01T00:00:00.000";

/// The second the fixed clock stands in.
const OPENED_SECS: i64 = 1_700_000_000;

/// The fixed clock: 0.6 s into `OPENED_SECS`, so a record of that second may be older or
/// newer than the opening.
fn opened_at() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_700_000_000_600)
}

/// Waits short enough that a test takes milliseconds; the shard list is read again only
/// when a shard ends, so scripts are exact.
fn pace() -> Pace {
    Pace {
        busy: Duration::from_millis(1),
        quiet: Duration::from_millis(1),
        rescan: Duration::from_hours(1),
        tick: Duration::from_millis(1),
        now: opened_at,
    }
}

/// A shard `id` with `parent`, closed (an ending sequence number) or not.
fn shard(id: &str, parent: Option<&str>, closed: bool) -> Shard {
    let range = SequenceNumberRange::builder().starting_sequence_number("1");
    let range = if closed {
        range.ending_sequence_number("999")
    } else {
        range
    };
    Shard::builder()
        .shard_id(id)
        .set_parent_shard_id(parent.map(str::to_string))
        .sequence_number_range(range.build())
        .build()
}

/// `DescribeStream`'s answer listing `shards`.
fn listing(shards: &[Shard]) -> DescribeStreamOutput {
    DescribeStreamOutput::builder()
        .stream_description(
            StreamDescription::builder()
                .set_shards(Some(shards.to_vec()))
                .build(),
        )
        .build()
}

/// An INSERT of key `pk` with sequence number `seq`, made at Unix second `secs` when given.
fn rec(pk: &str, seq: &str, secs: Option<i64>) -> R {
    R::builder()
        .event_name(OperationType::Insert)
        .dynamodb(
            StreamRecord::builder()
                .keys("pk", A::S(pk.into()))
                .sequence_number(seq)
                .set_approximate_creation_date_time(secs.map(DateTime::from_secs))
                .build(),
        )
        .build()
}

/// `GetRecords`' answer: `records`, then `next` (none: the shard is read to its end).
fn page(records: Vec<R>, next: Option<&str>) -> GetRecordsOutput {
    GetRecordsOutput::builder()
        .set_records(Some(records))
        .set_next_shard_iterator(next.map(str::to_string))
        .build()
}

/// `GetShardIterator`'s answer.
fn iterator_out(it: &str) -> GetShardIteratorOutput {
    GetShardIteratorOutput::builder().shard_iterator(it).build()
}

/// Runs `tail_with` from `start` against `rules` in `mode` until `max` records (or two
/// seconds), collecting what it hands on.
async fn run(
    rules: &[Rule],
    mode: RuleMode,
    start: StartAt,
    max: usize,
) -> (Result<(usize, Ended), AwsError>, Vec<Read>) {
    let aws = aws_of(crate::aws::WaitPolicy::default(), |_| {});
    aws.set_client(mock_sdk_client!(aws_sdk_dynamodbstreams, mode, rules));
    let stream = Stream {
        arn: ARN.into(),
        view: "NEW_IMAGE".into(),
        status: "ENABLED".into(),
    };
    let until = Until {
        max: Some(max),
        deadline: Some(Instant::now() + Duration::from_secs(2)),
        stop: || false,
    };
    let mut seen = Vec::new();
    let result = tail_with(
        &aws,
        &stream,
        start,
        until,
        pace(),
        || {},
        |read| {
            seen.push(read);
            true
        },
    )
    .await;
    (result, seen)
}

/// The `pk` of each record handed on, in order.
fn keys(seen: &[Read]) -> Vec<String> {
    seen.iter()
        .filter_map(|read| match read {
            Read::Record(r) => match r.keys.get("pk") {
                Some(Plain::String(pk)) => Some(pk.clone()),
                other => Some(format!("{other:?}")),
            },
            Read::Note(_) => None,
        })
        .collect()
}

/// The notes handed on, in order.
fn notes(seen: &[Read]) -> Vec<&str> {
    seen.iter()
        .filter_map(|read| match read {
            Read::Note(text) => Some(text.as_str()),
            Read::Record(_) => None,
        })
        .collect()
}

/// The three-generation stream of the ordering tests: a parent whose records take two
/// pages, its child, and the child's split into two grandchildren; keys `a` and `b`
/// interleave across all of them. Every call is logged in `log`.
fn generations(log: &Arc<Mutex<Vec<String>>>) -> Vec<Rule> {
    let listed = [
        shard("shardId-1-parent", None, true),
        shard("shardId-2-child", Some("shardId-1-parent"), true),
        shard("shardId-3-grandchild-a", Some("shardId-2-child"), false),
        shard("shardId-3-grandchild-b", Some("shardId-2-child"), false),
    ];
    let (shard_log, records_log) = (Arc::clone(log), Arc::clone(log));
    vec![
        mock!(Streams::describe_stream).then_output(move || listing(&listed)),
        mock!(Streams::get_shard_iterator)
            .match_requests(|r| r.shard_iterator_type() == Some(&ShardIteratorType::TrimHorizon))
            .then_compute_output(move |r| {
                let id = r.shard_id().unwrap_or_default();
                push(&shard_log, format!("open {id}"));
                iterator_out(&format!("it-{id}"))
            }),
        mock!(Streams::get_records).then_compute_output(move |r| {
            let it = r.shard_iterator().unwrap_or_default();
            push(&records_log, format!("read {it}"));
            match it {
                "it-shardId-1-parent" => page(
                    vec![rec("a#1", "100", None), rec("b#1", "101", None)],
                    Some("it-shardId-1-parent-2"),
                ),
                "it-shardId-1-parent-2" => page(vec![rec("a#2", "102", None)], None),
                "it-shardId-2-child" => {
                    page(vec![rec("b#2", "200", None), rec("a#3", "201", None)], None)
                }
                "it-shardId-3-grandchild-a" => {
                    page(vec![rec("a#4", "300", None)], Some("it-grandchild-a-2"))
                }
                "it-shardId-3-grandchild-b" => {
                    page(vec![rec("b#3", "301", None)], Some("it-grandchild-b-2"))
                }
                quiet => page(Vec::new(), Some(quiet)),
            }
        }),
    ]
}

/// Appends `entry` to `log`.
fn push(log: &Mutex<Vec<String>>, entry: String) {
    log.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(entry);
}

/// What `log` holds now.
fn logged(log: &Mutex<Vec<String>>) -> Vec<String> {
    log.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

#[tokio::test]
async fn trim_horizon_reads_each_generation_to_its_end_before_the_next() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let rules = generations(&log);
    let (result, seen) = run(&rules, RuleMode::MatchAny, StartAt::TrimHorizon, 7).await;
    assert_eq!(result.expect("tails"), (7, Ended::Max));
    // Stream order: the parent's two pages, the child, then both grandchildren (siblings
    // of a split hold different keys, so they may be read side by side).
    assert_eq!(
        keys(&seen),
        ["a#1", "b#1", "a#2", "b#2", "a#3", "a#4", "b#3"]
    );
    let calls = logged(&log);
    let at = |entry: &str| calls.iter().position(|c| c == entry);
    assert!(
        at("read it-shardId-1-parent-2") < at("open shardId-2-child"),
        "{calls:?}"
    );
    assert!(
        at("read it-shardId-2-child") < at("open shardId-3-grandchild-a"),
        "{calls:?}"
    );
    assert!(notes(&seen).is_empty());
}

#[tokio::test]
async fn max_takes_the_oldest_records_and_no_child_is_opened_before_its_parent_ends() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let rules = generations(&log);
    let (result, seen) = run(&rules, RuleMode::MatchAny, StartAt::TrimHorizon, 3).await;
    assert_eq!(result.expect("tails"), (3, Ended::Max));
    assert_eq!(keys(&seen), ["a#1", "b#1", "a#2"]);
    assert_eq!(
        logged(&log),
        [
            "open shardId-1-parent",
            "read it-shardId-1-parent",
            "read it-shardId-1-parent-2"
        ]
    );
}

#[tokio::test]
async fn a_child_whose_parent_aged_out_is_read_at_once() {
    let listed = [shard("shardId-2-child", Some("shardId-1-aged-out"), false)];
    let rules = [
        mock!(Streams::describe_stream).then_output(move || listing(&listed)),
        mock!(Streams::get_shard_iterator)
            .match_requests(|r| {
                r.shard_id() == Some("shardId-2-child")
                    && r.shard_iterator_type() == Some(&ShardIteratorType::TrimHorizon)
            })
            .then_output(|| iterator_out("it-child")),
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("it-child"))
            .then_output(|| page(vec![rec("c#1", "1", None)], Some("it-child-2"))),
    ];
    let (result, seen) = run(&rules, RuleMode::Sequential, StartAt::TrimHorizon, 1).await;
    assert_eq!(result.expect("tails"), (1, Ended::Max));
    assert_eq!(keys(&seen), ["c#1"]);
}

#[tokio::test]
async fn an_expired_latest_iterator_renews_from_the_opening_then_after_the_last_record() {
    let listed = [shard("shardId-1", None, false)];
    let expired =
        || GetRecordsError::ExpiredIteratorException(ExpiredIteratorException::builder().build());
    let rules = [
        mock!(Streams::describe_stream).then_output(move || listing(&listed)),
        mock!(Streams::get_shard_iterator)
            .match_requests(|r| r.shard_iterator_type() == Some(&ShardIteratorType::Latest))
            .then_output(|| iterator_out("it-latest")),
        // A stall past 15 minutes before anything came.
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("it-latest"))
            .then_error(expired),
        // Nothing was seen: there is no position to go back to but the start.
        mock!(Streams::get_shard_iterator)
            .match_requests(|r| {
                r.shard_iterator_type() == Some(&ShardIteratorType::TrimHorizon)
                    && r.sequence_number().is_none()
            })
            .then_output(|| iterator_out("it-horizon")),
        // What was there before the opening's second is dropped; the opening's own second
        // is kept (second precision: it may be newer).
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("it-horizon"))
            .then_output(|| {
                page(
                    vec![
                        // Times may be rounded down to the minute, and the local clock
                        // may run a minute ahead: two minutes before the opening's is
                        // older; the minute before it may not be.
                        rec("before", "10", Some(OPENED_SECS - OPENED_SECS % 60 - 61)),
                        rec(
                            "same-second",
                            "11",
                            Some(OPENED_SECS - OPENED_SECS % 60 - 60),
                        ),
                        rec("after", "12", Some(OPENED_SECS + 1)),
                    ],
                    Some("it-horizon-2"),
                )
            }),
        // Another stall, now after a record.
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("it-horizon-2"))
            .then_error(expired),
        mock!(Streams::get_shard_iterator)
            .match_requests(|r| {
                r.shard_iterator_type() == Some(&ShardIteratorType::AfterSequenceNumber)
                    && r.sequence_number() == Some("12")
            })
            .then_output(|| iterator_out("it-after")),
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("it-after"))
            .then_output(|| page(vec![rec("next", "13", Some(OPENED_SECS + 900))], Some("x"))),
    ];
    let (result, seen) = run(&rules, RuleMode::Sequential, StartAt::Latest, 3).await;
    assert_eq!(result.expect("tails"), (3, Ended::Max));
    assert_eq!(keys(&seen), ["same-second", "after", "next"]);
    assert!(
        rules.iter().all(|r| r.num_calls() == 1),
        "each call once, in order"
    );
}

#[tokio::test]
async fn trimmed_records_reopen_the_shard_at_trim_horizon_with_a_note() {
    let listed = [shard("shardId-1", None, false)];
    let trimmed_iterator = || {
        GetShardIteratorError::TrimmedDataAccessException(
            TrimmedDataAccessException::builder().build(),
        )
    };
    let horizon =
        |r: &aws_sdk_dynamodbstreams::operation::get_shard_iterator::GetShardIteratorInput| {
            r.shard_iterator_type() == Some(&ShardIteratorType::TrimHorizon)
                && r.sequence_number().is_none()
        };
    let rules = [
        mock!(Streams::describe_stream).then_output(move || listing(&listed)),
        mock!(Streams::get_shard_iterator)
            .match_requests(|r| r.shard_iterator_type() == Some(&ShardIteratorType::Latest))
            .then_output(|| iterator_out("it-1")),
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("it-1"))
            .then_output(|| page(vec![rec("k", "5", None)], Some("it-2"))),
        // A stall of more than 24 hours: the iterator expired, and the record after the
        // last one seen is trimmed away.
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("it-2"))
            .then_error(|| {
                GetRecordsError::ExpiredIteratorException(
                    ExpiredIteratorException::builder().build(),
                )
            }),
        mock!(Streams::get_shard_iterator)
            .match_requests(|r| r.sequence_number() == Some("5"))
            .then_error(trimmed_iterator),
        mock!(Streams::get_shard_iterator)
            .match_requests(horizon)
            .then_output(|| iterator_out("it-3")),
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("it-3"))
            .then_output(|| page(vec![rec("k", "20", None)], Some("it-4"))),
        // `GetRecords` itself finds its position trimmed.
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("it-4"))
            .then_error(|| {
                GetRecordsError::TrimmedDataAccessException(
                    TrimmedDataAccessException::builder().build(),
                )
            }),
        mock!(Streams::get_shard_iterator)
            .match_requests(horizon)
            .then_output(|| iterator_out("it-5")),
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("it-5"))
            .then_output(|| page(vec![rec("k", "30", None)], Some("it-6"))),
    ];
    let (result, seen) = run(&rules, RuleMode::Sequential, StartAt::Latest, 3).await;
    assert_eq!(
        result.expect("a trimmed shard is not a failure"),
        (3, Ended::Max)
    );
    let order: Vec<String> = seen
        .iter()
        .map(|read| match read {
            Read::Record(r) => r.sequence.clone(),
            Read::Note(text) => {
                assert!(
                    text.contains("shardId-1") && text.contains("trimmed") && text.contains("lost"),
                    "{text}"
                );
                "note".into()
            }
        })
        .collect();
    assert_eq!(order, ["5", "note", "20", "note", "30"]);
    assert!(
        rules.iter().all(|r| r.num_calls() == 1),
        "each call once, in order"
    );
}

/// The note that says the stream is gone.
const GONE: &str =
    "no longer exists: the table was deleted or its stream was disabled more than 24 hours ago";

/// `DescribeStream`'s error for a stream that no longer exists.
fn stream_not_found() -> DescribeStreamError {
    DescribeStreamError::ResourceNotFoundException(ResourceNotFoundException::builder().build())
}

#[tokio::test]
async fn a_stream_gone_when_a_child_is_opened_ends_the_tail_cleanly_with_a_note() {
    let open = [shard("shardId-1", None, false)];
    let split = [
        shard("shardId-1", None, true),
        shard("shardId-2", Some("shardId-1"), false),
    ];
    let rules = [
        mock!(Streams::describe_stream).then_output(move || listing(&open)),
        mock!(Streams::get_shard_iterator)
            .match_requests(|r| r.shard_id() == Some("shardId-1"))
            .then_output(|| iterator_out("it-1")),
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("it-1"))
            .then_output(|| page(vec![rec("k", "1", None)], None)),
        mock!(Streams::describe_stream).then_output(move || listing(&split)),
        mock!(Streams::get_shard_iterator)
            .match_requests(|r| r.shard_id() == Some("shardId-2"))
            .then_error(|| {
                GetShardIteratorError::ResourceNotFoundException(
                    ResourceNotFoundException::builder().build(),
                )
            }),
        // The stream itself cannot be described: it is gone, not just a shard.
        mock!(Streams::describe_stream).then_error(stream_not_found),
    ];
    let (result, seen) = run(&rules, RuleMode::Sequential, StartAt::Latest, 5).await;
    assert_eq!(
        result.expect("a gone stream is a clean end"),
        (1, Ended::Gone)
    );
    assert_eq!(keys(&seen), ["k"]);
    let notes = notes(&seen);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains(ARN) && notes[0].contains(GONE),
        "{notes:?}"
    );
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn a_stream_gone_while_records_are_read_ends_the_tail_cleanly_with_a_note() {
    let listed = [shard("shardId-1", None, false)];
    let rules = [
        mock!(Streams::describe_stream).then_output(move || listing(&listed)),
        mock!(Streams::get_shard_iterator).then_output(|| iterator_out("it-1")),
        mock!(Streams::get_records).then_error(|| {
            GetRecordsError::ResourceNotFoundException(ResourceNotFoundException::builder().build())
        }),
        mock!(Streams::describe_stream).then_error(stream_not_found),
    ];
    let (result, seen) = run(&rules, RuleMode::Sequential, StartAt::Latest, 5).await;
    assert_eq!(
        result.expect("a gone stream is a clean end"),
        (0, Ended::Gone)
    );
    assert!(
        matches!(notes(&seen).as_slice(), [note] if note.contains(GONE)),
        "{seen:?}"
    );
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}

#[tokio::test]
async fn a_shard_that_aged_out_of_a_live_stream_is_finished_and_the_others_read_on() {
    let listed = [
        shard("shardId-a", None, true),
        shard("shardId-b", None, false),
    ];
    let remaining = [shard("shardId-b", None, false)];
    let rules = [
        mock!(Streams::describe_stream).then_output(move || listing(&listed)),
        mock!(Streams::get_shard_iterator)
            .match_requests(|r| r.shard_id() == Some("shardId-a"))
            .then_output(|| iterator_out("it-a")),
        mock!(Streams::get_shard_iterator)
            .match_requests(|r| r.shard_id() == Some("shardId-b"))
            .then_output(|| iterator_out("it-b")),
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("it-a"))
            .then_error(|| {
                GetRecordsError::ResourceNotFoundException(
                    ResourceNotFoundException::builder().build(),
                )
            }),
        // The stream lives, without shard a.
        mock!(Streams::describe_stream).then_output(move || listing(&remaining)),
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("it-b"))
            .then_output(|| page(vec![rec("b#1", "1", None)], Some("it-b-2"))),
    ];
    let (result, seen) = run(&rules, RuleMode::Sequential, StartAt::TrimHorizon, 1).await;
    assert_eq!(result.expect("tails"), (1, Ended::Max));
    assert_eq!(keys(&seen), ["b#1"]);
    assert!(
        matches!(notes(&seen).as_slice(), [note] if note.contains("shardId-a")),
        "{seen:?}"
    );
    assert!(rules.iter().all(|r| r.num_calls() == 1));
}
