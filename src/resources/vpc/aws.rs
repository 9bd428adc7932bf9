//! The VPC facts through EC2: the default VPC, its route tables, default subnets and
//! `default` security group. Read once per refresh for every kind that needs them.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::Filter;

use super::VpcFacts;
use crate::aws::AwsError;

/// One EC2 `Filter` with a single value.
fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The id of the region's default VPC, if it has one.
pub async fn default_vpc(client: &Client) -> Result<Option<String>, AwsError> {
    let out = client
        .describe_vpcs()
        .filters(filter("is-default", "true"))
        .send()
        .await
        .map_err(|e| AwsError::call("DescribeVpcs", "the default VPC", &e, false))?;
    Ok(out
        .vpcs()
        .first()
        .and_then(|v| v.vpc_id().map(str::to_string)))
}

/// Route tables of `vpc_id`, and with `placement` its default subnets and default security
/// group (for Lambda VPC placement), read together.
pub async fn vpc_facts(
    client: &Client,
    vpc_id: &str,
    placement: bool,
) -> Result<VpcFacts, AwsError> {
    let (tables, subnets, groups) = tokio::try_join!(
        async {
            client
                .describe_route_tables()
                .filters(filter("vpc-id", vpc_id))
                .send()
                .await
                .map_err(|e| AwsError::call("DescribeRouteTables", vpc_id, &e, false))
        },
        async {
            if !placement {
                return Ok(
                    aws_sdk_ec2::operation::describe_subnets::DescribeSubnetsOutput::builder()
                        .build(),
                );
            }
            client
                .describe_subnets()
                .filters(filter("vpc-id", vpc_id))
                .send()
                .await
                .map_err(|e| AwsError::call("DescribeSubnets", vpc_id, &e, false))
        },
        async {
            if !placement {
                return Ok(aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput::builder().build());
            }
            client
                .describe_security_groups()
                .filters(filter("vpc-id", vpc_id))
                .filters(filter("group-name", "default"))
                .send()
                .await
                .map_err(|e| AwsError::call("DescribeSecurityGroups", vpc_id, &e, false))
        },
    )?;
    let main_route_table = tables
        .route_tables()
        .iter()
        .find(|t| t.associations().iter().any(|a| a.main() == Some(true)))
        .and_then(|t| t.route_table_id().map(str::to_string));
    Ok(VpcFacts {
        vpc_id: vpc_id.to_string(),
        main_route_table,
        route_tables: tables
            .route_tables()
            .iter()
            .filter_map(|t| t.route_table_id().map(str::to_string))
            .collect(),
        default_subnets: subnets
            .subnets()
            .iter()
            .filter(|s| s.default_for_az() == Some(true))
            .filter_map(|s| s.subnet_id().map(str::to_string))
            .collect(),
        default_security_group: groups
            .security_groups()
            .first()
            .and_then(|g| g.group_id().map(str::to_string)),
    })
}
