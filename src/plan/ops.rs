//! What apply runs for each kind: the operation payloads a plan records.

pub use crate::resources::dynamodb_table::TableOp;
pub use crate::resources::event_source_mapping::MappingOp;
pub use crate::resources::iam_role::RoleOp;
pub use crate::resources::lambda_function::FunctionOp;
pub use crate::resources::vpc_endpoint::EndpointOp;

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
