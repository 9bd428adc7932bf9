//! Facts about the VPCs a stack uses, which several kinds resolve their selections against
//! (`default`, `main`, `all`): not a resource kind, nothing is created or deleted here. Pure.

pub mod aws;

use std::collections::BTreeSet;

/// Facts about a VPC that selections (`default`, `main`, `all`) resolve against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VpcFacts {
    /// The VPC id.
    pub vpc_id: String,
    /// The main route table.
    pub main_route_table: Option<String>,
    /// Every route table.
    pub route_tables: BTreeSet<String>,
    /// Default subnets (one per availability zone).
    pub default_subnets: BTreeSet<String>,
    /// The `default` security group.
    pub default_security_group: Option<String>,
}
