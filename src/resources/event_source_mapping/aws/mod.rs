//! Event source mappings through the SDK. Found by listing the function's mappings and
//! keeping those whose source is the table's stream (ARNs compared, never names).
//!
//! Right after a role is created or changed, `CreateEventSourceMapping` can fail with
//! "Cannot access stream …": IAM has not propagated yet; that error is retried for the
//! settling budget (minutes). Deletion is asynchronous (`Deleting`), and AWS refuses it
//! with `ResourceInUseException` while the mapping is changing state: the delete waits for
//! the mapping to settle and tries again. moto answers an unknown UUID with an empty
//! success, which counts as gone.

use std::time::Duration;

use aws_sdk_lambda::operation::create_event_source_mapping::CreateEventSourceMappingError;
use aws_sdk_lambda::types::{
    EventSourceMappingConfiguration, EventSourcePosition, Filter, FilterCriteria,
};

use super::{MappingConfig, MappingLive, MappingOp, normalize_pattern};
use crate::apply::{Outputs, Run};
use crate::aws::{Api, AwsError, Poll, Retry, retry, wait_until};
use crate::plan::Change;
use crate::refresh::ReadContext;
use crate::resources::ResourceIo;
use crate::resources::refs::{Attr, Ref};
use crate::stack::Declared;

/// How long a mapping may take to be created, updated or deleted.
const MAPPING_TIMEOUT: Duration = Duration::from_mins(10);

/// A mapping as Lambda reports it, normalized: AWS's defaults for fields it leaves out, and
/// filter patterns in canonical JSON so spacing and key order cause no diff.
fn live(m: &EventSourceMappingConfiguration) -> MappingLive {
    MappingLive {
        uuid: m.uuid().unwrap_or_default().to_string(),
        config: MappingConfig {
            event_source_arn: m.event_source_arn().map(str::to_string),
            function_arn: m.function_arn().unwrap_or_default().to_string(),
            batch_size: m.batch_size().unwrap_or(100),
            starting_position: m
                .starting_position()
                .map_or("LATEST", EventSourcePosition::as_str)
                .to_string(),
            enabled: !matches!(m.state(), Some("Disabled" | "Disabling")),
            filter_patterns: m
                .filter_criteria()
                .map(|f| {
                    f.filters()
                        .iter()
                        .filter_map(|f| f.pattern())
                        .map(normalize_pattern)
                        .collect()
                })
                .unwrap_or_default(),
            maximum_retry_attempts: m.maximum_retry_attempts().unwrap_or(-1),
            bisect_batch_on_function_error: m.bisect_batch_on_function_error().unwrap_or(false),
            maximum_batching_window_seconds: m.maximum_batching_window_in_seconds().unwrap_or(0),
        },
        state: m.state().unwrap_or("Enabled").to_string(),
    }
}

/// From how many declared mappings a refresh tries one account-wide listing instead of a
/// listing per function. Below it, per-function listings all go out in one round and the
/// account's other mappings are never paged through.
pub const LISTING_FROM: usize = 3;

/// Every mapping of the account and region, listed without a function filter (100 a
/// page), unless that takes more than `max_pages` pages: `None` then, and each mapping
/// is read by its function instead. An account's other mappings grow the listing, not the
/// stack's; the cap keeps the listing cheaper than the per-function reads it replaces.
pub async fn list_all(
    api: Api<'_>,
    max_pages: usize,
) -> Result<Option<Vec<EventSourceMappingConfiguration>>, AwsError> {
    let mut out = Vec::new();
    let mut marker = None;
    for _ in 0..max_pages {
        let page = api
            .aws
            .lambda
            .list_event_source_mappings()
            .max_items(100)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| AwsError::call("ListEventSourceMappings", "every mapping", &e, false))?;
        out.extend(page.event_source_mappings().iter().cloned());
        marker = page.next_marker;
        if marker.is_none() {
            return Ok(Some(out));
        }
    }
    Ok(None)
}

/// The mappings of `function` in an account-wide listing, on `table`'s stream when given,
/// as `read` answers them.
#[must_use]
pub fn of_function(
    all: &[EventSourceMappingConfiguration],
    function: &str,
    table: Option<&str>,
) -> Vec<MappingLive> {
    let suffix = format!(":function:{function}");
    all.iter()
        .filter(|m| m.function_arn().is_some_and(|a| a.ends_with(&suffix)))
        .filter(|m| {
            table.is_none_or(|t| {
                m.event_source_arn()
                    .is_some_and(|a| a.contains(&format!(":table/{t}/stream/")))
            })
        })
        .filter(|m| !matches!(m.state(), Some("Deleting")))
        .map(live)
        .collect()
}

/// Every mapping of the function named `function` whose source is a stream of `table`
/// (any of its streams, so a mapping left on an older stream is found too); all of the
/// function's mappings when `table` is `None`. Listed by the function's name, as created:
/// moto compares `FunctionName` as plain text.
///
/// Pages through `ListEventSourceMappings`, leaving out mappings already `Deleting`; a
/// function Lambda does not know (`ResourceNotFoundException`) has no mappings.
pub async fn read(
    api: Api<'_>,
    function: &str,
    table: Option<&str>,
) -> Result<Vec<MappingLive>, AwsError> {
    let needle = table.map(|t| format!(":table/{t}/stream/"));
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = match api
            .aws.lambda
            .list_event_source_mappings()
            .function_name(function)
            .set_marker(marker)
            .send()
            .await
        {
            Ok(page) => page,
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_lambda::operation::list_event_source_mappings::ListEventSourceMappingsError::is_resource_not_found_exception) =>
            {
                return Ok(out);
            }
            Err(e) => {
                return Err(AwsError::call(
                    "ListEventSourceMappings",
                    function,
                    &e,
                    false,
                ));
            }
        };
        out.extend(
            page.event_source_mappings()
                .iter()
                .filter(|m| {
                    needle.as_ref().is_none_or(|n| {
                        m.event_source_arn().is_some_and(|a| a.contains(n.as_str()))
                    })
                })
                .filter(|m| !matches!(m.state(), Some("Deleting")))
                .map(live),
        );
        marker = page.next_marker;
        if marker.is_none() {
            return Ok(out);
        }
    }
}

/// The filter criteria as the SDK takes them (an empty list clears them).
fn filters(c: &MappingConfig) -> FilterCriteria {
    FilterCriteria::builder()
        .set_filters(Some(
            c.filter_patterns
                .iter()
                .map(|p| Filter::builder().pattern(p).build())
                .collect(),
        ))
        .build()
}

/// Waits until the mapping is `Enabled` or `Disabled`: in any other state (`Creating`,
/// `Updating`, …) AWS refuses the next change.
///
/// Polls `GetEventSourceMapping` for up to `MAPPING_TIMEOUT`; an answer without a state
/// counts as settled, but a mapping gone meanwhile is an error (`ResourceNotFound`).
async fn wait_state(api: Api<'_>, uuid: &str, what: &str) -> Result<(), AwsError> {
    wait_until(api.wait(), api.reporter, what, MAPPING_TIMEOUT, || async {
        let m = api
            .aws
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
            .map_err(|e| AwsError::call("GetEventSourceMapping", uuid, &e, false))?;
        Ok(match m.state() {
            Some("Enabled" | "Disabled") | None => Poll::Ready(()),
            Some(other) => Poll::Pending(other.to_string()),
        })
    })
    .await
}

/// Whether an `InvalidParameterValueException` from `CreateEventSourceMapping` means IAM
/// has not yet propagated the role's stream permissions ("Cannot access stream … Please
/// ensure the role can perform the `GetRecords`, …"). AWS signals this only in the message.
#[must_use]
pub fn is_stream_access_propagation(message: Option<&str>) -> bool {
    message.is_some_and(|m| m.contains("Cannot access stream"))
}

/// The UUID of the mapping AWS names when it refuses a second mapping for the same stream
/// and function: `ResourceConflictException` with "The event source arn (\" … \") and
/// function (\" … \") provided mapping already exists. Please update or delete the existing
/// mapping with UUID <uuid>". Lambda uses the same error type for "an update is in
/// progress", which names no UUID: `None` then. The UUID is only in the message.
#[must_use]
pub fn existing_mapping_uuid(message: Option<&str>) -> Option<&str> {
    let m = message?;
    if !m.contains("already exists") {
        return None;
    }
    let uuid = m.rsplit("with UUID ").next()?.trim().trim_end_matches('.');
    let shaped = uuid.len() == 36 && uuid.chars().all(|c| c == '-' || c.is_ascii_hexdigit());
    shaped.then_some(uuid)
}

/// Waits until the stream `source` reports `ENABLED` in the DynamoDB Streams API. After a
/// view-type change the new stream is `ENABLING` for a while, and a mapping made then
/// fails or reads nothing; `DescribeTable` already names the new ARN, so only the Streams
/// API says when it can be read.
async fn stream_enabled(api: Api<'_>, source: &str) -> Result<(), AwsError> {
    let streams = api
        .aws
        .client(|c| crate::client!(aws_sdk_dynamodbstreams, c));
    crate::aws::wait_until(
        &api.aws.wait,
        api.reporter,
        "the stream to be ENABLED",
        Duration::from_mins(5),
        || {
            let streams = streams.clone();
            async move {
                match streams
                    .describe_stream()
                    .stream_arn(source)
                    .limit(1)
                    .send()
                    .await
                {
                    Ok(out) => {
                        let status = out
                            .stream_description
                            .and_then(|d| d.stream_status)
                            .map_or_else(|| "unknown".to_string(), |s| s.as_str().to_string());
                        Ok(if status == "ENABLED" {
                            Poll::Ready(())
                        } else {
                            Poll::Pending(status)
                        })
                    }
                    Err(e)
                        if e.as_service_error().is_some_and(
                            aws_sdk_dynamodbstreams::operation::describe_stream::DescribeStreamError::is_resource_not_found_exception,
                        ) =>
                    {
                        Ok(Poll::Pending("not found yet".into()))
                    }
                    Err(e) => Err(AwsError::call("DescribeStream", source, &e, true)),
                }
            }
        },
    )
    .await
}

/// What `CreateEventSourceMapping` answered: a new mapping, or the one that already exists
/// for this stream and function (a retried create whose first answer was lost).
enum Created {
    New(String),
    Existing(String),
}

/// Creates the mapping from `source` (the resolved stream ARN), retrying while IAM
/// propagates the role's stream permissions; waits until it is enabled, then makes sure it
/// is the only mapping of this stream and function.
///
/// Filter criteria are sent only when there are patterns. A stream-access error is
/// retried for the settling budget, throttling a few times. When AWS answers that a
/// mapping for this stream and function already exists (the SDK retried a create whose
/// answer was lost, or a crashed run made it), that mapping is adopted: read back, checked
/// to be this stream's, and updated if its in-place settings differ. Finally the function's
/// mappings are listed again and any other mapping of this stream (a repeated create an
/// emulator accepted) is deleted before the run ends. Returns the UUID kept.
pub async fn create(api: Api<'_>, c: &MappingConfig, source: &str) -> Result<String, AwsError> {
    let function = c.function_arn.rsplit(':').next().unwrap_or(&c.function_arn);
    stream_enabled(api, source).await?;
    let uuid = match create_or_find(api, c, source).await? {
        Created::New(uuid) => {
            wait_state(api, &uuid, "creating").await?;
            uuid
        }
        Created::Existing(uuid) => {
            api.reporter.step(format!(
                "a mapping of this stream and function already exists ({uuid}): adopting it"
            ));
            adopt_existing(api, c, source, &uuid).await?;
            uuid
        }
    };
    let extras: Vec<String> = read(api, function, None)
        .await?
        .into_iter()
        .filter(|m| m.config.event_source_arn.as_deref() == Some(source) && m.uuid != uuid)
        .map(|m| m.uuid)
        .collect();
    for extra in extras {
        api.reporter.step(format!(
            "deleting duplicate mapping {extra} made by a repeated create"
        ));
        delete(api, &extra).await?;
    }
    Ok(uuid)
}

/// Finds the mapping `uuid` that AWS said exists among the function's, checks that it maps `source`, waits for
/// it to settle, and updates it when its in-place settings are not `c`'s.
async fn adopt_existing(
    api: Api<'_>,
    c: &MappingConfig,
    source: &str,
    uuid: &str,
) -> Result<(), AwsError> {
    let function = c.function_arn.rsplit(':').next().unwrap_or(&c.function_arn);
    let existing = read(api, function, None)
        .await?
        .into_iter()
        .find(|m| m.uuid == uuid)
        .ok_or_else(|| AwsError::Unexpected {
            op: "CreateEventSourceMapping",
            address: c.function_arn.clone(),
            message: format!(
                "AWS named mapping {uuid} as the existing one, but the function lists no such mapping"
            ),
        })?;
    if existing.config.event_source_arn.as_deref() != Some(source) {
        return Err(AwsError::Unexpected {
            op: "CreateEventSourceMapping",
            address: c.function_arn.clone(),
            message: format!(
                "AWS named mapping {uuid} as the existing one, but it maps {:?}, not {source}",
                existing.config.event_source_arn
            ),
        });
    }
    // The starting position cannot change in place: a mapping that differs there is not the
    // one this create asked for, and is left for the next plan to replace, not kept quietly.
    if existing.config.starting_position != c.starting_position {
        return Err(AwsError::Unexpected {
            op: "CreateEventSourceMapping",
            address: c.function_arn.clone(),
            message: format!(
                "the existing mapping {uuid} starts at {}, not {}; run the command again to replace it",
                existing.config.starting_position, c.starting_position
            ),
        });
    }
    wait_state(api, uuid, "settling").await?;
    if super::in_place(&existing.config) != super::in_place(c) {
        update(api, uuid, c).await?;
    }
    Ok(())
}

/// One `CreateEventSourceMapping`, retried as `create` says; a conflict naming an existing
/// mapping's UUID is an answer, not an error.
async fn create_or_find(
    api: Api<'_>,
    c: &MappingConfig,
    source: &str,
) -> Result<Created, AwsError> {
    let mut req = api
        .aws
        .lambda
        .create_event_source_mapping()
        .event_source_arn(source)
        // By name, as `read` lists them (the ARN's last part).
        .function_name(c.function_arn.rsplit(':').next().unwrap_or(&c.function_arn))
        .batch_size(c.batch_size)
        .starting_position(EventSourcePosition::from(c.starting_position.as_str()))
        .enabled(c.enabled)
        .maximum_retry_attempts(c.maximum_retry_attempts)
        .bisect_batch_on_function_error(c.bisect_batch_on_function_error)
        .maximum_batching_window_in_seconds(c.maximum_batching_window_seconds);
    if !c.filter_patterns.is_empty() {
        req = req.filter_criteria(filters(c));
    }
    retry(api.wait(), api.reporter, || {
        let req = req.clone();
        async move {
            let sent = req.send().await;
            if let Err(e) = &sent
                && let Some(CreateEventSourceMappingError::ResourceConflictException(x)) =
                    e.as_service_error()
                && let Some(uuid) = existing_mapping_uuid(x.message())
            {
                return Ok(Created::Existing(uuid.to_string()));
            }
            sent.map(|out| Created::New(out.uuid.unwrap_or_default()))
                .map_err(|e| {
                    let class =
                        match e.as_service_error() {
                            // IAM propagation of the role's stream permissions: minutes.
                            Some(
                                CreateEventSourceMappingError::InvalidParameterValueException(x),
                            ) if is_stream_access_propagation(x.message()) => Retry::Settling,
                            Some(CreateEventSourceMappingError::TooManyRequestsException(_)) => {
                                Retry::Busy
                            }
                            _ => Retry::Never,
                        };
                    AwsError::classified("CreateEventSourceMapping", &c.function_arn, &e, class)
                })
        }
    })
    .await
}

/// Updates the mapping in place and waits for it to settle.
///
/// `UpdateEventSourceMapping` sends exactly the `InPlace` fields; the filter criteria are
/// always sent, so an empty set clears them. Retried while AWS answers
/// `ResourceInUseException` (the mapping is mid-change) or `TooManyRequestsException`.
pub async fn update(api: Api<'_>, uuid: &str, c: &MappingConfig) -> Result<(), AwsError> {
    // Built from `in_place`, so what is sent is exactly what the diff compares.
    let super::InPlace {
        function_arn,
        batch_size,
        enabled,
        filter_patterns,
        maximum_retry_attempts,
        bisect_batch_on_function_error,
        maximum_batching_window_seconds,
    } = super::in_place(c);
    let criteria = FilterCriteria::builder()
        .set_filters(Some(
            filter_patterns
                .iter()
                .map(|p| Filter::builder().pattern(p).build())
                .collect(),
        ))
        .build();
    let req = api
        .aws
        .lambda
        .update_event_source_mapping()
        .uuid(uuid)
        .function_name(function_arn)
        .batch_size(batch_size)
        .enabled(enabled)
        .filter_criteria(criteria)
        .maximum_retry_attempts(maximum_retry_attempts)
        .bisect_batch_on_function_error(bisect_batch_on_function_error)
        .maximum_batching_window_in_seconds(maximum_batching_window_seconds);
    retry(api.wait(), api.reporter, || {
        let req = req.clone();
        async move {
            req.send().await.map_err(|e| {
                let busy = e.as_service_error().is_some_and(|s| {
                    s.is_resource_in_use_exception() || s.is_too_many_requests_exception()
                });
                AwsError::call("UpdateEventSourceMapping", uuid, &e, busy)
            })
        }
    })
    .await?;
    wait_state(api, uuid, "updating").await
}

/// Deletes the mapping and waits until Lambda no longer knows it. AWS refuses the delete
/// while the mapping is changing state (`Creating`, `Enabling`, `Updating`, …): wait for it
/// to settle, then try again, within the settling budget.
///
/// A `ResourceNotFoundException` from the delete means already gone; otherwise
/// `GetEventSourceMapping` is polled until it answers `ResourceNotFoundException`.
pub async fn delete(api: Api<'_>, uuid: &str) -> Result<(), AwsError> {
    let sent = retry(api.wait(), api.reporter, || async {
        match api
            .aws.lambda
            .delete_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_lambda::operation::delete_event_source_mapping::DeleteEventSourceMappingError::is_resource_not_found_exception) =>
            {
                Ok(false)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_lambda::operation::delete_event_source_mapping::DeleteEventSourceMappingError::is_resource_in_use_exception) =>
            {
                wait_state(api, uuid, "waiting for the mapping to settle").await?;
                Err(AwsError::classified(
                    "DeleteEventSourceMapping",
                    uuid,
                    &e,
                    Retry::Settling,
                ))
            }
            Err(e) => {
                let busy = e
                    .as_service_error()
                    .is_some_and(aws_sdk_lambda::operation::delete_event_source_mapping::DeleteEventSourceMappingError::is_too_many_requests_exception);
                Err(AwsError::call("DeleteEventSourceMapping", uuid, &e, busy))
            }
        }
    })
    .await?;
    if !sent {
        return Ok(());
    }
    wait_until(
        api.wait(),
        api.reporter,
        "destroying",
        MAPPING_TIMEOUT,
        || async {
            match api
                .aws.lambda
                .get_event_source_mapping()
                .uuid(uuid)
                .send()
                .await
            {
                Err(e)
                    if e.as_service_error()
                        .is_some_and(aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingError::is_resource_not_found_exception) =>
                {
                    Ok(Poll::Ready(()))
                }
                Err(e) => Err(AwsError::call("GetEventSourceMapping", uuid, &e, false)),
                // An answer without a UUID is moto's way of saying it does not know it.
                Ok(m) if m.uuid().is_none() => Ok(Poll::Ready(())),
                Ok(m) => Ok(Poll::Pending(m.state().unwrap_or("Deleting").to_string())),
            }
        },
    )
    .await
}

/// The I/O half of the mapping kind. The tool puts no ownership tag on mappings, so they
/// are never found as strays themselves: a stray function's mappings go with it
/// (`delete_dependents`).
impl ResourceIo for super::Mapping {
    /// Listed by function (`ListEventSourceMappings` has no resource type); created
    /// (`CreateEventSourceMapping` neither: narrowed to the stack's function by
    /// `lambda:FunctionArn`), waited on, updated and deleted by UUID, unknown before it
    /// exists; the stream's status read before the create.
    fn permissions(
        scope: &crate::resources::permissions::Scope<'_>,
        m: &Declared<super::MappingSpec>,
    ) -> Vec<crate::resources::permissions::Permission> {
        use crate::resources::permissions::{Permission, Phase};
        let function_arn = crate::resources::arn_of(scope, &m.spec.function).unwrap_or_default();
        let table_arn = crate::resources::arn_of(scope, &m.spec.table).unwrap_or_default();
        vec![
            Permission::any(
                "NoResourceTypeForListingMappings",
                Phase::Plan,
                &["lambda:ListEventSourceMappings"],
                "`lambda:ListEventSourceMappings` has no resource type in IAM: it needs `*`",
            ),
            Permission::any(
                "NoResourceTypeForCreatingMappings",
                Phase::Change,
                &["lambda:CreateEventSourceMapping"],
                "`lambda:CreateEventSourceMapping` has no resource type in IAM: it needs `*`, narrowed here to the stack's functions by `lambda:FunctionArn`",
            )
            .when(serde_json::json!({"StringEquals": {"lambda:FunctionArn": [function_arn]}})),
            Permission::new(
                "Mappings",
                Phase::Change,
                &[
                    "lambda:GetEventSourceMapping",
                    "lambda:UpdateEventSourceMapping",
                    "lambda:DeleteEventSourceMapping",
                ],
                vec![format!(
                    "arn:aws:lambda:{}:{}:event-source-mapping:*",
                    scope.region, scope.account
                )],
            ),
            Permission::new(
                "StreamsRead",
                Phase::Change,
                &["dynamodb:DescribeStream"],
                vec![format!("{table_arn}/stream/*")],
            ),
        ]
    }

    /// A function's mappings outlive it: a stray function's go first.
    async fn delete_dependents(
        api: Api<'_>,
        kind: crate::resources::Kind,
        owner: &str,
    ) -> Result<(), AwsError> {
        if kind != crate::resources::Kind::Function {
            return Ok(());
        }
        for m in read(api, owner, None).await? {
            api.reporter.step(format!("deleting mapping {}", m.uuid));
            delete(api, &m.uuid).await?;
        }
        Ok(())
    }

    /// Found by the AWS names of its function and table (it has none of its own).
    async fn read(
        api: Api<'_>,
        ctx: &ReadContext<'_>,
        d: &Declared<super::MappingSpec>,
    ) -> Result<Vec<MappingLive>, AwsError> {
        let function = ctx.aws_name(&d.spec.function).unwrap_or_default();
        let table = ctx.aws_name(&d.spec.table).unwrap_or_default();
        // Many mappings: one account-wide listing may cost fewer calls than a listing per
        // function (see `list_all`); a few: each function's own listing, all in one round.
        let declared = ctx.stack.mappings.len();
        if declared >= LISTING_FROM && !ctx.partial {
            let all = ctx
                .shared("lambda:ListEventSourceMappings", || {
                    list_all(api, declared.saturating_sub(1))
                })
                .await?;
            if let Some(all) = all.as_ref() {
                return Ok(of_function(all, function, Some(table)));
            }
        }
        read(api, function, Some(table)).await
    }

    /// Runs one mapping operation. Create deletes `delete_first` one by one, takes the
    /// stream ARN from the config or, for a stream new in this apply, from the outputs of
    /// the table's change, then creates. Update deletes the duplicates, then updates the
    /// mapping kept. Delete removes each mapping in turn, waiting until it is gone. A
    /// stream ARN still unknown is an unresolved-reference error.
    async fn apply(
        api: Api<'_>,
        run: &Run<'_>,
        change: &Change,
        op: &MappingOp,
    ) -> Result<(), AwsError> {
        let reporter = api.reporter;
        let address = &change.address;
        let out = run.outputs;
        match op {
            MappingOp::Create {
                config,
                table,
                delete_first,
            } => {
                for uuid in delete_first {
                    reporter.step(format!("deleting mapping {uuid}"));
                    delete(api, uuid).await?;
                }
                let source = config
                    .event_source_arn
                    .clone()
                    .or_else(|| {
                        out.known()
                            .get(&Ref::Attribute(table.clone(), Attr::StreamArn))
                            .cloned()
                    })
                    .ok_or_else(|| {
                        Outputs::unresolved(
                            address,
                            &[Ref::Attribute(table.clone(), Attr::StreamArn)],
                        )
                    })?;
                create(api, config, &source).await.map(drop)
            }
            MappingOp::Update {
                uuid,
                config,
                duplicates,
            } => {
                for dup in duplicates {
                    reporter.step(format!("deleting duplicate mapping {dup}"));
                    delete(api, dup).await?;
                }
                update(api, uuid, config).await
            }
            MappingOp::Delete(uuids) => {
                for uuid in uuids {
                    delete(api, uuid).await?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
