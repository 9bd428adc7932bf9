//! Log groups through the SDK: one paginated listing by prefix for every group of the
//! stack, and the writes a group's owner plans (create with its ownership tag, retention,
//! delete). A repeated create or delete is no error, so a run repeated after a crash
//! converges.

use std::collections::BTreeMap;

use super::LogGroupFacts;
use crate::aws::{Api, Aws, AwsError};
use crate::resources::OWNER_TAG;

/// Every log group whose name starts with `prefix`, by name: `DescribeLogGroups` with
/// `logGroupNamePrefix`, following `nextToken`.
pub async fn list(aws: &Aws, prefix: &str) -> Result<BTreeMap<String, LogGroupFacts>, AwsError> {
    let mut out = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(prefix)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| AwsError::call("DescribeLogGroups", prefix, &e, false))?;
        for g in page.log_groups() {
            if let Some(name) = g.log_group_name() {
                out.insert(
                    name.to_string(),
                    LogGroupFacts {
                        retention_days: g.retention_in_days(),
                    },
                );
            }
        }
        token = page.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Creates the log group `name` with the ownership tag (in the same call) and its
/// retention. A group that already exists (a repeated create, or one Lambda made) is
/// taken as it is and only gets the retention.
pub async fn create(
    api: Api<'_>,
    name: &str,
    retention_days: i32,
    stack: &str,
) -> Result<(), AwsError> {
    match api
        .aws
        .logs
        .create_log_group()
        .log_group_name(name)
        .tags(OWNER_TAG, stack)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupError::is_resource_already_exists_exception,
            ) => {}
        Err(e) => return Err(AwsError::call("CreateLogGroup", name, &e, false)),
    }
    set_retention(api, name, retention_days).await
}

/// Sets how many days the group `name` keeps its events (`PutRetentionPolicy`, an upsert).
pub async fn set_retention(api: Api<'_>, name: &str, days: i32) -> Result<(), AwsError> {
    api.aws
        .logs
        .put_retention_policy()
        .log_group_name(name)
        .retention_in_days(days)
        .send()
        .await
        .map_err(|e| AwsError::call("PutRetentionPolicy", name, &e, false))?;
    Ok(())
}

/// Deletes the log group `name`; already gone is success.
pub async fn delete(api: Api<'_>, name: &str) -> Result<(), AwsError> {
    match api
        .aws
        .logs
        .delete_log_group()
        .log_group_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_cloudwatchlogs::operation::delete_log_group::DeleteLogGroupError::is_resource_not_found_exception,
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::call("DeleteLogGroup", name, &e, false)),
    }
}
