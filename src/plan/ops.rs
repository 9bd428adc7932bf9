//! What apply runs for each kind: the operation payloads a plan records.

use crate::resources::Address;
use crate::resources::dynamodb_table::{TableSpec, TableStep};
use crate::resources::event_source_mapping::MappingConfig;
use crate::resources::iam_role::{RoleConfig, RoleStep};
use crate::resources::lambda_function::{FunctionConfig, FunctionStep};
use crate::resources::vpc_endpoint::{EndpointConfig, EndpointUpdate};

/// What apply must do to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableOp {
    /// Create it.
    Create(TableSpec),
    /// Wait until the table of the same name that AWS is still deleting is gone (it holds
    /// the name until then), then create it.
    CreateAfterDeletion(TableSpec),
    /// Run these steps in order on the table with this ARN.
    Update {
        /// The table ARN (for tag calls).
        arn: String,
        /// The steps, in AWS's accepted order.
        steps: Vec<TableStep>,
    },
    /// Delete the table of this name, wait until it is gone, then create this one.
    Replace(TableSpec),
    /// Delete it and wait until it is gone.
    Delete,
}

/// What apply must do to one role. Policies are templates: references not known at plan
/// time are filled in at apply time.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleOp {
    /// Create it.
    Create(RoleConfig),
    /// Run these steps.
    Update(Vec<RoleStep>),
    /// Delete it, then create this one.
    Replace(RoleConfig),
    /// Delete it (policies and attachments first).
    Delete,
}

/// What apply must do to one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionOp {
    /// Create it from this package.
    Create {
        /// Configuration (environment values may hold late references).
        config: FunctionConfig,
        /// The zip.
        zip: Vec<u8>,
    },
    /// Run these steps.
    Update {
        /// Wanted configuration.
        config: FunctionConfig,
        /// The function ARN (tags).
        arn: String,
        /// The zip (used by a code step).
        zip: Vec<u8>,
        /// The steps.
        steps: Vec<FunctionStep>,
    },
    /// Delete it, then create it from this package.
    Replace {
        /// Configuration.
        config: FunctionConfig,
        /// The zip.
        zip: Vec<u8>,
    },
    /// Delete it; for a function in a VPC, wait until Lambda has released its network
    /// interfaces (the role it depends on is deleted after, and Lambda needs it for that).
    Delete {
        /// Whether the function is in a VPC.
        in_vpc: bool,
    },
}

/// What apply must do to one stream mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingOp {
    /// Create it on the stream of `table` (its ARN is in the config, or known after the
    /// table's change).
    Create {
        /// Wanted configuration.
        config: MappingConfig,
        /// The table whose stream it reads.
        table: Address,
        /// Duplicates to delete first.
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
    /// Delete these mappings.
    Delete(Vec<String>),
}

/// What apply must do to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointOp {
    /// Create it.
    Create(EndpointConfig),
    /// Update the endpoint `id` in place, and delete duplicates the stack owns.
    Update {
        /// Endpoint id.
        id: String,
        /// The changes.
        update: EndpointUpdate,
        /// Other endpoints of this stack for the same VPC and service.
        duplicates: Vec<String>,
    },
    /// Delete `id`, then create this one.
    Replace {
        /// The old endpoint.
        id: String,
        /// The new configuration.
        config: EndpointConfig,
    },
    /// Delete these (the endpoint and any duplicates the stack owns).
    Delete(Vec<String>),
}

/// The kind-specific work of a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// A table.
    Table(TableOp),
    /// A role.
    Role(RoleOp),
    /// A function.
    Function(FunctionOp),
    /// A function's log group (destroy only).
    LogGroupDelete,
    /// A stream mapping.
    Mapping(MappingOp),
    /// A VPC endpoint.
    Endpoint(EndpointOp),
    /// A resource the stack owns but no longer declares: delete it.
    Orphan(Orphan),
}

/// A resource tagged as owned by the stack that the stack file no longer declares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Orphan {
    /// A table, by name.
    Table(String),
    /// A function, by name (its mappings and log group go with it).
    Function(String),
    /// A VPC endpoint, by id.
    Endpoint(String),
}
