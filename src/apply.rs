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
use crate::events::{Event, EventSink, Reporter};
use crate::plan::{Change, Mode, Operation, Plan, order};
use crate::resources::Address;
use crate::resources::dynamodb_table::TableOp;
use crate::resources::dynamodb_table::aws::{self as table_aws};
use crate::resources::event_source_mapping::MappingOp;
use crate::resources::event_source_mapping::aws::{self as mapping_aws};
use crate::resources::iam_role::RoleConfig;
use crate::resources::iam_role::RoleOp;
use crate::resources::iam_role::aws::{self as role_aws};
use crate::resources::lambda_function::FunctionConfig;
use crate::resources::lambda_function::FunctionOp;
use crate::resources::lambda_function::aws::{self as function_aws};
use crate::resources::refs::{self, Attr, Known, Ref};
use crate::resources::vpc_endpoint::EndpointOp;
use crate::resources::vpc_endpoint::aws::{self as endpoint_aws};

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

/// Reference values: the plan's, plus what apply learns.
struct Outputs(Mutex<Known>);

impl Outputs {
    fn set(&self, r: Ref, value: String) {
        if let Ok(mut k) = self.0.lock() {
            k.insert(r, value);
        }
    }

    fn known(&self) -> Known {
        self.0.lock().map(|k| k.clone()).unwrap_or_default()
    }

    fn unresolved(address: &Address, missing: &[Ref]) -> AwsError {
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

    fn json(&self, address: &Address, template: &Value) -> Result<Value, AwsError> {
        let (v, missing) = refs::substitute_json(template, &self.known());
        if missing.is_empty() {
            Ok(v)
        } else {
            Err(Self::unresolved(address, &missing))
        }
    }

    fn role(&self, address: &Address, c: &RoleConfig) -> Result<RoleConfig, AwsError> {
        let mut c = c.clone();
        for doc in c.policies.values_mut() {
            *doc = self.json(address, doc)?;
        }
        Ok(c)
    }

    fn function(&self, address: &Address, c: &FunctionConfig) -> Result<FunctionConfig, AwsError> {
        let mut c = c.clone();
        let known = self.known();
        for v in c.environment.values_mut() {
            let (resolved, missing) = refs::substitute(v, &known);
            if !missing.is_empty() {
                return Err(Self::unresolved(address, &missing));
            }
            *v = resolved;
        }
        Ok(c)
    }
}

async fn run(
    aws: &Aws,
    plan: &Plan,
    change: &Change,
    out: &Outputs,
    sink: &dyn EventSink,
) -> Result<(), AwsError> {
    let reporter = Reporter {
        address: &change.address,
        sink,
    };
    let api = Api { aws, reporter };
    let stack = plan.stack.as_str();
    let name = change.name.as_str();
    let address = &change.address;
    match &change.operation {
        Operation::Table(op) => {
            let live = match op {
                TableOp::Create(spec) => Some(table_aws::create(api, spec, stack).await?),
                TableOp::CreateAfterDeletion(spec) => {
                    reporter.step("waiting for the table of this name being deleted to go");
                    table_aws::wait_gone(api, name).await?;
                    Some(table_aws::create(api, spec, stack).await?)
                }
                TableOp::Update { arn, steps } => {
                    table_aws::update(api, name, arn, steps).await?;
                    table_aws::read(api, name).await?
                }
                TableOp::Replace(spec) => {
                    // Delete first: the new table has the same name.
                    reporter.step("deleting the old table");
                    table_aws::delete(api, name).await?;
                    reporter.step("creating the new table");
                    Some(table_aws::create(api, spec, stack).await?)
                }
                TableOp::Delete => {
                    table_aws::delete(api, name).await?;
                    None
                }
            };
            if let Some(arn) = live.and_then(|l| l.stream_arn) {
                out.set(Ref::Attribute(address.clone(), Attr::StreamArn), arn);
            }
            Ok(())
        }
        Operation::Role(op) => match op {
            RoleOp::Create(c) => role_aws::create(api, &out.role(address, c)?, stack)
                .await
                .map(drop),
            RoleOp::Update(steps) => {
                role_aws::update(api, name, steps, &|t| out.json(address, t)).await
            }
            RoleOp::Replace(c) => {
                role_aws::delete(api, name).await?;
                role_aws::create(api, &out.role(address, c)?, stack)
                    .await
                    .map(drop)
            }
            RoleOp::Delete => role_aws::delete(api, name).await,
        },
        Operation::Function(op) => match op {
            FunctionOp::Create { config, zip } => {
                function_aws::create(api, &out.function(address, config)?, zip, stack)
                    .await
                    .map(drop)
            }
            FunctionOp::Update {
                config,
                arn,
                zip,
                steps,
            } => function_aws::update(api, &out.function(address, config)?, arn, zip, steps).await,
            FunctionOp::Replace { config, zip } => {
                function_aws::delete(api, name, false).await?;
                function_aws::create(api, &out.function(address, config)?, zip, stack)
                    .await
                    .map(drop)
            }
            FunctionOp::Delete { in_vpc } => function_aws::delete(api, name, *in_vpc).await,
            FunctionOp::DeleteLogGroup => function_aws::delete_log_group(api, name).await,
        },
        Operation::Mapping(op) => match op {
            MappingOp::Create {
                config,
                table,
                delete_first,
            } => {
                for uuid in delete_first {
                    reporter.step(format!("deleting mapping {uuid}"));
                    mapping_aws::delete(api, uuid).await?;
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
                mapping_aws::create(api, config, &source).await.map(drop)
            }
            MappingOp::Update {
                uuid,
                config,
                duplicates,
            } => {
                for dup in duplicates {
                    reporter.step(format!("deleting duplicate mapping {dup}"));
                    mapping_aws::delete(api, dup).await?;
                }
                mapping_aws::update(api, uuid, config).await
            }
            MappingOp::Delete(uuids) => {
                for uuid in uuids {
                    mapping_aws::delete(api, uuid).await?;
                }
                Ok(())
            }
        },
        Operation::Orphan(orphan) => match orphan {
            crate::plan::Orphan::Table(name) => table_aws::delete(api, name).await,
            crate::plan::Orphan::Function(name) => {
                // A function's mappings outlive it; its log group costs money forever.
                for m in mapping_aws::read(api, name, None).await? {
                    mapping_aws::delete(api, &m.uuid).await?;
                }
                // Its configuration was not read: check for network interfaces in any case.
                function_aws::delete(api, name, true).await?;
                function_aws::delete_log_group(
                    api,
                    &crate::resources::lambda_function::log_group_name(name),
                )
                .await
            }
            crate::plan::Orphan::Endpoint(id) => endpoint_aws::delete(api, id).await,
        },
        Operation::Endpoint(op) => {
            // A stable token: a create retried after a lost answer returns the same endpoint.
            let token = format!("cruddur-infra-{stack}-{}", address.name);
            match op {
                EndpointOp::Create(c) => {
                    endpoint_aws::create(api, c, stack, &token).await.map(drop)
                }
                EndpointOp::Update {
                    id,
                    update,
                    duplicates,
                } => {
                    for dup in duplicates {
                        reporter.step(format!("deleting duplicate endpoint {dup}"));
                        endpoint_aws::delete(api, dup).await?;
                    }
                    endpoint_aws::update(api, id, update).await
                }
                EndpointOp::Replace { id, config } => {
                    endpoint_aws::delete(api, id).await?;
                    endpoint_aws::create(api, config, stack, &format!("{token}-{id}"))
                        .await
                        .map(drop)
                }
                EndpointOp::Delete(ids) => {
                    for id in ids {
                        endpoint_aws::delete(api, id).await?;
                    }
                    Ok(())
                }
            }
        }
    }
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
/// Independent changes continue when one fails; its dependents are skipped.
pub async fn apply(aws: &Aws, plan: &Plan, sink: &dyn EventSink) -> Outcome {
    let nodes: Vec<(Address, Vec<Address>)> = plan
        .changes
        .iter()
        .map(|c| (c.address.clone(), c.depends_on.clone()))
        .collect();
    let reverse = plan.mode == Mode::Destroy;
    let outputs = Outputs(Mutex::new(plan.known.clone()));
    let slots =
        tokio::sync::Semaphore::new(PARALLEL_CHANGES.min(aws.reads.available_permits().max(1)));
    let result: Mutex<Outcome> = Mutex::new(Outcome::default());
    let (outputs, slots, result) = (&outputs, &slots, &result);
    // Built in dependency order, so every prerequisite's handle exists when needed.
    let mut handles: Vec<(Address, Shared<LocalBoxFuture<'_, Done>>)> = Vec::new();
    for wave in order::waves(&nodes, reverse) {
        for i in wave {
            let change = &plan.changes[i];
            let prerequisites: Vec<Shared<LocalBoxFuture<'_, Done>>> = handles
                .iter()
                .filter(|(a, _)| {
                    if reverse {
                        plan.changes
                            .iter()
                            .any(|c| &c.address == a && c.depends_on.contains(&change.address))
                    } else {
                        change.depends_on.contains(a)
                    }
                })
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
            handles.push((change.address.clone(), task));
        }
    }
    join_all(handles.into_iter().map(|(_, h)| h)).await;
    let mut outcome = std::mem::take(&mut *result.lock().expect("apply outcome"));
    outcome.skipped.sort();
    outcome
}
