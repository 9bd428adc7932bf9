//! The stack file's `event_source_mappings:` entries: raw serde types and validation
//! (a declared table with a stream, a declared function, batch and retry limits). Pure.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::stack::raw::{Case, words_pattern};
use crate::stack::validate::{Names, Validator, loc};

use serde_json::Value;

use super::{MappingSpec, normalize_pattern};
use crate::resources::refs::Attr;
use crate::resources::{Address, Kind};

/// The starting positions `DynamoDB` streams accept, exactly as the file spells them.
pub const STARTING_POSITIONS: [&str; 2] = ["LATEST", "TRIM_HORIZON"];

/// A stream-to-function mapping.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMapping {
    /// `false`: absent from every environment that does not `enable` it.
    #[schemars(with = "Option<bool>")]
    pub enabled: Option<Spanned<bool>>,
    /// Logical name of the table whose stream is read.
    #[schemars(with = "String")]
    pub table: Spanned<String>,
    /// Logical name of the function invoked.
    #[schemars(with = "String")]
    pub function: Spanned<String>,
    /// Records per invocation: 1 to 10,000, default 100.
    #[schemars(with = "Option<i64>")]
    pub batch_size: Option<Spanned<i64>>,
    /// `LATEST` (the default) or `TRIM_HORIZON`; `AT_TIMESTAMP` is refused for `DynamoDB`.
    #[schemars(
        with = "Option<String>",
        regex(pattern = words_pattern(&STARTING_POSITIONS, Case::Exact))
    )]
    pub starting_position: Option<Spanned<String>>,
    /// Whether it reads the stream (AWS's `Enabled`; default true). `enabled:` is the
    /// mapping's existence, as for every resource.
    #[schemars(with = "Option<bool>")]
    pub polling: Option<Spanned<bool>>,
    /// Event filter patterns (JSON).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub filter_patterns: Vec<Spanned<String>>,
    /// Retries: -1 (the default: until the record expires) to 10,000.
    #[schemars(with = "Option<i64>")]
    pub maximum_retry_attempts: Option<Spanned<i64>>,
    /// Split a failing batch (default false).
    #[schemars(with = "Option<bool>")]
    pub bisect_batch_on_function_error: Option<Spanned<bool>>,
    /// Seconds to gather records: 0 (the default) to 300.
    #[schemars(with = "Option<i64>")]
    pub maximum_batching_window_seconds: Option<Spanned<i64>>,
}

/// One `event_source_mappings:` entry: a declared table whose stream is on, a declared
/// function, a starting position `DynamoDB` streams accept (`AT_TIMESTAMP` is not one), filter
/// patterns that are JSON objects, and batch, retry and batching-window figures within
/// Lambda's limits.
pub(crate) fn mapping(
    vd: &mut Validator,
    raw: &Spanned<RawMapping>,
    declared: &Names,
) -> MappingSpec {
    let m = &raw.value;
    let table = Address::new(Kind::Table, &m.table.value);
    vd.uses(&table, loc(&m.table));
    vd.uses(
        &Address::new(Kind::Function, &m.function.value),
        loc(&m.function),
    );
    match (
        declared.declares(&table),
        declared.exports(&table, Attr::StreamArn),
    ) {
        (false, _) => vd.error(
            format!("table `{}` is not declared in this stack", m.table.value),
            loc(&m.table),
            "use the logical name of a table under `tables:`",
        ),
        (true, false) => vd.error(
            format!("table `{}` has no stream to read", m.table.value),
            loc(&m.table),
            "turn its stream on with `stream: NEW_IMAGE` (or another view type)",
        ),
        (true, true) => {}
    }
    if !declared.declares(&Address::new(Kind::Function, &m.function.value)) {
        vd.error(
            format!(
                "function `{}` is not declared in this stack",
                m.function.value
            ),
            loc(&m.function),
            "use the logical name of a function under `functions:`",
        );
    }
    let starting_position = m.starting_position.as_ref().map_or_else(
        || "LATEST".to_string(),
        |s| {
            if s.value == "AT_TIMESTAMP" {
                vd.error(
                    "`AT_TIMESTAMP` is not valid for DynamoDB streams",
                    loc(s),
                    "use `LATEST` or `TRIM_HORIZON`",
                );
                return s.value.clone();
            }
            vd.one_of("starting_position", s, &STARTING_POSITIONS)
        },
    );
    let mut filter_patterns = BTreeSet::new();
    for p in &m.filter_patterns {
        if !serde_json::from_str::<Value>(&p.value).is_ok_and(|v| v.is_object()) {
            vd.error(
                "filter pattern is not a JSON object",
                loc(p),
                r#"write it as JSON, like '{"eventName": ["INSERT"]}'"#,
            );
        }
        filter_patterns.insert(normalize_pattern(&p.value));
    }
    MappingSpec {
        table: Address::table(&m.table.value),
        function: Address::new(Kind::Function, &m.function.value),
        batch_size: m
            .batch_size
            .as_ref()
            .map_or(100, |b| vd.int_in("batch_size", b, 1, 10000)),
        starting_position,
        enabled: m.polling.as_ref().is_none_or(|e| e.value),
        filter_patterns,
        maximum_retry_attempts: m
            .maximum_retry_attempts
            .as_ref()
            .map_or(-1, |r| vd.int_in("maximum_retry_attempts", r, -1, 10000)),
        bisect_batch_on_function_error: m
            .bisect_batch_on_function_error
            .as_ref()
            .is_some_and(|b| b.value),
        maximum_batching_window_seconds: m
            .maximum_batching_window_seconds
            .as_ref()
            .map_or(0, |w| {
                vd.int_in("maximum_batching_window_seconds", w, 0, 300)
            }),
    }
}
