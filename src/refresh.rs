//! Reading live state for every declared resource, concurrently. Never writes.
//!
//! Round one asks everything keyed by a name the stack gives, the account id (STS)
//! included; round two asks only what needs a round-one answer (a table's tags need its
//! ARN, a VPC's route tables need its id, stray inline policies need their names). Each
//! thing is read once.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;

use crate::aws::{Api, Aws, AwsError};
use crate::events::EventSink;
use crate::plan::{LiveState, Mode, Stray};
use crate::resources::dynamodb_table::aws::{self as table_aws};
use crate::resources::event_source_mapping::aws::{self as mapping_aws};
use crate::resources::iam_role::aws::{self as role_aws};
use crate::resources::lambda_function::aws::{self as function_aws};
use crate::resources::lambda_function::{FunctionState, Selection, log_group_name};
use crate::resources::vpc::VpcFacts;
use crate::resources::vpc_endpoint::aws::{self as endpoint_aws};
use crate::resources::vpc_endpoint::{EndpointLive, VpcChoice, service_name};
use crate::resources::{Address, Kind, OWNER_TAG};
use crate::stack::{Declared, Stack};

/// The VPC key (`default` or an id) of a declared endpoint.
fn vpc_key(choice: &VpcChoice) -> String {
    match choice {
        VpcChoice::Default => "default".to_string(),
        VpcChoice::Id(id) => id.clone(),
    }
}

/// VPC facts for every VPC the stack uses, and every endpoint of each service it declares.
async fn network(
    aws: &Aws,
    stack: &Stack,
    region: &str,
    sink: &dyn EventSink,
) -> Result<
    (
        BTreeMap<String, VpcFacts>,
        BTreeMap<String, Vec<EndpointLive>>,
    ),
    AwsError,
> {
    let placement = stack.functions.iter().any(|f| {
        f.spec
            .vpc
            .as_ref()
            .is_some_and(|(s, g)| *s == Selection::Default || *g == Selection::Default)
    });
    let mut keys: BTreeSet<String> = stack
        .endpoints
        .iter()
        .map(|e| vpc_key(&e.spec.vpc))
        .collect();
    if placement {
        keys.insert("default".into());
    }
    let services: BTreeSet<String> = stack
        .endpoints
        .iter()
        .map(|e| service_name(&e.spec.service, region))
        .collect();
    let default_vpc = async {
        if keys.contains("default") {
            crate::resources::vpc::aws::default_vpc(&aws.ec2).await
        } else {
            Ok(None)
        }
    };
    let endpoints = try_join_all(services.into_iter().map(|service| async move {
        let address = Address::new(crate::resources::Kind::VpcEndpoint, &service);
        let api = Api::new(aws, &address, sink);
        Ok::<_, AwsError>((service.clone(), endpoint_aws::read(api, &service).await?))
    }));
    let (default_vpc, endpoints) = tokio::try_join!(default_vpc, endpoints)?;
    let facts = try_join_all(keys.iter().map(|key| {
        let default_vpc = default_vpc.clone();
        async move {
            let id = if key == "default" {
                default_vpc
            } else {
                Some(key.clone())
            };
            match id {
                Some(id) => Ok::<_, AwsError>(Some((
                    key.clone(),
                    crate::resources::vpc::aws::vpc_facts(
                        &aws.ec2,
                        &id,
                        placement && key == "default",
                    )
                    .await?,
                ))),
                None => Ok(None),
            }
        }
    }))
    .await?;
    Ok((
        facts.into_iter().flatten().collect(),
        endpoints.into_iter().collect(),
    ))
}

/// Reads every declared resource of one kind with `read`, concurrently, each holding a
/// `--parallelism` permit, and pairs each answer with its address.
async fn read_all<'s, S, L, F, Fut>(
    aws: &'s Aws,
    sink: &'s dyn EventSink,
    declared: &'s [Declared<S>],
    read: F,
) -> Result<Vec<(Address, L)>, AwsError>
where
    F: Fn(Api<'s>, &'s Declared<S>) -> Fut,
    Fut: std::future::Future<Output = Result<L, AwsError>>,
{
    try_join_all(declared.iter().map(|d| {
        let read = &read;
        async move {
            let _permit = aws.reads.acquire().await;
            let live = read(Api::new(aws, &d.address, sink), d).await?;
            Ok((d.address.clone(), live))
        }
    }))
    .await
}

/// Reads the live state of every resource `stack` declares and the account id. Log groups
/// are only read for `destroy`, the only command that acts on them.
pub async fn refresh(
    aws: &Aws,
    stack: &Stack,
    mode: Mode,
    sink: &dyn EventSink,
) -> Result<(LiveState, String), AwsError> {
    let tables = read_all(aws, sink, &stack.tables, |api, t| {
        table_aws::read(api, &t.spec.name)
    });
    let roles = read_all(aws, sink, &stack.roles, |api, r| async move {
        let declared: Vec<String> = r.spec.policies.keys().cloned().collect();
        role_aws::read(api, &r.spec.name, &declared).await
    });
    let functions = read_all(aws, sink, &stack.functions, |api, f| async move {
        tokio::try_join!(function_aws::read(api, &f.spec.name), async {
            if mode == Mode::Destroy {
                function_aws::log_group_exists(api, &log_group_name(&f.spec.name)).await
            } else {
                Ok(false)
            }
        })
    });
    let mappings = read_all(aws, sink, &stack.mappings, |api, m| async move {
        let function = stack
            .functions
            .iter()
            .find(|f| f.address == m.spec.function)
            .map_or("", |f| f.spec.name.as_str());
        let table = stack
            .tables
            .iter()
            .find(|t| t.address == m.spec.table)
            .map_or("", |t| t.spec.name.as_str());
        mapping_aws::read(api, function, Some(table)).await
    });
    let (account, tables, roles, functions, mappings, (vpcs, by_service), orphans) = tokio::try_join!(
        aws.account_id(),
        tables,
        roles,
        functions,
        mappings,
        network(aws, stack, &aws.region, sink),
        orphans(aws, stack, sink)
    )?;
    let mut state = LiveState {
        tables: tables.into_iter().collect(),
        roles: roles.into_iter().collect(),
        ..LiveState::default()
    };
    for (address, (live, logs)) in functions {
        state.functions.insert(
            address,
            FunctionState {
                function: live,
                log_group: logs,
            },
        );
    }
    state.mappings = mappings.into_iter().collect();
    for e in &stack.endpoints {
        let service = service_name(&e.spec.service, &aws.region);
        let vpc = vpcs.get(&vpc_key(&e.spec.vpc)).map(|f| f.vpc_id.as_str());
        let found = by_service
            .get(&service)
            .into_iter()
            .flatten()
            .filter(|l| Some(l.config.vpc_id.as_str()) == vpc)
            .cloned()
            .collect();
        state.endpoints.insert(e.address.clone(), found);
    }
    state.vpcs = vpcs;
    state.orphans = orphans;
    Ok((state, account))
}

/// Resources tagged as owned by `stack` that it no longer declares, found with one
/// Resource Groups Tagging API query over every kind it covers (IAM roles are global and
/// not covered), each read back by its kind: the Tagging API is eventually consistent and
/// lists deleted resources for a while, and a stray that does not exist is nothing to
/// delete.
pub async fn orphans(
    aws: &Aws,
    stack: &Stack,
    sink: &dyn EventSink,
) -> Result<Vec<Stray>, AwsError> {
    let listed = listed_orphans(aws, stack).await?;
    let checked = try_join_all(listed.into_iter().map(|(kind, name)| async move {
        let _permit = aws.reads.acquire().await;
        let address = Address::new(kind, &name);
        let api = Api::new(aws, &address, sink);
        crate::resources::read_stray(api, &stack.name, kind, &name).await
    }))
    .await?;
    Ok(checked.into_iter().flatten().collect())
}

/// What the Tagging API lists as owned by `stack` and not declared, by kind and name.
async fn listed_orphans(aws: &Aws, stack: &Stack) -> Result<Vec<(Kind, String)>, AwsError> {
    let filter = aws_sdk_resourcegroupstagging::types::TagFilter::builder()
        .key(OWNER_TAG)
        .values(&stack.name)
        .build();
    let types: Vec<String> = crate::resources::stray_types()
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .tagging
            .get_resources()
            .tag_filters(filter.clone())
            .set_resource_type_filters(Some(types.clone()))
            .set_pagination_token(token.clone())
            .send()
            .await
            .map_err(|e| AwsError::call("GetResources", &stack.name, &e, false))?;
        found.extend(
            out.resource_tag_mapping_list()
                .iter()
                .filter_map(|m| m.resource_arn())
                .filter_map(|arn| crate::resources::stray_of(stack, arn)),
        );
        token = out.pagination_token.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    found.sort();
    Ok(found)
}
