//! Copies of the AWS-managed policies a bootcamp role attaches, bundled so that a plan can
//! evaluate a role without reading them (the seed stack's plan keeps its read count) and
//! `validate` can do so offline.
//!
//! Each copy (one JSON file in `managed/`) holds the policy's ARN, its default version id,
//! the date of that version, the date it was taken and where from, and the document as
//! `GetPolicyVersion` returns it once URL-decoded. AWS revises managed policies now and
//! then: a copy is a snapshot, and the version id says which. An AWS-managed policy not
//! bundled here, and every customer-managed policy, is read by `plan` (`GetPolicy`, then
//! `GetPolicyVersion` of its default version) and reported as not checked by `validate`.
//! The same documents ship in moto 5.2.5's `moto/iam/aws_managed_policies.py` (`PyPI`),
//! which the tests' emulator loads.

use serde_json::Value;

/// One bundled AWS-managed policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Managed {
    /// Its ARN, path included (`…:policy/service-role/AWSLambdaBasicExecutionRole`).
    pub arn: String,
    /// The default version when it was taken (`v3`).
    pub version_id: String,
    /// When AWS made that version (`YYYY-MM-DD`).
    pub version_date: String,
    /// When the copy was taken (`YYYY-MM-DD`).
    pub taken: String,
    /// Where it was taken from.
    pub source: String,
    /// The policy document.
    pub document: Value,
}

/// The bundled files, by name.
const FILES: &[(&str, &str)] = &[
    (
        "AWSLambdaInvocation-DynamoDB",
        include_str!("managed/AWSLambdaInvocation-DynamoDB.json"),
    ),
    (
        "AWSLambdaBasicExecutionRole",
        include_str!("managed/AWSLambdaBasicExecutionRole.json"),
    ),
    (
        "AWSLambdaDynamoDBExecutionRole",
        include_str!("managed/AWSLambdaDynamoDBExecutionRole.json"),
    ),
    (
        "AWSLambdaVPCAccessExecutionRole",
        include_str!("managed/AWSLambdaVPCAccessExecutionRole.json"),
    ),
    (
        "AWSLambdaENIManagementAccess",
        include_str!("managed/AWSLambdaENIManagementAccess.json"),
    ),
    ("AWSLambdaRole", include_str!("managed/AWSLambdaRole.json")),
    (
        "AWSLambda_FullAccess",
        include_str!("managed/AWSLambda_FullAccess.json"),
    ),
    (
        "AmazonDynamoDBFullAccess",
        include_str!("managed/AmazonDynamoDBFullAccess.json"),
    ),
    (
        "AmazonDynamoDBFullAccess_v2",
        include_str!("managed/AmazonDynamoDBFullAccess_v2.json"),
    ),
    (
        "AmazonDynamoDBReadOnlyAccess",
        include_str!("managed/AmazonDynamoDBReadOnlyAccess.json"),
    ),
    (
        "AdministratorAccess",
        include_str!("managed/AdministratorAccess.json"),
    ),
    (
        "PowerUserAccess",
        include_str!("managed/PowerUserAccess.json"),
    ),
];

/// The AWS-managed policies whose attachment is an over-broad grant for a stack's role:
/// they allow far more than any function or cache of a stack needs.
pub const OVER_BROAD: &[&str] = &[
    "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess",
    "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess_v2",
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/PowerUserAccess",
];

/// Parses one bundled file. The test `every_bundled_policy_parses` proves each does.
fn parse(text: &str) -> Option<Managed> {
    let v: Value = serde_json::from_str(text).ok()?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Some(Managed {
        arn: field("arn")?,
        version_id: field("version_id")?,
        version_date: field("version_date")?,
        taken: field("taken")?,
        source: field("source")?,
        document: v.get("document")?.clone(),
    })
}

/// Every bundled copy, parsed once.
#[must_use]
pub fn all() -> &'static [Managed] {
    static ALL: std::sync::OnceLock<Vec<Managed>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| FILES.iter().filter_map(|(_, text)| parse(text)).collect())
}

/// The bundled copy of the AWS-managed policy `arn` (path included), if there is one.
#[must_use]
pub fn bundled(arn: &str) -> Option<&'static Managed> {
    all().iter().find(|m| m.arn == arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_policy_parses_with_its_version_and_dates() {
        assert_eq!(all().len(), FILES.len(), "every file parses");
        let date = |s: &str| {
            s.len() == 10
                && s.as_bytes()[4] == b'-'
                && s.as_bytes()[7] == b'-'
                && s.chars().filter(char::is_ascii_digit).count() == 8
        };
        for (name, _) in FILES {
            let m = all().iter().find(|m| m.arn.ends_with(&format!("/{name}")));
            let m = m.unwrap_or_else(|| panic!("{name} is bundled under its own name"));
            assert!(m.version_id.starts_with('v'), "{name}: {}", m.version_id);
            assert!(date(&m.version_date) && date(&m.taken), "{name}");
            assert_eq!(m.document["Version"], "2012-10-17", "{name}");
            assert!(
                m.document["Statement"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty()),
                "{name} has statements"
            );
            assert_eq!(bundled(&m.arn), Some(m), "{name} is found by its ARN");
        }
    }

    #[test]
    fn a_path_must_match_and_customer_policies_are_never_bundled() {
        assert!(
            bundled("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole").is_some()
        );
        // The same name under another path is another policy.
        assert!(bundled("arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole").is_none());
        assert!(bundled("arn:aws:iam::123456789012:policy/AdministratorAccess").is_none());
    }

    #[test]
    fn the_stream_policy_grants_the_four_stream_actions_and_no_logs() {
        use super::super::eval::{Decision, Source, evaluate};
        let m = bundled("arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB").unwrap();
        let s = [Source {
            label: "p",
            document: &m.document,
        }];
        let stream =
            "arn:aws:dynamodb:ca-central-1:123456789012:table/t/stream/2026-01-01T00:00:00.000";
        for a in [
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
        ] {
            assert_eq!(evaluate(&s, a, stream), Decision::Allowed, "{a}");
        }
        assert_eq!(evaluate(&s, "dynamodb:ListStreams", "*"), Decision::Allowed);
        // AWS-RULES.md: it grants no CloudWatch Logs action.
        assert_eq!(
            evaluate(
                &s,
                "logs:PutLogEvents",
                "arn:aws:logs:ca-central-1:123456789012:log-group:/aws/lambda/f:*"
            ),
            Decision::ImplicitDeny
        );
    }
}
