//! What answers at an environment's endpoint, and what it can do.
//!
//! An environment names its engine in the stack file (`engine:`). `aws` (the default) is
//! AWS itself or the moto emulator, which serve every kind and every API the tool uses.
//! `dynamodb-local` is AWS's DynamoDB Local, the bootcamp's docker-compose database: it
//! serves `DynamoDB` and its Streams API only, with no STS, no Resource Groups Tagging API,
//! no tagging (`UnknownOperationException: Tagging is not currently supported in DynamoDB
//! Local`), no point-in-time recovery and no backups, and its ARNs always name the account
//! `000000000000`. The capabilities below are what the drivers and the table kind ask, so
//! that no call DynamoDB Local would refuse is ever sent there.

use std::fmt;

/// The software behind an environment's endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Engine {
    /// AWS, or an emulator of all of it (moto): every kind, every API.
    #[default]
    Aws,
    /// DynamoDB Local: tables only, no tags, no STS, no PITR, no backups.
    DynamodbLocal,
}

impl Engine {
    /// Every engine, as the stack file spells it.
    pub const ALL: [Engine; 2] = [Engine::Aws, Engine::DynamodbLocal];

    /// The engine the stack file's `engine:` value names, if any.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The stack file's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Aws => "aws",
            Engine::DynamodbLocal => "dynamodb-local",
        }
    }

    /// The engine's name in messages: "AWS" or "DynamoDB Local".
    #[must_use]
    pub fn display_name(self) -> &'static str {
        match self {
            Engine::Aws => "AWS",
            Engine::DynamodbLocal => "DynamoDB Local",
        }
    }

    /// Whether resources can carry the ownership tag. Where they cannot, an ownership
    /// record in the stack's lock table stands in for it (`crate::ownership`).
    #[must_use]
    pub fn can_tag(self) -> bool {
        matches!(self, Engine::Aws)
    }

    /// The account id when the engine has no STS to ask: DynamoDB Local's ARNs all name
    /// `000000000000`.
    #[must_use]
    pub fn fixed_account(self) -> Option<&'static str> {
        match self {
            Engine::Aws => None,
            Engine::DynamodbLocal => Some("000000000000"),
        }
    }

    /// Whether tables have point-in-time recovery (`DescribeContinuousBackups` and
    /// `UpdateContinuousBackups` answer `UnknownOperationException` on DynamoDB Local).
    #[must_use]
    pub fn has_point_in_time_recovery(self) -> bool {
        matches!(self, Engine::Aws)
    }

    /// Whether on-demand backups exist (`CreateBackup`), which `--backup` needs.
    #[must_use]
    pub fn has_backups(self) -> bool {
        matches!(self, Engine::Aws)
    }

    /// Whether the Resource Groups Tagging API answers, which finds what a stack owns but
    /// no longer declares; without it the ownership records list them.
    #[must_use]
    pub fn has_tagging_api(self) -> bool {
        matches!(self, Engine::Aws)
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Engine;

    #[test]
    fn every_engine_parses_from_its_own_spelling_and_nothing_else_does() {
        for e in Engine::ALL {
            assert_eq!(Engine::parse(e.as_str()), Some(e));
        }
        assert_eq!(Engine::parse("dynamodb_local"), None);
        assert_eq!(Engine::parse("AWS"), None);
        assert_eq!(Engine::default(), Engine::Aws);
    }

    #[test]
    fn dynamodb_local_is_asked_for_nothing_it_lacks() {
        let e = Engine::DynamodbLocal;
        assert!(!e.can_tag());
        assert!(!e.has_point_in_time_recovery());
        assert!(!e.has_backups());
        assert!(!e.has_tagging_api());
        assert_eq!(e.fixed_account(), Some("000000000000"));
        let aws = Engine::Aws;
        assert!(aws.can_tag() && aws.has_point_in_time_recovery() && aws.has_backups());
        assert!(aws.has_tagging_api());
        assert_eq!(aws.fixed_account(), None);
    }
}
