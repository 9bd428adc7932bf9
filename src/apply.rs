//! Executing a plan: changes run wave by wave in dependency order (reversed for destroy),
//! concurrently within a wave. Apply makes no decision the plan did not record; it only
//! reports progress through events.

use std::time::Instant;

use futures::{StreamExt, stream};

use crate::aws::{Aws, AwsError};
use crate::events::{Event, EventSink, Reporter};
use crate::plan::{Change, Mode, Operation, Plan, TableOp, order};
use crate::resources::Address;
use crate::resources::dynamodb_table::aws::{self as table_aws, TableApi};

/// Changes in flight at once. `DynamoDB` allows about 10 tables changing per account, and
/// the table calls retry `LimitExceededException` beyond that.
const PARALLEL_CHANGES: usize = 8;

/// What an apply achieved.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Changes that failed, with their errors.
    pub failed: Vec<(Address, AwsError)>,
    /// Changes not attempted because something they depend on failed.
    pub skipped: Vec<Address>,
}

async fn run(
    aws: &Aws,
    stack: &str,
    change: &Change,
    sink: &dyn EventSink,
) -> Result<(), AwsError> {
    let api = TableApi {
        client: &aws.dynamodb,
        wait: &aws.wait,
        reporter: Reporter {
            address: &change.address,
            sink,
        },
    };
    let name = change.name.as_str();
    match &change.operation {
        Operation::Table(TableOp::Create(spec)) => {
            table_aws::create(api, spec, stack).await.map(drop)
        }
        Operation::Table(TableOp::Update { arn, steps }) => {
            table_aws::update(api, name, arn, steps).await
        }
        Operation::Table(TableOp::Replace(spec)) => {
            // Delete first: the new table has the same name.
            api.reporter.step("deleting the old table");
            table_aws::delete(api, name).await?;
            api.reporter.step("creating the new table");
            table_aws::create(api, spec, stack).await.map(drop)
        }
        Operation::Table(TableOp::Delete) => table_aws::delete(api, name).await,
    }
}

/// Applies `plan`, reporting progress to `sink`. Independent changes continue when one
/// fails; its dependents are skipped.
pub async fn apply(aws: &Aws, plan: &Plan, sink: &dyn EventSink) -> Outcome {
    let nodes: Vec<(Address, Vec<Address>)> = plan
        .changes
        .iter()
        .map(|c| (c.address.clone(), c.depends_on.clone()))
        .collect();
    let mut outcome = Outcome::default();
    for wave in order::waves(&nodes, plan.mode == Mode::Destroy) {
        let results: Vec<(Address, Result<(), AwsError>)> = stream::iter(wave)
            .filter_map(|i| {
                let change = &plan.changes[i];
                let blocked = change.depends_on.iter().any(|d| {
                    outcome.failed.iter().any(|(a, _)| a == d) || outcome.skipped.contains(d)
                });
                async move { if blocked { None } else { Some(change) } }
            })
            .map(|change| async move {
                sink.emit(Event::Started {
                    address: change.address.clone(),
                    action: change.action.clone(),
                });
                let start = Instant::now();
                let result = run(aws, &plan.stack, change, sink).await;
                match &result {
                    Ok(()) => sink.emit(Event::Finished {
                        address: change.address.clone(),
                        action: change.action.clone(),
                        elapsed: start.elapsed(),
                    }),
                    Err(e) => sink.emit(Event::Failed {
                        address: change.address.clone(),
                        action: change.action.clone(),
                        error: e.to_string(),
                    }),
                }
                (change.address.clone(), result)
            })
            .buffer_unordered(PARALLEL_CHANGES)
            .collect()
            .await;
        for (address, result) in results {
            if let Err(e) = result {
                outcome.failed.push((address, e));
            }
        }
        for change in &plan.changes {
            let attempted = !change
                .depends_on
                .iter()
                .any(|d| outcome.failed.iter().any(|(a, _)| a == d));
            if !attempted && !outcome.skipped.contains(&change.address) {
                outcome.skipped.push(change.address.clone());
            }
        }
    }
    outcome
}
