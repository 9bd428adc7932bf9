//! What the operator's own credentials need: each kind declares, next to its calls, the IAM
//! permissions every AWS call it makes for read, create, update and delete requires, scoped
//! to the stack's ARNs where the service has resource-level permissions; `permissions`
//! joins them into one least-privilege identity policy. Pure.

use serde_json::Value;

/// When a permission is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// By `plan` (reads): also needed by `apply` and `destroy`, which plan first.
    Plan,
    /// By `apply` and `destroy` only (writes, waits, the lock).
    Change,
}

/// One grant the tool's calls need.
#[derive(Debug, Clone, PartialEq)]
pub struct Permission {
    /// The statement it joins (letters and digits): permissions with one `sid` merge.
    pub sid: String,
    /// When it is needed.
    pub phase: Phase,
    /// IAM actions, like `dynamodb:DescribeTable`.
    pub actions: Vec<&'static str>,
    /// ARNs, or `*` when the actions have no resource type.
    pub resources: Vec<String>,
    /// A condition block narrowing it (`iam:PassedToService`), if any.
    pub condition: Option<Value>,
    /// Why it is `*` or why it is there at all when no call of the tool's own shows it,
    /// for the note on stderr.
    pub why: Option<&'static str>,
    /// Whether AWS checks it without a call of its own (`iam:PassRole` inside
    /// `CreateFunction`, `lambda:ListTags` inside `GetFunction`): an emulator's call log
    /// never shows it.
    pub aws_only: bool,
}

impl Permission {
    /// `actions` on `resources`, in statement `sid`.
    #[must_use]
    pub fn new(sid: &str, phase: Phase, actions: &[&'static str], resources: Vec<String>) -> Self {
        Self {
            sid: sid.to_string(),
            phase,
            actions: actions.to_vec(),
            resources,
            condition: None,
            why: None,
            aws_only: false,
        }
    }

    /// `actions` on `*`, which AWS requires for them (`why`), in statement `sid` (its Sid
    /// says why, like `NoResourceTypeForEc2Describe`).
    #[must_use]
    pub fn any(sid: &str, phase: Phase, actions: &[&'static str], why: &'static str) -> Self {
        Self {
            why: Some(why),
            ..Self::new(sid, phase, actions, vec!["*".to_string()])
        }
    }

    /// The same permission, checked by AWS without a call of its own (`why`).
    #[must_use]
    pub fn aws_only(mut self, why: &'static str) -> Self {
        self.aws_only = true;
        self.why = Some(why);
        self
    }

    /// The same permission under `condition`.
    #[must_use]
    pub fn when(mut self, condition: Value) -> Self {
        self.condition = Some(condition);
        self
    }
}

/// What a kind's declarations are built from: where the stack runs, and the options that
/// add calls.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The account id.
    pub account: &'a str,
    /// The region.
    pub region: &'a str,
    /// The stack.
    pub stack: &'a crate::stack::Stack,
    /// Whether `--backup` will be used (it adds `dynamodb:CreateBackup`).
    pub backup: bool,
}

/// The tool's lock table (`cruddur-infra-locks`): ownership records and the endpoint's
/// client tokens are read in every plan, and `apply`/`destroy` take the lock there.
#[must_use]
pub fn lock_table(scope: &Scope<'_>) -> Vec<Permission> {
    // The lock table is no declared resource: its ARN is built here.
    let arn = format!(
        "arn:aws:dynamodb:{}:{}:table/{}",
        scope.region,
        scope.account,
        crate::lock::TABLE
    );
    vec![
        // One scan lists the stack's ownership records (strays without the Tagging API,
        // a disabled DAX cluster the stack once made).
        Permission::new(
            "LockTableRead",
            Phase::Plan,
            &["dynamodb:Scan"],
            vec![arn.clone()],
        ),
        Permission::new(
            "LockTable",
            Phase::Change,
            &[
                "dynamodb:DescribeTable",
                "dynamodb:CreateTable",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
            ],
            vec![arn],
        ),
    ]
}
