//! SDK-seam tests for roles: what `DeleteRole` needs on AWS that the emulator never shows.

use std::time::Duration;

use aws_sdk_iam::operation::delete_role::{DeleteRoleError, DeleteRoleOutput};
use aws_sdk_iam::operation::get_role::GetRoleOutput;
use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
use aws_sdk_iam::operation::list_instance_profiles_for_role::ListInstanceProfilesForRoleOutput;
use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
use aws_sdk_iam::operation::remove_role_from_instance_profile::RemoveRoleFromInstanceProfileOutput;
use aws_sdk_iam::types::error::DeleteConflictException;
use aws_sdk_iam::types::{InstanceProfile, Role};
use aws_smithy_mocks::{RuleMode, mock};

use super::*;
use crate::aws::WaitPolicy;
use crate::events::Recorder;
use crate::events::Reporter;
use crate::resources::{Address, Kind};
use crate::testing::mock_sdk_client;

const NAME: &str = "cruddur-messaging-stream-role";

#[tokio::test]
async fn delete_role_leaves_instance_profiles_and_retries_delete_conflict() {
    // Guards issue 8.7: DeleteRole fails with DeleteConflict while the role is in an
    // instance profile, and for a while right after its policies were detached. The error
    // was marked retryable but never retried, and instance profiles were never left.
    let date = aws_smithy_types::DateTime::from_secs(0);
    let role = move || {
        GetRoleOutput::builder()
            .role(
                Role::builder()
                    .role_name(NAME)
                    .path("/")
                    .role_id("AROA1")
                    .arn(format!("arn:aws:iam::123456789012:role/{NAME}"))
                    .create_date(date)
                    .assume_role_policy_document("%7B%7D")
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let conflict = || {
        DeleteRoleError::DeleteConflictException(
            DeleteConflictException::builder()
                .message("Cannot delete entity, must remove roles from instance profile first.")
                .build(),
        )
    };
    let rules = [
        mock!(aws_sdk_iam::Client::get_role).then_output(role),
        mock!(aws_sdk_iam::Client::list_role_policies).then_output(|| {
            ListRolePoliciesOutput::builder()
                .set_policy_names(Some(vec![]))
                .build()
                .unwrap()
        }),
        mock!(aws_sdk_iam::Client::list_attached_role_policies)
            .then_output(|| ListAttachedRolePoliciesOutput::builder().build()),
        mock!(aws_sdk_iam::Client::list_instance_profiles_for_role).then_output(move || {
            ListInstanceProfilesForRoleOutput::builder()
                .instance_profiles(
                    InstanceProfile::builder()
                        .instance_profile_name("cruddur-ec2")
                        .path("/")
                        .instance_profile_id("AIPA1")
                        .arn("arn:aws:iam::123456789012:instance-profile/cruddur-ec2")
                        .create_date(date)
                        .set_roles(Some(vec![]))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        }),
        mock!(aws_sdk_iam::Client::remove_role_from_instance_profile)
            .match_requests(|r| {
                r.instance_profile_name() == Some("cruddur-ec2") && r.role_name() == Some(NAME)
            })
            .then_output(|| RemoveRoleFromInstanceProfileOutput::builder().build()),
        mock!(aws_sdk_iam::Client::delete_role)
            .sequence()
            .error(conflict)
            .times(5)
            .output(|| DeleteRoleOutput::builder().build())
            .build(),
    ];
    let client = mock_sdk_client!(aws_sdk_iam, RuleMode::MatchAny, &rules);
    let address = Address::new(Kind::Role, "stream");
    let recorder = Recorder::default();
    let policy = WaitPolicy {
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        report_every: Duration::ZERO,
        max_attempts: 3,
        settling: Duration::from_secs(5),
        settle_delay: Duration::ZERO,
    };
    let aws = crate::testing::aws_of(policy, |a| a.iam = client.clone());
    let api = Api {
        aws: &aws,
        reporter: Reporter {
            address: &address,
            sink: &recorder,
        },
    };
    delete(api, NAME).await.expect("deleted once IAM settled");
    assert_eq!(rules[4].num_calls(), 1, "removed from the instance profile");
    // Five conflicts (more than `max_attempts`), then the delete.
    assert_eq!(rules[5].num_calls(), 6);
}

#[tokio::test]
async fn a_managed_policy_is_read_at_its_default_version_and_a_missing_one_is_none() {
    use aws_sdk_iam::operation::get_policy::{GetPolicyError, GetPolicyOutput};
    use aws_sdk_iam::operation::get_policy_version::GetPolicyVersionOutput;
    use aws_sdk_iam::types::error::NoSuchEntityException;
    use aws_sdk_iam::types::{Policy, PolicyVersion};
    const ARN: &str = "arn:aws:iam::123456789012:policy/cruddur-streams";
    // IAM returns the document URL-encoded, as for inline policies.
    let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22dynamodb%3AGetRecords%22%2C%22Resource%22%3A%22*%22%7D%5D%7D";
    let rules = [
        mock!(aws_sdk_iam::Client::get_policy)
            .match_requests(|r| r.policy_arn() == Some(ARN))
            .then_output(|| {
                GetPolicyOutput::builder()
                    .policy(Policy::builder().arn(ARN).default_version_id("v3").build())
                    .build()
            }),
        mock!(aws_sdk_iam::Client::get_policy_version)
            .match_requests(|r| r.policy_arn() == Some(ARN) && r.version_id() == Some("v3"))
            .then_output(move || {
                GetPolicyVersionOutput::builder()
                    .policy_version(PolicyVersion::builder().document(encoded).version_id("v3").build())
                    .build()
            }),
        mock!(aws_sdk_iam::Client::get_policy).then_error(|| {
            GetPolicyError::NoSuchEntityException(NoSuchEntityException::builder().message("not found").build())
        }),
    ];
    let client = mock_sdk_client!(aws_sdk_iam, RuleMode::MatchAny, &rules);
    let address = Address::new(Kind::Role, "stream");
    let recorder = Recorder::default();
    let aws = crate::testing::aws_of(WaitPolicy::default(), |a| a.iam = client.clone());
    let api = Api {
        aws: &aws,
        reporter: Reporter {
            address: &address,
            sink: &recorder,
        },
    };
    let doc = managed_policy(api, ARN).await.unwrap().expect("the policy exists");
    assert_eq!(doc["Statement"][0]["Action"], "dynamodb:GetRecords");
    assert_eq!(rules[1].num_calls(), 1, "its default version, v3");
    assert_eq!(
        managed_policy(api, "arn:aws:iam::123456789012:policy/gone").await.unwrap(),
        None
    );
}
