//! Ownership records: the stand-in for the ownership tag where AWS cannot tag.
//!
//! Everything the tool creates says which stack owns it, so that a plan never touches what
//! the user made by hand and a destroy never leaves anything behind. On AWS (and moto) that
//! is the `cruddur-infra:stack` tag, set in the create call. Where the resource cannot carry
//! a tag (every table on DynamoDB Local; DAX subnet and parameter groups on AWS), the tool
//! writes an **ownership record** instead: one item in the stack's lock table
//! (`crate::lock::TABLE`) on the same endpoint, keyed by the resource's kind and AWS name,
//! holding the stack, the address and the name.
//!
//! The record follows the tag's rules exactly: it is written *before* the create (a crash
//! between the two leaves a record for a resource that does not exist, which is harmless and
//! reused by the next create, never a resource without an owner), deleted only *after* the
//! resource is gone, and written by `adopt` for a resource made by hand. A resource without
//! a record is "not ours" and refused like an untagged one. Records of a stack whose
//! resources it no longer declares are how strays are found without the Tagging API.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::{Aws, AwsError};
use crate::lock::TABLE;
use crate::resources::Kind;

/// The `record` attribute's value on ownership items, which tells them from lock items.
const RECORD: &str = "ownership";

/// One ownership record: which stack owns the resource of `kind` named `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The owning stack.
    pub stack: String,
    /// The kind of the resource.
    pub kind: Kind,
    /// The address that declared it when the record was written (`table.messages`).
    pub address: String,
    /// The resource's AWS name.
    pub name: String,
}

/// The lock table key of the record for `kind`/`name`. Lock items are keyed
/// `<stack>/<environment>`; the `owner#` prefix keeps the two apart.
fn key(kind: Kind, name: &str) -> String {
    format!("owner#{}#{name}", kind.as_str())
}

/// The stack that owns the resource of `kind` named `name`, from its record; `None` when
/// there is no record (or no lock table yet, which means no record either).
///
/// # Errors
/// AWS refused the consistent `GetItem`.
pub async fn owner(aws: &Aws, kind: Kind, name: &str) -> Result<Option<String>, AwsError> {
    let got = aws
        .dynamodb
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(key(kind, name)))
        .consistent_read(true)
        .send()
        .await;
    match got {
        Ok(out) => Ok(out
            .item
            .and_then(|item| item.get("stack").and_then(|v| v.as_s().ok()).cloned())),
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_dynamodb::operation::get_item::GetItemError::is_resource_not_found_exception,
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::call("GetItem", TABLE, &e, true)),
    }
}

/// Milliseconds since the epoch, the unit of `claimed_at` and `created`.
fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// How far apart the record's creation time and the resource's may be and still name the
/// same resource (clock and rounding differences between the tool and the endpoint).
const SAME_RESOURCE_MILLIS: i64 = 2_000;

/// The stack that owns the resource of `kind` named `name`, created at `created` (epoch
/// milliseconds, as AWS reports it), from its record.
///
/// A record names one resource, not a name: it says when that resource was created (written
/// after the create, or by `adopt`), or, before that is known, when the claim was made. A
/// resource of the same name created at another time (the record outlived a table dropped by
/// hand, and someone made a new one) is not the recorded one, so it is owned by no stack,
/// exactly like an untagged resource on AWS.
///
/// # Errors
/// AWS refused the consistent `GetItem`.
pub async fn owner_of(
    aws: &Aws,
    kind: Kind,
    name: &str,
    created: i64,
) -> Result<Option<String>, AwsError> {
    let got = aws
        .dynamodb
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(key(kind, name)))
        .consistent_read(true)
        .send()
        .await;
    let item = match got {
        Ok(out) => out.item,
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_dynamodb::operation::get_item::GetItemError::is_resource_not_found_exception,
            ) =>
        {
            None
        }
        Err(e) => return Err(AwsError::call("GetItem", TABLE, &e, true)),
    };
    let Some(item) = item else {
        return Ok(None);
    };
    let number = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
    };
    let same = match (number("created"), number("claimed_at")) {
        (Some(recorded), _) => (recorded - created).abs() <= SAME_RESOURCE_MILLIS,
        // Claimed, creation not yet recorded (a crash right after the create): the resource
        // is the claimed one if it was made after the claim.
        (None, Some(claimed)) => created + SAME_RESOURCE_MILLIS >= claimed,
        (None, None) => false,
    };
    Ok(same
        .then(|| item.get("stack").and_then(|v| v.as_s().ok()).cloned())
        .flatten())
}

/// Records when the claimed resource of `kind` named `name` was created (epoch milliseconds
/// as AWS reports it), right after the create, so that the record names that resource.
///
/// # Errors
/// AWS refused the `UpdateItem`.
pub async fn record_created(
    aws: &Aws,
    stack: &str,
    kind: Kind,
    name: &str,
    created: i64,
) -> Result<(), AwsError> {
    aws.dynamodb
        .update_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(key(kind, name)))
        .update_expression("SET created = :created")
        .condition_expression("#stack = :stack")
        .expression_attribute_names("#stack", "stack")
        .expression_attribute_values(":created", AttributeValue::N(created.to_string()))
        .expression_attribute_values(":stack", AttributeValue::S(stack.into()))
        .send()
        .await
        .map(drop)
        .map_err(|e| AwsError::call("UpdateItem", TABLE, &e, true))
}

/// Writes the record that makes `stack` the owner of the resource of `kind` named `name`,
/// declared at `address`: before the create (`created` unknown yet), and by `adopt` (with the
/// existing resource's creation time). Creates the lock table if it does not exist yet.
/// Idempotent for the same stack (a retried write, or a crashed run's record); refused when
/// another stack's record holds the name.
///
/// # Errors
/// Another stack's record holds the name, or AWS refused the call.
pub async fn claim(
    aws: &Aws,
    stack: &str,
    kind: Kind,
    address: &str,
    name: &str,
    created: Option<i64>,
) -> Result<(), AwsError> {
    crate::lock::ensure_table(&aws.dynamodb).await?;
    let mut put = aws
        .dynamodb
        .put_item()
        .table_name(TABLE)
        .item("pk", AttributeValue::S(key(kind, name)))
        .item("record", AttributeValue::S(RECORD.into()))
        .item("stack", AttributeValue::S(stack.into()))
        .item("kind", AttributeValue::S(kind.as_str().into()))
        .item("address", AttributeValue::S(address.into()))
        .item("name", AttributeValue::S(name.into()))
        .item("claimed_at", AttributeValue::N(now_millis().to_string()))
        .condition_expression("attribute_not_exists(pk) OR #stack = :stack")
        .expression_attribute_names("#stack", "stack")
        .expression_attribute_values(":stack", AttributeValue::S(stack.into()));
    if let Some(created) = created {
        put = put.item("created", AttributeValue::N(created.to_string()));
    }
    let put = put.send().await;
    match put {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_dynamodb::operation::put_item::PutItemError::is_conditional_check_failed_exception,
            ) =>
        {
            let other = owner(aws, kind, name).await?.unwrap_or_else(|| "another stack".into());
            Err(AwsError::Unexpected {
                op: "PutItem",
                address: address.into(),
                message: format!(
                    "`{name}` is recorded as owned by stack `{other}` in `{TABLE}`; a stack never takes over another's resource (destroy it from `{other}`, or delete the record `{}` if that stack is gone)",
                    key(kind, name)
                ),
            })
        }
        Err(e) => Err(AwsError::call("PutItem", address, &e, true)),
    }
}

/// Deletes `stack`'s record for the resource of `kind` named `name`, once the resource is
/// gone. A record of another stack, or none, is left as it is.
///
/// # Errors
/// AWS refused the call.
pub async fn release(aws: &Aws, stack: &str, kind: Kind, name: &str) -> Result<(), AwsError> {
    let deleted = aws
        .dynamodb
        .delete_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(key(kind, name)))
        .condition_expression("#stack = :stack")
        .expression_attribute_names("#stack", "stack")
        .expression_attribute_values(":stack", AttributeValue::S(stack.into()))
        .send()
        .await;
    match deleted {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error().is_some_and(|e| {
                e.is_conditional_check_failed_exception() || e.is_resource_not_found_exception()
            }) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::call("DeleteItem", TABLE, &e, true)),
    }
}

/// Every record `stack` holds on this endpoint, read with a consistent, paginated scan of
/// the lock table (a few items: one per lock and per owned resource). No lock table means
/// no records.
///
/// # Errors
/// AWS refused the scan.
pub async fn list(aws: &Aws, stack: &str) -> Result<Vec<Record>, AwsError> {
    let mut records = Vec::new();
    let mut start = None;
    loop {
        let page = aws
            .dynamodb
            .scan()
            .table_name(TABLE)
            .consistent_read(true)
            .filter_expression("#record = :record AND #stack = :stack")
            .expression_attribute_names("#record", "record")
            .expression_attribute_names("#stack", "stack")
            .expression_attribute_values(":record", AttributeValue::S(RECORD.into()))
            .expression_attribute_values(":stack", AttributeValue::S(stack.into()))
            .set_exclusive_start_key(start)
            .send()
            .await;
        let page = match page {
            Ok(page) => page,
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_dynamodb::operation::scan::ScanError::is_resource_not_found_exception,
                ) =>
            {
                return Ok(records);
            }
            Err(e) => return Err(AwsError::call("Scan", TABLE, &e, true)),
        };
        for item in page.items() {
            let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
            // An item that does not parse was not written by this tool: not a record.
            if let (Some(stack), Some(kind), Some(address), Some(name)) =
                (text("stack"), text("kind"), text("address"), text("name"))
                && let Some(kind) = Kind::from_address(&kind)
            {
                records.push(Record {
                    stack,
                    kind,
                    address,
                    name,
                });
            }
        }
        start = page.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            break;
        }
    }
    records.sort_by(|a, b| (a.kind.as_str(), &a.name).cmp(&(b.kind.as_str(), &b.name)));
    Ok(records)
}

/// The lock table key of the create token for `address` in `stack`.
/// Keyed by environment as well: two environments of one stack may share an account, and
/// one's token must never hand back the other's endpoint.
fn token_key(stack: &str, environment: &str, address: &str) -> String {
    format!("token#{stack}#{environment}#{address}")
}

/// The idempotency token (EC2's `ClientToken`) for creating the resource at `address`:
/// the same for every retry of one create and for a crashed run and the next, so AWS makes
/// one resource however often the create is sent; new once the stack has deleted that
/// address's resource (`forget_token`), because EC2 answers a reused token with the original
/// result for at least 24 hours, which would hand back the deleted resource.
///
/// Kept as a record in the lock table (the same mechanism as ownership records): read with
/// a consistent `GetItem`, or made and written with a conditional `PutItem` (a concurrent
/// writer's token wins and is read back). The token is a SHA-256 hex digest (64
/// characters, EC2's limit) of the stack, the address and a random nonce, never the raw
/// names, which can be longer.
///
/// # Errors
/// AWS refused a call on the lock table.
pub async fn create_token(
    aws: &Aws,
    stack: &str,
    environment: &str,
    address: &str,
) -> Result<String, AwsError> {
    crate::lock::ensure_table(&aws.dynamodb).await?;
    let key = token_key(stack, environment, address);
    let read = || async {
        let got = aws
            .dynamodb
            .get_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::call("GetItem", address, &e, true))?;
        Ok::<_, AwsError>(
            got.item
                .and_then(|i| i.get("token").and_then(|v| v.as_s().ok()).cloned()),
        )
    };
    if let Some(token) = read().await? {
        return Ok(token);
    }
    let token = new_token(stack, environment, address);
    let put = aws
        .dynamodb
        .put_item()
        .table_name(TABLE)
        .item("pk", AttributeValue::S(key.clone()))
        .item("record", AttributeValue::S("create-token".into()))
        .item("token", AttributeValue::S(token.clone()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match put {
        Ok(_) => Ok(token),
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_dynamodb::operation::put_item::PutItemError::is_conditional_check_failed_exception,
            ) =>
        {
            read().await?.ok_or_else(|| AwsError::Unexpected {
                op: "GetItem",
                address: address.into(),
                message: "the create token was written by another run but cannot be read back; run the command again".into(),
            })
        }
        Err(e) => Err(AwsError::call("PutItem", address, &e, true)),
    }
}

/// Forgets the create token of `address`, once the stack has deleted its resource, so the
/// next create gets a new one.
///
/// # Errors
/// AWS refused the `DeleteItem`.
pub async fn forget_token(
    aws: &Aws,
    stack: &str,
    environment: &str,
    address: &str,
) -> Result<(), AwsError> {
    let deleted = aws
        .dynamodb
        .delete_item()
        .table_name(TABLE)
        .key(
            "pk",
            AttributeValue::S(token_key(stack, environment, address)),
        )
        .send()
        .await;
    match deleted {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(aws_sdk_dynamodb::operation::delete_item::DeleteItemError::is_resource_not_found_exception) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::call("DeleteItem", address, &e, true)),
    }
}

/// A fresh token: SHA-256 of the stack, the address and a nonce, as 64 hex characters.
fn new_token(stack: &str, environment: &str, address: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut nonce = [0u8; 16];
    // The clock and the pid still make the token unique if the OS has no random source.
    let _ = getrandom::fill(&mut nonce);
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = Sha256::new();
    for part in [
        stack.as_bytes(),
        environment.as_bytes(),
        address.as_bytes(),
        &nonce,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(clock.to_be_bytes());
    h.update(std::process::id().to_be_bytes());
    h.finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

#[cfg(test)]
mod tests;
