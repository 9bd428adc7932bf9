//! `CloudWatch` Logs groups that belong to a resource of the stack (a function's
//! `/aws/lambda/<name>`): the facts refresh reads for all of them in one listing, and the
//! prefix that listing asks for. Not a kind of its own: the owner plans its group. Pure.

pub mod aws;

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
