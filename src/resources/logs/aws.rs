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

#[cfg(test)]
mod tests {
    //! The log group's calls at the SDK seam: a repeated create is taken as done and still
    //! gets the retention; the listing follows every page.

    use aws_sdk_cloudwatchlogs::operation::create_log_group::{
        CreateLogGroupError, CreateLogGroupOutput,
    };
    use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
    use aws_sdk_cloudwatchlogs::operation::put_retention_policy::PutRetentionPolicyOutput;
    use aws_sdk_cloudwatchlogs::types::LogGroup;
    use aws_sdk_cloudwatchlogs::types::error::ResourceAlreadyExistsException;
    use aws_smithy_mocks::{RuleMode, mock};

    use crate::aws::{Api, WaitPolicy};
    use crate::events::{Recorder, Reporter};
    use crate::resources::{Address, Kind};
    use crate::testing::mock_sdk_client;

    const GROUP: &str = "/aws/lambda/cruddur-messaging-stream";

    #[tokio::test]
    async fn a_group_that_exists_already_still_gets_its_retention_and_the_owner_tag_is_sent() {
        let rules = [
            mock!(aws_sdk_cloudwatchlogs::Client::create_log_group)
                .match_requests(|r| {
                    r.log_group_name() == Some(GROUP)
                        && r.tags()
                            .and_then(|t| t.get("cruddur-infra:stack"))
                            .map(String::as_str)
                            == Some("cruddur")
                })
                .sequence()
                .output(|| CreateLogGroupOutput::builder().build())
                .error(|| {
                    CreateLogGroupError::ResourceAlreadyExistsException(
                        ResourceAlreadyExistsException::builder()
                            .message("exists")
                            .build(),
                    )
                })
                .build(),
            mock!(aws_sdk_cloudwatchlogs::Client::put_retention_policy)
                .match_requests(|r| {
                    r.log_group_name() == Some(GROUP) && r.retention_in_days() == Some(7)
                })
                .then_output(|| PutRetentionPolicyOutput::builder().build()),
        ];
        let client = mock_sdk_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, &rules);
        let aws = crate::testing::aws_of(WaitPolicy::default(), |a| a.logs = client.clone());
        let address = Address::new(Kind::LogGroup, "messaging_stream");
        let recorder = Recorder::default();
        let api = Api {
            aws: &aws,
            reporter: Reporter {
                address: &address,
                sink: &recorder,
            },
        };
        super::create(api, GROUP, 7, "cruddur")
            .await
            .expect("created");
        // A run repeated after a crash: the group is there, the retention is set again.
        super::create(api, GROUP, 7, "cruddur")
            .await
            .expect("taken as done");
        assert_eq!(rules[0].num_calls(), 2);
        assert_eq!(rules[1].num_calls(), 2);
    }

    #[tokio::test]
    async fn the_listing_follows_every_page() {
        let page = |name: &str, days: Option<i32>, next: Option<&str>| {
            DescribeLogGroupsOutput::builder()
                .log_groups(
                    LogGroup::builder()
                        .log_group_name(name)
                        .set_retention_in_days(days)
                        .build(),
                )
                .set_next_token(next.map(str::to_string))
                .build()
        };
        let rules = [mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
            .match_requests(|r| r.log_group_name_prefix() == Some("/aws/lambda/c"))
            .sequence()
            .output(move || page("/aws/lambda/cruddur-a", Some(14), Some("t1")))
            .output(move || page("/aws/lambda/cx", None, None))
            .build()];
        let client = mock_sdk_client!(aws_sdk_cloudwatchlogs, RuleMode::Sequential, &rules);
        let aws = crate::testing::aws_of(WaitPolicy::default(), |a| a.logs = client.clone());
        let groups = super::list(&aws, "/aws/lambda/c").await.unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups["/aws/lambda/cruddur-a"].retention_days, Some(14));
        assert_eq!(groups["/aws/lambda/cx"].retention_days, None);
    }
}
