//! Reading live state for every declared resource, concurrently. Never writes.
//!
//! Everything keyed by a name the stack gives is read at once; only the VPC endpoint needs
//! an answer first (which VPC `default` is).

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;
use futures::{StreamExt, TryStreamExt, stream};

use crate::aws::{Aws, AwsError};
use crate::events::{EventSink, Reporter};
use crate::plan::{Context, LiveState, Mode};
use crate::resources::dynamodb_table::aws::{self as table_aws, TableApi};
use crate::resources::event_source_mapping::aws::{self as mapping_aws, MappingApi};
use crate::resources::iam_role::aws::{self as role_aws, RoleApi};
use crate::resources::lambda_function::aws::{self as function_aws, FunctionApi};
use crate::resources::lambda_function::{Selection, log_group_name};
use crate::resources::vpc_endpoint::aws::{self as endpoint_aws, EndpointApi, VpcFacts};
use crate::resources::vpc_endpoint::{VpcChoice, service_name};
use crate::stack::Stack;

/// Reads at most this many resources of one kind at once.
const PARALLEL_READS: usize = 16;

async fn tables(aws: &Aws, stack: &Stack, sink: &dyn EventSink) -> Result<LiveState, AwsError> {
    let tables = stream::iter(&stack.tables)
        .map(|t| async move {
            let api = TableApi {
                client: &aws.dynamodb,
                wait: &aws.wait,
                reporter: Reporter {
                    address: &t.address,
                    sink,
                },
            };
            Ok::<_, AwsError>((t.address.clone(), table_aws::read(api, &t.spec.name).await?))
        })
        .buffer_unordered(PARALLEL_READS)
        .try_collect()
        .await?;
    Ok(LiveState {
        tables,
        ..LiveState::default()
    })
}

async fn network(aws: &Aws, stack: &Stack) -> Result<BTreeMap<String, VpcFacts>, AwsError> {
    let mut wanted: BTreeSet<String> = stack
        .endpoints
        .iter()
        .map(|e| match &e.spec.vpc {
            VpcChoice::Default => "default".to_string(),
            VpcChoice::Id(id) => id.clone(),
        })
        .collect();
    if stack.functions.iter().any(|f| {
        f.spec
            .vpc
            .as_ref()
            .is_some_and(|(s, g)| *s == Selection::Default || *g == Selection::Default)
    }) {
        wanted.insert("default".into());
    }
    let facts = try_join_all(wanted.into_iter().map(|key| async move {
        let id = if key == "default" {
            endpoint_aws::default_vpc(&aws.ec2).await?
        } else {
            Some(key.clone())
        };
        match id {
            Some(id) => {
                Ok::<_, AwsError>(Some((key, endpoint_aws::vpc_facts(&aws.ec2, &id).await?)))
            }
            None => Ok(None),
        }
    }))
    .await?;
    Ok(facts.into_iter().flatten().collect())
}

/// Reads the live state of every resource `stack` declares. Log groups are only read for
/// `destroy`, the only command that acts on them.
pub async fn refresh(
    aws: &Aws,
    stack: &Stack,
    ctx: &Context,
    mode: Mode,
    sink: &dyn EventSink,
) -> Result<LiveState, AwsError> {
    let roles = try_join_all(stack.roles.iter().map(|r| async move {
        let api = RoleApi {
            client: &aws.iam,
            wait: &aws.wait,
            reporter: Reporter {
                address: &r.address,
                sink,
            },
        };
        Ok::<_, AwsError>((r.address.clone(), role_aws::read(api, &r.spec.name).await?))
    }));
    let functions = try_join_all(stack.functions.iter().map(|f| async move {
        let api = FunctionApi {
            client: &aws.lambda,
            logs: &aws.logs,
            wait: &aws.wait,
            reporter: Reporter {
                address: &f.address,
                sink,
            },
        };
        let (live, logs) = tokio::try_join!(function_aws::read(api, &f.spec.name), async {
            if mode == Mode::Destroy {
                function_aws::log_group_exists(api, &log_group_name(&f.spec.name)).await
            } else {
                Ok(false)
            }
        })?;
        Ok::<_, AwsError>((f.address.clone(), live, logs))
    }));
    let mappings = try_join_all(stack.mappings.iter().map(|m| async move {
        let api = MappingApi {
            client: &aws.lambda,
            wait: &aws.wait,
            reporter: Reporter {
                address: &m.address,
                sink,
            },
        };
        let function = stack
            .functions
            .iter()
            .find(|f| f.address == m.spec.function)
            .map_or("", |f| f.spec.name.as_str());
        // Listed by ARN, as created: moto compares `FunctionName` as plain text.
        let function = crate::resources::lambda_function::arn(&ctx.region, &ctx.account, function);
        let table = stack
            .tables
            .iter()
            .find(|t| t.address == m.spec.table)
            .map_or("", |t| t.spec.name.as_str());
        // Any stream of this table, current or older: a stale mapping is ours to replace.
        let prefix = format!(
            "arn:aws:dynamodb:{}:{}:table/{table}/stream/",
            ctx.region, ctx.account
        );
        Ok::<_, AwsError>((
            m.address.clone(),
            mapping_aws::read(api, &function, &prefix).await?,
        ))
    }));
    let endpoints = async {
        let vpcs = network(aws, stack).await?;
        let found = try_join_all(stack.endpoints.iter().map(|e| {
            let vpcs = &vpcs;
            async move {
                let key = match &e.spec.vpc {
                    VpcChoice::Default => "default".to_string(),
                    VpcChoice::Id(id) => id.clone(),
                };
                let api = EndpointApi {
                    client: &aws.ec2,
                    wait: &aws.wait,
                    reporter: Reporter {
                        address: &e.address,
                        sink,
                    },
                };
                let live = match vpcs.get(&key) {
                    Some(f) => {
                        endpoint_aws::read(
                            api,
                            &f.vpc_id,
                            &service_name(&e.spec.service, &ctx.region),
                        )
                        .await?
                    }
                    None => Vec::new(),
                };
                Ok::<_, AwsError>((e.address.clone(), live))
            }
        }))
        .await?;
        Ok::<_, AwsError>((vpcs, found))
    };
    let (mut state, roles, functions, mappings, (vpcs, endpoints), orphans) = tokio::try_join!(
        tables(aws, stack, sink),
        roles,
        functions,
        mappings,
        endpoints,
        orphans(aws, stack)
    )?;
    state.orphans = orphans;
    state.roles = roles.into_iter().collect();
    for (address, live, logs) in functions {
        state.log_groups.insert(address.clone(), logs);
        state.functions.insert(address, live);
    }
    state.mappings = mappings.into_iter().collect();
    state.endpoints = endpoints.into_iter().collect();
    state.vpcs = vpcs;
    Ok(state)
}

/// Resources tagged as owned by `stack` that it no longer declares, found with one
/// Resource Groups Tagging API query (IAM roles are global and not covered by it).
pub async fn orphans(aws: &Aws, stack: &Stack) -> Result<Vec<crate::plan::Orphan>, AwsError> {
    use crate::plan::Orphan;
    use crate::resources::OWNER_TAG;
    let filter = aws_sdk_resourcegroupstagging::types::TagFilter::builder()
        .key(OWNER_TAG)
        .values(&stack.name)
        .build();
    let mut arns = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .tagging
            .get_resources()
            .tag_filters(filter.clone())
            .resource_type_filters("dynamodb:table")
            .resource_type_filters("lambda:function")
            .resource_type_filters("ec2:vpc-endpoint")
            .set_pagination_token(token.clone())
            .send()
            .await
            .map_err(|e| AwsError::call("GetResources", &stack.name, &e, false))?;
        arns.extend(
            out.resource_tag_mapping_list()
                .iter()
                .filter_map(|m| m.resource_arn().map(str::to_string)),
        );
        token = out.pagination_token.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    let tables: BTreeSet<&str> = stack.tables.iter().map(|t| t.spec.name.as_str()).collect();
    let functions: BTreeSet<&str> = stack
        .functions
        .iter()
        .map(|f| f.spec.name.as_str())
        .collect();
    let mut found = Vec::new();
    let mut endpoint_ids = Vec::new();
    for arn in &arns {
        if let Some(name) = arn.split(":table/").nth(1).filter(|n| !n.contains('/')) {
            if !tables.contains(name) {
                found.push(Orphan::Table(name.to_string()));
            }
        } else if let Some(name) = arn.split(":function:").nth(1) {
            let name = name.split(':').next().unwrap_or(name);
            if !functions.contains(name) {
                found.push(Orphan::Function(name.to_string()));
            }
        } else if let Some(id) = arn.split(":vpc-endpoint/").nth(1) {
            // Declared endpoints are matched in the plan, which knows their ids.
            endpoint_ids.push(id.to_string());
        }
    }
    if !endpoint_ids.is_empty() {
        // EC2 keeps deleted endpoints (and their tags) listed for a while.
        let out = aws
            .ec2
            .describe_vpc_endpoints()
            .set_vpc_endpoint_ids(Some(endpoint_ids))
            .send()
            .await
            .map_err(|e| AwsError::call("DescribeVpcEndpoints", &stack.name, &e, false))?;
        for e in out.vpc_endpoints() {
            let state = e
                .state()
                .map(|s| s.as_str().to_ascii_lowercase())
                .unwrap_or_default();
            if state != "deleted"
                && state != "deleting"
                && let Some(id) = e.vpc_endpoint_id()
            {
                found.push(Orphan::Endpoint(id.to_string()));
            }
        }
    }
    found.sort();
    Ok(found)
}
