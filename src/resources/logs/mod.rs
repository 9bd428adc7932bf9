//! `CloudWatch` Logs groups that belong to a resource of the stack (a function's
//! `/aws/lambda/<name>`): the facts refresh reads for all of them in one listing, and the
//! prefix that listing asks for. Not a kind of its own: the owner plans its group. Pure.

pub mod aws;

/// `CloudWatch` Logs' prices in US East (N. Virginia), standard log class, in US dollars,
/// from <https://aws.amazon.com/cloudwatch/pricing/> as published in 2026.
pub mod prices {
    /// Per GB ingested.
    pub const INGESTED_GB: f64 = 0.50;
    /// Per GB-month stored.
    pub const STORED_GB_MONTH: f64 = 0.03;
}

/// The cost line of log groups kept `days` each (`groups`: their names), in `region`.
#[must_use]
pub fn cost_line(region: &str, groups: &[(String, i32)], stopping: bool) -> Option<String> {
    if groups.is_empty() {
        return None;
    }
    let each: Vec<String> = groups
        .iter()
        .map(|(name, days)| format!("`{name}` kept {days} days"))
        .collect();
    let basis = if region == "us-east-1" {
        "us-east-1 price of 2026".to_string()
    } else {
        format!("us-east-1 price of 2026; {region} may differ")
    };
    Some(if stopping {
        format!(
            "stops costing once deleted: the stored logs of {}",
            each.join(", ")
        )
    } else {
        format!(
            "cost: logs {}: ${:.2} per GB written and ${:.2} per GB-month stored, the first 5 GB a month free; a lower retention stores less ({basis})",
            each.join(", "),
            prices::INGESTED_GB,
            prices::STORED_GB_MONTH
        )
    })
}

/// What refresh knows of one log group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogGroupFacts {
    /// Days its events are kept; `None`: never expire (CloudWatch's default).
    pub retention_days: Option<i32>,
}

/// The longest prefix shared by every name in `names` (what one `DescribeLogGroups` by
/// prefix asks for to see all of them); `None` when there is no name.
#[must_use]
pub fn common_prefix<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut names = names.into_iter();
    let first = names.next()?;
    let mut prefix = first.to_string();
    for name in names {
        let shared = prefix
            .char_indices()
            .zip(name.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, c), _)| i + c.len_utf8());
        prefix.truncate(shared);
    }
    Some(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_listing_covers_every_group_by_their_shared_prefix() {
        assert_eq!(common_prefix(Vec::<&str>::new()), None);
        assert_eq!(
            common_prefix(["/aws/lambda/cruddur-messaging-stream"]).as_deref(),
            Some("/aws/lambda/cruddur-messaging-stream")
        );
        assert_eq!(
            common_prefix([
                "/aws/lambda/cruddur-a",
                "/aws/lambda/cruddur-b",
                "/aws/lambda/cx"
            ])
            .as_deref(),
            Some("/aws/lambda/c")
        );
    }
}

#[cfg(test)]
mod sdk_tests {
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
        super::aws::create(api, GROUP, 7, "cruddur")
            .await
            .expect("created");
        // A run repeated after a crash: the group is there, the retention is set again.
        super::aws::create(api, GROUP, 7, "cruddur")
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
        let groups = super::aws::list(&aws, "/aws/lambda/c").await.unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups["/aws/lambda/cruddur-a"].retention_days, Some(14));
        assert_eq!(groups["/aws/lambda/cx"].retention_days, None);
    }
}
