//! The evaluator's table of cases: each a policy set, a request and the answer AWS's
//! documented evaluation logic gives, with the rule it pins (the page, and what it says).
//! Cases with `Conditionally…` answers follow this tool's reading of a condition as "may
//! not apply" (a plan never knows the request's context); the rest are AWS's own.

use serde_json::Value;

use super::*;

/// One row: name, the policies (each a JSON document), the request, the answer, the rule.
struct Case {
    name: &'static str,
    policies: &'static [&'static str],
    action: &'static str,
    resource: &'static str,
    expected: &'static str,
    rule: &'static str,
}

fn kind(d: &Decision) -> &'static str {
    match d {
        Decision::Allowed => "Allowed",
        Decision::ConditionallyAllowed { .. } => "ConditionallyAllowed",
        Decision::ConditionallyDenied { .. } => "ConditionallyDenied",
        Decision::ExplicitDeny { .. } => "ExplicitDeny",
        Decision::ImplicitDeny => "ImplicitDeny",
    }
}

const CASES: &[Case] = &[
    Case {
        name: "exact action on exact table",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html: requests must be explicitly allowed",
    },
    Case {
        name: "action names are case-insensitive in the policy",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "DynamoDB:query", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html: the prefix and the action name are case insensitive",
    },
    Case {
        name: "action names are case-insensitive in the request",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"}]}"#,
        ],
        action: "DYNAMODB:QUERY",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html: case insensitive",
    },
    Case {
        name: "service wildcard",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages"}]}"#,
        ],
        action: "dynamodb:PutItem",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html: `*` matches every action of a service",
    },
    Case {
        name: "prefix wildcard",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": "*"}]}"#,
        ],
        action: "dynamodb:GetItem",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html: wildcards as part of the action name",
    },
    Case {
        name: "a prefix wildcard is anchored at the start",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": "*"}]}"#,
        ],
        action: "dynamodb:BatchGetItem",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html and https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html: no allow matches",
    },
    Case {
        name: "`?` is one character in an action",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:?etItem", "Resource": "*"}]}"#,
        ],
        action: "dynamodb:GetItem",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html: single-character wildcard `?`",
    },
    Case {
        name: "`?` is exactly one character",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem?", "Resource": "*"}]}"#,
        ],
        action: "dynamodb:GetItem",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html: `?` matches exactly one character",
    },
    Case {
        name: "wildcards inside an action name (AWS's own example)",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*AccessKey*", "Resource": "*"}]}"#,
        ],
        action: "iam:ListAccessKeys",
        resource: "arn:aws:iam::123456789012:user/bob",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html: `iam:*AccessKey*`",
    },
    Case {
        name: "`*` allows every action",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#,
        ],
        action: "s3:GetObject",
        resource: "arn:aws:s3:::b/k",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html: `\"Action\": \"*\"`",
    },
    Case {
        name: "another service's wildcard does not match",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}"#,
        ],
        action: "s3:GetObject",
        resource: "arn:aws:s3:::b/k",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html and https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html: implicit deny",
    },
    Case {
        name: "Allow + NotAction grants what is not listed",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html: actions not listed are allowed with the Allow effect",
    },
    Case {
        name: "Allow + NotAction does not grant what is listed",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}"#,
        ],
        action: "iam:CreateUser",
        resource: "arn:aws:iam::123456789012:user/bob",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html: the listed actions are not allowed",
    },
    Case {
        name: "Allow + NotAction stays inside its resources",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "arn:aws:s3:::*"}]}"#,
        ],
        action: "s3:ListAllMyBuckets",
        resource: "*",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html: does not allow ListAllMyBuckets, which requires the \"*\" resource",
    },
    Case {
        name: "Allow + NotAction never grants the listed action",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "arn:aws:s3:::*"}]}"#,
        ],
        action: "s3:DeleteBucket",
        resource: "arn:aws:s3:::b",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html",
    },
    Case {
        name: "Deny + NotAction denies what is not listed",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "NotAction": "dynamodb:*", "Resource": "*"}]}"#,
        ],
        action: "s3:GetObject",
        resource: "arn:aws:s3:::b/k",
        expected: "ExplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html: explicitly denies the actions not listed",
    },
    Case {
        name: "Deny + NotAction grants nothing by itself",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": "dynamodb:*", "Resource": "*"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html: you must still allow actions that you want to allow",
    },
    Case {
        name: "Deny + NotAction leaves the listed actions to the allows",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}, {"Effect": "Deny", "NotAction": "dynamodb:*", "Resource": "*"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html and https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html",
    },
    Case {
        name: "Allow + NotResource grants other resources",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "NotResource": "arn:aws:dynamodb:us-east-1:123456789012:table/secret"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html: matches every resource except those specified",
    },
    Case {
        name: "Allow + NotResource does not grant the listed resource",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "NotResource": "arn:aws:dynamodb:us-east-1:123456789012:table/secret"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/secret",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html",
    },
    Case {
        name: "Deny + NotResource denies every other resource",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}, {"Effect": "Deny", "Action": "dynamodb:*", "NotResource": ["arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages", "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages/index/*"]}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/other",
        expected: "ExplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html: the HRBucket deny example",
    },
    Case {
        name: "Deny + NotResource spares the listed resources",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}, {"Effect": "Deny", "Action": "dynamodb:*", "NotResource": ["arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages", "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages/index/*"]}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages/index/by-user",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html",
    },
    Case {
        name: "an explicit deny overrides an allow in the same policy",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}, {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages"}]}"#,
        ],
        action: "dynamodb:DeleteTable",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ExplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html: an explicit deny overrides an explicit allow",
    },
    Case {
        name: "an explicit deny in another policy overrides an allow",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}"#,
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}]}"#,
        ],
        action: "dynamodb:DeleteTable",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ExplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html: an explicit deny in any of the policies overrides the allow",
    },
    Case {
        name: "a deny with a wildcard action (AWS's iam:*Report example)",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}, {"Effect": "Deny", "Action": "iam:*Report", "Resource": "*"}]}"#,
        ],
        action: "iam:GetOrganizationsAccessReport",
        resource: "*",
        expected: "ExplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html: the Deny statement trumps the Allow statement",
    },
    Case {
        name: "nothing allows an unlisted action (AWS's example)",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}, {"Effect": "Deny", "Action": "iam:*Report", "Resource": "*"}]}"#,
        ],
        action: "iam:CreatePolicy",
        resource: "*",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html: an implicit denial occurs when there is no applicable Deny and no applicable Allow",
    },
    Case {
        name: "the allowed action outside the deny (AWS's example)",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}, {"Effect": "Deny", "Action": "iam:*Report", "Resource": "*"}]}"#,
        ],
        action: "iam:GetUser",
        resource: "arn:aws:iam::123456789012:user/bob",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html",
    },
    Case {
        name: "a deny on a resource wildcard (AWS's Carlos example)",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]}, {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"}]}"#,
        ],
        action: "s3:PutObject",
        resource: "arn:aws:s3:::carlossalazar-logs/f.txt",
        expected: "ExplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html: the Carlos example",
    },
    Case {
        name: "resource `*` matches every ARN",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/anything/index/x",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html",
    },
    Case {
        name: "a prefix wildcard in the resource",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-*"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html: wildcards within ARN segments",
    },
    Case {
        name: "a prefix wildcard does not match another prefix",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-*"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/other-messages",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html",
    },
    Case {
        name: "`?` is one character in a resource",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::example?bucket/*"}]}"#,
        ],
        action: "s3:GetObject",
        resource: "arn:aws:s3:::example1bucket/k",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html: `?` matches any single character",
    },
    Case {
        name: "`?` is exactly one character in a resource",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::example?bucket/*"}]}"#,
        ],
        action: "s3:GetObject",
        resource: "arn:aws:s3:::example12bucket/k",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html",
    },
    Case {
        name: "resource ARNs are case-sensitive",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/Cruddur-Messages"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html (ArnLike: case-sensitive matching); DynamoDB table names are case-sensitive",
    },
    Case {
        name: "a table's ARN does not cover its index (the notes' AccessDenied)",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages/index/message-group-sk-index",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html; https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/iam-policy-specific-table-indexes.html lists table and index ARNs separately",
    },
    Case {
        name: "`index/*` covers every index of the table",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages/index/*"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages/index/message-group-sk-index",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html: `*` replaces everything within a segment, slashes included",
    },
    Case {
        name: "a wildcard after the table name covers its indexes",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages*"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages/index/message-group-sk-index",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html: `*` can expand to replace everything within a segment, including `/`",
    },
    Case {
        name: "`*` in the account segment",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-east-1:*:table/cruddur-messages"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html: wildcards within any ARN segment",
    },
    Case {
        name: "a trailing `*` crosses the colons of a log stream",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn*"}]}"#,
        ],
        action: "logs:PutLogEvents",
        resource: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:log-stream:2024/01/01/abc",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html: if `*` is the last character of a segment, it can expand beyond the colon boundaries",
    },
    Case {
        name: "a trailing `*` in the region segment crosses the rest",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:*"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html: the last character of a segment expands beyond the colon boundaries",
    },
    Case {
        name: "a `*` inside a segment does not cross its colon",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-*1:123456789012:table/cruddur-messages"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east:x1:123456789012:table/cruddur-messages",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html: wildcards are used within the segments separated by colons",
    },
    Case {
        name: "another region's ARN does not match",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-west-2:123456789012:table/cruddur-messages"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html",
    },
    Case {
        name: "an allow with a condition is conditional",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ConditionallyAllowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html: conditions specify when a policy is in effect",
    },
    Case {
        name: "a conditional deny over a certain allow",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}, {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]}"#,
        ],
        action: "dynamodb:DeleteTable",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ConditionallyDenied",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html and https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html: a deny that applies overrides the allow",
    },
    Case {
        name: "a certain deny over a conditional allow",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}, {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ExplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html: even one explicit deny that applies returns Deny",
    },
    Case {
        name: "one certain allow is enough beside a conditional one",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"}, {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html: at least one Allow",
    },
    Case {
        name: "a conditional deny alone allows nothing",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html: requests must be explicitly allowed",
    },
    Case {
        name: "no policy at all is an implicit deny",
        policies: &[],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html: by default, all requests are implicitly denied",
    },
    Case {
        name: "a deny of another action is no allow",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html",
    },
    Case {
        name: "a deny alone denies its action explicitly",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}]}"#,
        ],
        action: "dynamodb:DeleteTable",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ExplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html",
    },
    Case {
        name: "allows combine across policies",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"}]}"#,
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages"}]}"#,
        ],
        action: "dynamodb:PutItem",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html: all the permissions granted by the policies",
    },
    Case {
        name: "any listed action with any listed resource",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages", "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-users"]}]}"#,
        ],
        action: "dynamodb:PutItem",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-users",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html and https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html: multiple values",
    },
    Case {
        name: "an action without resource-level permissions needs `*`",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeNetworkInterfaces", "Resource": "arn:aws:ec2:us-east-1:123456789012:network-interface/*"}]}"#,
        ],
        action: "ec2:DescribeNetworkInterfaces",
        resource: "*",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html: if the column is empty, you must specify all resources (\"*\"); https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html: DescribeNetworkInterfaces only works if allowed on all resources",
    },
    Case {
        name: "`*` grants an action without resource-level permissions",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeNetworkInterfaces", "Resource": "*"}]}"#,
        ],
        action: "ec2:DescribeNetworkInterfaces",
        resource: "*",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html",
    },
    Case {
        name: "NotAction with NotResource deny (AWS's deny-except-bucket example)",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"]}, {"Effect": "Deny", "NotAction": "s3:*", "NotResource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"]}]}"#,
        ],
        action: "ec2:DescribeInstances",
        resource: "*",
        expected: "ExplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_s3_deny-except-bucket.html",
    },
    Case {
        name: "the same example leaves s3:ListAllMyBuckets implicitly denied",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"]}, {"Effect": "Deny", "NotAction": "s3:*", "NotResource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"]}]}"#,
        ],
        action: "s3:ListAllMyBuckets",
        resource: "*",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_s3_deny-except-bucket.html",
    },
    Case {
        name: "`Statement` may be one object",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages"}}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html and https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html: a single statement or an array",
    },
    Case {
        name: "a policy variable in the resource depends on the request",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/${aws:username}/*"}]}"#,
        ],
        action: "s3:GetObject",
        resource: "arn:aws:s3:::bkt/alice/k",
        expected: "ConditionallyAllowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html: the variable takes its value from the request",
    },
    Case {
        name: "a policy variable is literal text in 2008-10-17",
        policies: &[
            r#"{"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/${aws:username}/*"}]}"#,
        ],
        action: "s3:GetObject",
        resource: "arn:aws:s3:::bkt/alice/k",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html: in 2008-10-17 variables are treated as literal strings",
    },
    Case {
        name: "a literal pattern beside a variable one matches for certain",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::bkt/${aws:username}/*", "arn:aws:s3:::bkt/shared/*"]}]}"#,
        ],
        action: "s3:GetObject",
        resource: "arn:aws:s3:::bkt/shared/k",
        expected: "Allowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html: the variable takes its value from the request; the literal pattern needs none",
    },
    Case {
        name: "`?` does not cross a colon between ARN segments",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-east-1?123456789012:table/cruddur-messages"}]}"#,
        ],
        action: "dynamodb:Query",
        resource: "arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages",
        expected: "ImplicitDeny",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html: wildcards match within the segments separated by colons",
    },
    Case {
        name: "a NotResource of a variable pattern may exclude the request",
        policies: &[
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::bkt/${aws:username}/*"}]}"#,
        ],
        action: "s3:GetObject",
        resource: "arn:aws:s3:::bkt/alice/k",
        expected: "ConditionallyAllowed",
        rule: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html and https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html",
    },
];

#[test]
fn the_table_of_cases_matches_awss_documented_answers() {
    assert!(CASES.len() >= 30, "the issue asks for at least 30 cases");
    let mut failures = Vec::new();
    for case in CASES {
        assert!(
            case.rule.contains("https://docs.aws.amazon.com/"),
            "{}: cite the rule",
            case.name
        );
        let docs: Vec<Value> = case
            .policies
            .iter()
            .map(|p| serde_json::from_str(p).expect("a case's policy is JSON"))
            .collect();
        let labels: Vec<String> = (1..=docs.len()).map(|i| format!("policy {i}")).collect();
        let sources: Vec<Source<'_>> = docs
            .iter()
            .zip(&labels)
            .map(|(document, label)| Source { label, document })
            .collect();
        let got = evaluate(&sources, case.action, case.resource);
        if kind(&got) != case.expected {
            failures.push(format!(
                "{}: {} on {} gave {got:?}, expected {} ({})",
                case.name, case.action, case.resource, case.expected, case.rule
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_kind_of_answer_is_pinned_by_some_case() {
    for answer in [
        "Allowed",
        "ConditionallyAllowed",
        "ConditionallyDenied",
        "ExplicitDeny",
        "ImplicitDeny",
    ] {
        assert!(CASES.iter().any(|c| c.expected == answer), "{answer}");
    }
}

#[test]
fn findings_name_the_statements_they_rest_on() {
    let doc: Value = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Sid": "NoDeletes", "Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"},
        {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]});
    let s = [Source {
        label: "inline policy `p`",
        document: &doc,
    }];
    assert_eq!(
        evaluate(&s, "dynamodb:DeleteTable", "arn:aws:dynamodb:r:1:table/t"),
        Decision::ExplicitDeny {
            by: vec!["inline policy `p` statement `NoDeletes`".into()]
        }
    );
    let only_conditional =
        serde_json::json!({"Version": "2012-10-17", "Statement": [doc["Statement"][2].clone()]});
    let s = [Source {
        label: "inline policy `q`",
        document: &only_conditional,
    }];
    assert_eq!(
        evaluate(&s, "dynamodb:Scan", "arn:aws:dynamodb:r:1:table/t"),
        Decision::ConditionallyAllowed {
            by: vec!["inline policy `q` statement 1".into()]
        }
    );
}

#[test]
fn an_unknown_account_or_region_matches_any_pattern_offline() {
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:Query",
         "Resource": "arn:aws:dynamodb:ca-central-1:123456789012:table/t"}]});
    let s = [Source {
        label: "p",
        document: &doc,
    }];
    let offline = format!("arn:aws:dynamodb:{UNKNOWN_REGION}:{UNKNOWN_ACCOUNT}:table/t");
    assert_eq!(evaluate(&s, "dynamodb:Query", &offline), Decision::Allowed);
    // A pattern that ends early, in a segment the request does not know, still matches.
    let short = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "arn:aws:logs:ca-central-1:*"}]});
    let s2 = [Source {
        label: "p",
        document: &short,
    }];
    let logs = format!(
        "arn:aws:logs:{UNKNOWN_REGION}:{UNKNOWN_ACCOUNT}:log-group:/aws/lambda/f:log-stream:x"
    );
    assert_eq!(evaluate(&s2, "logs:PutLogEvents", &logs), Decision::Allowed);
    // The rest of the ARN still has to match.
    let other = format!("arn:aws:dynamodb:{UNKNOWN_REGION}:{UNKNOWN_ACCOUNT}:table/u");
    assert_eq!(
        evaluate(&s, "dynamodb:Query", &other),
        Decision::ImplicitDeny
    );
}
