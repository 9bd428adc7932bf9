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
