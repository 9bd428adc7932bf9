//! Event source mappings from a table's stream to a function. Pure.
//!
//! A mapping has no name: it is found by its natural key, the function and the table, and
//! matched on the event source ARN. AWS rules: the source ARN and the starting position
//! cannot change (replace, deleting first: only one mapping per stream and function);
//! everything else changes in place. A function's deletion does not delete its mappings.

pub mod aws;
mod plan;
pub mod stack;

use std::collections::BTreeSet;

use super::{Effect, Field, FieldDiff, Val, diff_fields};

/// A mapping in spec shape, for both sides of a diff: the wanted configuration (ARNs from
/// the known values) and the live one (`aws::live`, AWS's defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingConfig {
    /// The stream ARN; `None` when not known until apply (a new or re-enabled stream).
    pub event_source_arn: Option<String>,
    /// The function's ARN.
    pub function_arn: String,
    /// Records per invocation.
    pub batch_size: i32,
    /// `LATEST` or `TRIM_HORIZON`.
    pub starting_position: String,
    /// Whether the mapping polls; read back from the state (`Disabled` and `Disabling`
    /// count as off).
    pub enabled: bool,
    /// Event filter patterns (normalized JSON text).
    pub filter_patterns: BTreeSet<String>,
    /// Retries before a batch is dropped (-1: until the record expires).
    pub maximum_retry_attempts: i32,
    /// Split a failing batch in two.
    pub bisect_batch_on_function_error: bool,
    /// Seconds to gather records before invoking.
    pub maximum_batching_window_seconds: i32,
}

/// A mapping as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingLive {
    /// Its UUID.
    pub uuid: String,
    /// Its configuration.
    pub config: MappingConfig,
    /// `Creating`, `Enabled`, `Disabled`, `Deleting`, … (`aws::read` leaves out mappings
    /// already `Deleting`).
    pub state: String,
}

/// The mapping's fields as plans show them. The source ARN (unknown until apply when it
/// is `None`) and the starting position force replacement; the rest change in place.
#[must_use]
pub fn flatten(c: &MappingConfig) -> Vec<Field> {
    // Exhaustive on purpose: a new field fails to compile here until it is shown and compared.
    let MappingConfig {
        event_source_arn: _,
        function_arn: _,
        batch_size: _,
        starting_position: _,
        enabled: _,
        filter_patterns: _,
        maximum_retry_attempts: _,
        bisect_batch_on_function_error: _,
        maximum_batching_window_seconds: _,
    } = c;
    vec![
        Field::new(
            "event_source_arn",
            c.event_source_arn.clone().map_or(Val::Unknown, Val::Str),
        )
        .with_effect(Effect::ReplacesResource),
        Field::new("starting_position", Val::Str(c.starting_position.clone()))
            .with_effect(Effect::ReplacesResource),
        Field::new("function", Val::Str(c.function_arn.clone())),
        Field::new("batch_size", Val::Int(i64::from(c.batch_size))),
        Field::new("enabled", Val::Bool(c.enabled)),
        Field::new(
            "filter_patterns",
            Val::Set(c.filter_patterns.iter().cloned().collect()),
        ),
        Field::new(
            "maximum_retry_attempts",
            Val::Int(i64::from(c.maximum_retry_attempts)),
        ),
        Field::new(
            "bisect_batch_on_function_error",
            Val::Bool(c.bisect_batch_on_function_error),
        ),
        Field::new(
            "maximum_batching_window_seconds",
            Val::Int(i64::from(c.maximum_batching_window_seconds)),
        ),
    ]
}

/// Everything `UpdateEventSourceMapping` sends: the fields AWS changes in place. The update
/// call is built from this, so a field is sent exactly when it is here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InPlace {
    /// The function, by ARN.
    pub function_arn: String,
    /// Records per invocation.
    pub batch_size: i32,
    /// Whether the mapping polls.
    pub enabled: bool,
    /// Event filter patterns (normalized JSON).
    pub filter_patterns: BTreeSet<String>,
    /// Retries of a failed batch (-1: until the record expires).
    pub maximum_retry_attempts: i32,
    /// Whether a failed batch is split in two.
    pub bisect_batch_on_function_error: bool,
    /// Seconds to gather records before invoking.
    pub maximum_batching_window_seconds: i32,
}

/// The in-place part of `c` (the source and starting position are replaced, never sent).
#[must_use]
pub fn in_place(c: &MappingConfig) -> InPlace {
    let MappingConfig {
        event_source_arn: _,
        function_arn,
        batch_size,
        starting_position: _,
        enabled,
        filter_patterns,
        maximum_retry_attempts,
        bisect_batch_on_function_error,
        maximum_batching_window_seconds,
    } = c;
    InPlace {
        function_arn: function_arn.clone(),
        batch_size: *batch_size,
        enabled: *enabled,
        filter_patterns: filter_patterns.clone(),
        maximum_retry_attempts: *maximum_retry_attempts,
        bisect_batch_on_function_error: *bisect_batch_on_function_error,
        maximum_batching_window_seconds: *maximum_batching_window_seconds,
    }
}

/// What differs, field by field over `flatten`: a new or unknown source, or another
/// starting position, replaces the mapping.
#[must_use]
pub fn diff(wanted: &MappingConfig, live: &MappingLive) -> Vec<FieldDiff> {
    diff_fields(&flatten(wanted), &flatten(&live.config))
}

/// Picks, among the live mappings for this function and table, the one to keep (on the
/// current stream, then the oldest UUID for stability) and the duplicates to delete.
/// An empty `live` keeps nothing: the mapping is to be created.
#[must_use]
pub fn choose<'a>(
    wanted: &MappingConfig,
    live: &'a [MappingLive],
) -> (Option<&'a MappingLive>, Vec<&'a MappingLive>) {
    let mut sorted: Vec<&MappingLive> = live.iter().collect();
    sorted.sort_by_key(|m| {
        (
            m.config.event_source_arn != wanted.event_source_arn,
            m.uuid.clone(),
        )
    });
    let mut it = sorted.into_iter();
    let keep = it.next();
    (keep, it.collect())
}

/// Normalizes a filter pattern so that spacing and key order do not cause diffs. Text
/// that is not JSON is kept as written (validation reports it).
#[must_use]
pub fn normalize_pattern(pattern: &str) -> String {
    serde_json::from_str::<serde_json::Value>(pattern)
        .map_or_else(|_| pattern.to_string(), |v| v.to_string())
}


/// A stream-to-function mapping, as the registry knows the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping;

/// What apply must do to one stream mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingOp {
    /// Create it on the stream of `table` (its ARN is in the config, or known after the
    /// table's change).
    Create {
        /// Wanted configuration.
        config: MappingConfig,
        /// The table whose stream it reads.
        table: super::Address,
        /// Every live mapping of the function and table, deleted first (for a replace,
        /// the old mapping too): AWS allows only one per stream and function.
        delete_first: Vec<String>,
    },
    /// Update the mapping `uuid` in place, and delete duplicates.
    Update {
        /// The mapping kept.
        uuid: String,
        /// Wanted configuration.
        config: MappingConfig,
        /// Duplicates to delete.
        duplicates: Vec<String>,
    },
    /// Delete these mappings, by UUID, each waited on until gone.
    Delete(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(source: &str) -> MappingConfig {
        MappingConfig {
            event_source_arn: Some(source.into()),
            function_arn: "arn:f".into(),
            batch_size: 1,
            starting_position: "LATEST".into(),
            enabled: true,
            filter_patterns: BTreeSet::new(),
            maximum_retry_attempts: -1,
            bisect_batch_on_function_error: false,
            maximum_batching_window_seconds: 0,
        }
    }

    fn live(uuid: &str, source: &str) -> MappingLive {
        MappingLive {
            uuid: uuid.into(),
            config: config(source),
            state: "Enabled".into(),
        }
    }

    #[test]
    fn the_mapping_on_the_current_stream_is_kept_and_the_others_are_duplicates() {
        let all = [
            live("b", "arn:stream/2"),
            live("a", "arn:stream/1"),
            live("c", "arn:stream/2"),
        ];
        let (keep, dups) = choose(&config("arn:stream/2"), &all);
        assert_eq!(keep.unwrap().uuid, "b");
        assert_eq!(
            dups.iter().map(|m| m.uuid.as_str()).collect::<Vec<_>>(),
            vec!["c", "a"]
        );
    }

    #[test]
    fn a_new_stream_forces_replacement_and_batch_size_does_not() {
        let mut wanted = config("arn:stream/2");
        wanted.batch_size = 10;
        let diffs = diff(&wanted, &live("a", "arn:stream/1"));
        assert!(
            diffs
                .iter()
                .any(|d| d.path == "event_source_arn" && d.forces_replacement())
        );
        assert!(
            diffs
                .iter()
                .any(|d| d.path == "batch_size" && !d.forces_replacement())
        );
        let unknown = MappingConfig {
            event_source_arn: None,
            ..config("x")
        };
        assert!(
            diff(&unknown, &live("a", "arn:stream/1"))
                .iter()
                .any(|d| d.new == Some(Val::Unknown) && d.forces_replacement())
        );
    }

    #[test]
    fn filter_patterns_ignore_spacing() {
        assert_eq!(
            normalize_pattern("{ \"eventName\" : [ \"INSERT\" ] }"),
            normalize_pattern("{\"eventName\":[\"INSERT\"]}")
        );
    }
}

/// A mapping as the stack declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingSpec {
    /// The table whose stream is read.
    pub table: super::Address,
    /// The function invoked.
    pub function: super::Address,
    /// Records per invocation (default 100).
    pub batch_size: i32,
    /// `LATEST` (the default) or `TRIM_HORIZON`.
    pub starting_position: String,
    /// Whether it polls (default true).
    pub enabled: bool,
    /// Normalized filter patterns.
    pub filter_patterns: BTreeSet<String>,
    /// Retries before a batch is dropped (default -1: until the record expires).
    pub maximum_retry_attempts: i32,
    /// Split a failing batch in two (default false).
    pub bisect_batch_on_function_error: bool,
    /// Seconds to gather records before invoking (default 0).
    pub maximum_batching_window_seconds: i32,
}

#[cfg(test)]
mod properties {
    //! For generated pairs of a wanted and a live mapping on the same stream and starting
    //! position, the diff is empty exactly when the update call would send nothing new.

    use proptest::prelude::*;

    use super::*;

    fn mapping() -> impl Strategy<Value = MappingConfig> {
        (
            prop::sample::select(vec!["arn:f1", "arn:f2"]),
            prop::sample::select(vec![1, 100]),
            any::<bool>(),
            prop::collection::btree_set(
                prop::sample::select(vec![r#"{"eventName":["INSERT"]}"#, r#"{"eventName":["REMOVE"]}"#]),
                0..3,
            ),
            prop::sample::select(vec![-1, 3]),
            any::<bool>(),
            prop::sample::select(vec![0, 5]),
        )
            .prop_map(|(f, batch, enabled, patterns, retries, bisect, window)| MappingConfig {
                event_source_arn: Some("arn:stream".into()),
                function_arn: f.into(),
                batch_size: batch,
                starting_position: "LATEST".into(),
                enabled,
                filter_patterns: patterns.into_iter().map(normalize_pattern).collect(),
                maximum_retry_attempts: retries,
                bisect_batch_on_function_error: bisect,
                maximum_batching_window_seconds: window,
            })
    }

    proptest! {
        #[test]
        fn the_diff_is_empty_exactly_when_the_update_sends_nothing_new(wanted in mapping(), have in mapping()) {
            let live = MappingLive { uuid: "u".into(), config: have, state: "Enabled".into() };
            prop_assert_eq!(
                diff(&wanted, &live).is_empty(),
                in_place(&wanted) == in_place(&live.config)
            );
        }
    }
}
