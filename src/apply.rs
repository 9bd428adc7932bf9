//! Executing a plan: changes run wave by wave in dependency order (reversed for destroy),
//! concurrently within a wave. Apply makes no decision the plan did not record; it fills
//! in references the plan could not know (a new stream's ARN) from what earlier waves
//! produced, and reports progress through events.

use std::sync::Mutex;
use std::time::Instant;

use futures::FutureExt;
use futures::future::{LocalBoxFuture, Shared, join_all};
use serde_json::Value;

use crate::aws::{Api, Aws, AwsError};
use crate::events::{Event, EventSink};
use crate::plan::{Action, Change, Plan, order};
use crate::resources::Address;
use crate::resources::refs::{self, Known, Ref};

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
    /// Changes not started because the user interrupted the run (Ctrl-C, SIGTERM).
    pub interrupted: Vec<Address>,
    /// Changes not started because this run could no longer prove it held the lock, and
    /// why (another run took it over while this one slept or lost its connection).
    pub lock_lost: Option<(String, Vec<Address>)>,
}

/// Reference values: the plan's, plus what apply learns (a new stream's ARN), shared by the
/// changes of one apply.
#[derive(Default)]
pub struct Outputs(Mutex<Known>);

impl Outputs {
    /// Makes `value` known to the changes after this one.
    pub(crate) fn set(&self, r: Ref, value: String) {
        if let Ok(mut k) = self.0.lock() {
            k.insert(r, value);
        }
    }

    /// Everything known so far.
    pub(crate) fn known(&self) -> Known {
        self.0.lock().map(|k| k.clone()).unwrap_or_default()
    }

    /// The error for references still unknown when a change needs them.
    pub(crate) fn unresolved(address: &Address, missing: &[Ref]) -> AwsError {
        AwsError::Unexpected {
            op: "resolve",
            address: address.to_string(),
            message: format!(
                "{} still unknown after the resources it comes from were applied",
                missing
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// A JSON template (a policy) with every reference filled in.
    pub(crate) fn json(&self, address: &Address, template: &Value) -> Result<Value, AwsError> {
        let (v, missing) = refs::substitute_json(template, &self.known());
        if missing.is_empty() {
            Ok(v)
        } else {
            Err(Self::unresolved(address, &missing))
        }
    }

    /// A text template (an environment value) with every reference filled in.
    pub(crate) fn text(&self, address: &Address, template: &str) -> Result<String, AwsError> {
        let (v, missing) = refs::substitute(template, &self.known());
        if missing.is_empty() {
            Ok(v)
        } else {
            Err(Self::unresolved(address, &missing))
        }
    }
}

/// What every change of one apply shares: the stack's name (for ownership tags) and the
/// reference values.
pub struct Run<'a> {
    /// The stack.
    pub stack: &'a str,
    /// The environment (`local`, `prod`).
    pub environment: &'a str,
    /// Reference values known so far.
    pub outputs: &'a Outputs,
}

/// Runs one change: its kind's operation, through the registry.
async fn run(
    aws: &Aws,
    plan: &Plan,
    change: &Change,
    out: &Outputs,
    sink: &dyn EventSink,
) -> Result<(), AwsError> {
    let api = Api::new(aws, &change.address, sink);
    let run = Run {
        stack: plan.stack.as_str(),
        environment: plan.environment.as_str(),
        outputs: out,
    };
    crate::resources::apply_operation(api, &run, change).await
}

/// How one change ended, as its dependents see it.
#[derive(Debug, Clone)]
enum Done {
    /// It succeeded.
    Ok,
    /// It failed, or was skipped: dependents are skipped.
    Blocked,
}

/// Applies `plan`, reporting progress to `sink`. Each change starts as soon as what it
/// depends on is done (the function as soon as its role exists, not when the whole first
/// wave is), at most `PARALLEL_CHANGES` at a time. Destroy follows the edges backwards.
/// Independent changes continue when one fails; its dependents are skipped. Before each
/// change starts, `lock` (when given) proves this run still holds the stack's lock; once
/// that fails, nothing more starts.
pub async fn apply(
    aws: &Aws,
    plan: &Plan,
    sink: &dyn EventSink,
    lock: Option<&crate::lock::Guard>,
) -> Outcome {
    let nodes: Vec<order::Node> = plan
        .changes
        .iter()
        .map(|c| {
            (
                c.address.clone(),
                c.depends_on.clone(),
                c.action == Action::Delete,
            )
        })
        .collect();
    let outputs = Outputs(Mutex::new(plan.known.clone()));
    let slots =
        tokio::sync::Semaphore::new(PARALLEL_CHANGES.min(aws.reads.available_permits().max(1)));
    let result: Mutex<Outcome> = Mutex::new(Outcome::default());
    let (outputs, slots, result) = (&outputs, &slots, &result);
    // Built in dependency order, so every prerequisite's handle exists when needed.
    let mut handles: Vec<(usize, Shared<LocalBoxFuture<'_, Done>>)> = Vec::new();
    for wave in order::waves(&nodes) {
        for i in wave {
            let change = &plan.changes[i];
            let prerequisites: Vec<Shared<LocalBoxFuture<'_, Done>>> = handles
                .iter()
                .filter(|(j, _)| order::runs_before(&nodes[*j], &nodes[i]))
                .map(|(_, h)| h.clone())
                .collect();
            let task = async move {
                let ready = join_all(prerequisites)
                    .await
                    .iter()
                    .all(|d| matches!(d, Done::Ok));
                if !ready {
                    if let Ok(mut r) = result.lock() {
                        r.skipped.push(change.address.clone());
                    }
                    return Done::Blocked;
                }
                let Ok(_slot) = slots.acquire().await else {
                    return Done::Blocked;
                };
                // Interrupted: what has not started stays undone; what runs finishes.
                if crate::interrupt::requested() {
                    if let Ok(mut r) = result.lock() {
                        r.interrupted.push(change.address.clone());
                    }
                    return Done::Blocked;
                }
                // The lock may have been taken over while this run slept: prove it is still
                // ours before changing anything more.
                if let Some(lock) = lock {
                    let lost = match result.lock() {
                        Ok(r) => r.lock_lost.is_some(),
                        Err(_) => true,
                    };
                    let fenced = if lost { None } else { lock.fence().await.err() };
                    if lost || fenced.is_some() {
                        if let Ok(mut r) = result.lock() {
                            let why = fenced.map(|e| e.0).unwrap_or_default();
                            let entry = r.lock_lost.get_or_insert_with(|| (why, Vec::new()));
                            entry.1.push(change.address.clone());
                        }
                        return Done::Blocked;
                    }
                }
                sink.emit(Event::Started {
                    address: change.address.clone(),
                    action: change.action.clone(),
                });
                let start = Instant::now();
                match run(aws, plan, change, outputs, sink).await {
                    Ok(()) => {
                        sink.emit(Event::Finished {
                            address: change.address.clone(),
                            action: change.action.clone(),
                            elapsed: start.elapsed(),
                        });
                        Done::Ok
                    }
                    Err(e) => {
                        sink.emit(Event::Failed {
                            address: change.address.clone(),
                            action: change.action.clone(),
                            error: e.to_string(),
                        });
                        if let Ok(mut r) = result.lock() {
                            r.failed.push((change.address.clone(), e));
                        }
                        Done::Blocked
                    }
                }
            }
            .boxed_local()
            .shared();
            handles.push((i, task));
        }
    }
    join_all(handles.into_iter().map(|(_, h)| h)).await;
    let mut outcome = std::mem::take(&mut *result.lock().expect("apply outcome"));
    outcome.skipped.sort();
    outcome.interrupted.sort();
    if let Some((_, not_started)) = &mut outcome.lock_lost {
        not_started.sort();
    }
    outcome
}
