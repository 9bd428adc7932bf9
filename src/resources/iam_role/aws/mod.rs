//! IAM roles through the SDK. IAM returns policy documents URL-encoded; they are decoded
//! here so the pure diff compares JSON.
//!
//! `DeleteRole` fails with `DeleteConflict` while the role still has policies, is in an
//! instance profile, or was detached from a policy moments ago (IAM is eventually
//! consistent): delete removes all three causes first and retries the conflict for the
//! settling budget.
//!
//! `NoSuchEntity` answers "absent" to a read and "done" to a delete or a detach, so a
//! delete run again after a partial failure converges.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_iam::types::Tag;
use futures::future::try_join_all;
use serde_json::Value;

use super::{RoleOp, RoleConfig, RoleLive, RoleStep};
use crate::apply::Run;
use crate::plan::Change;
use crate::refresh::ReadContext;
use crate::stack::Declared;
use crate::resources::{Kind, ResourceIo};
use crate::aws::{Api, AwsError, Retry, retry};
use crate::resources::{OWNER_TAG, policy};

/// An answer the tool cannot use (a policy document that does not decode, say).
fn unexpected(op: &'static str, name: &str, message: String) -> AwsError {
    AwsError::Unexpected {
        op,
        address: name.to_string(),
        message,
    }
}

/// One IAM tag; the builder refuses only a missing key or value, which is a bug here.
fn tag(name: &str, k: &str, v: &str) -> Result<Tag, AwsError> {
    Tag::builder()
        .key(k)
        .value(v)
        .build()
        .map_err(|e| unexpected("TagRole", name, e.to_string()))
}

/// Reads the role named `name` with its inline policies and attachments.
///
/// Round one, concurrently: `GetRole`, `ListRolePolicies`, `ListAttachedRolePolicies`
/// and `GetRolePolicy` for each name in `declared` (a guess that saves a round trip).
/// Round two: `GetRolePolicy` for the policies listed but not declared, which the diff
/// must see to delete them. `NoSuchEntity` from `GetRole` is `Ok(None)`; from a listing
/// it is an empty list, from `GetRolePolicy` a policy left out. Documents are URL-decoded
/// JSON (one that does not decode is `Unexpected`); the ownership tag is moved from the
/// tags into `owner`.
pub async fn read(
    api: Api<'_>,
    name: &str,
    declared: &[String],
) -> Result<Option<RoleLive>, AwsError> {
    // Everything keyed by the role's name goes out at once: the role, both listings, and
    // the inline policies the stack declares. Only stray policies cost a second round.
    let (role, listed, mut policies, managed_policies) = tokio::try_join!(
        get_role(api, name),
        policy_names(api, name),
        get_policies(api, name, declared),
        attachments(api, name)
    )?;
    let Some(mut role) = role else {
        return Ok(None);
    };
    let strays: Vec<String> = listed
        .into_iter()
        .filter(|n| !policies.contains_key(n))
        .collect();
    policies.extend(get_policies(api, name, &strays).await?);
    role.config.policies = policies;
    role.config.managed_policies = managed_policies;
    Ok(Some(role))
}

/// The role alone, from one `GetRole` (which answers with its tags, so its owner): what a
/// deletion needs to be planned (a disabled role, `destroy`). Its inline and managed
/// policies are left empty: the deletion lists them itself when it runs.
pub async fn get_role(api: Api<'_>, name: &str) -> Result<Option<RoleLive>, AwsError> {
    let role = match api.aws.iam.get_role().role_name(name).send().await {
        Ok(out) => out.role,
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_iam::operation::get_role::GetRoleError::is_no_such_entity_exception,
            ) =>
        {
            None
        }
        Err(e) => return Err(AwsError::call("GetRole", name, &e, false)),
    };
    let Some(role) = role else { return Ok(None) };
    let trust = policy::decode(role.assume_role_policy_document().unwrap_or("%7B%7D"))
        .map_err(|m| unexpected("GetRole", name, m))?;
    let mut tags: BTreeMap<String, String> = role
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let owner = tags.remove(OWNER_TAG);
    Ok(Some(RoleLive {
        config: RoleConfig {
            name: role.role_name().to_string(),
            path: role.path().to_string(),
            trust,
            description: role.description().unwrap_or_default().to_string(),
            max_session_seconds: role.max_session_duration().unwrap_or(3600),
            policies: BTreeMap::new(),
            managed_policies: std::collections::BTreeSet::new(),
            tags,
        },
        arn: role.arn().to_string(),
        owner,
    }))
}

/// Follows IAM's `Marker` pagination: `page(marker)` answers one page's items and the
/// next marker, or `None` when the role does not exist (then there is nothing to list).
async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, AwsError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Option<(Vec<T>, Option<String>)>, AwsError>>,
{
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let Some((items, next)) = page(marker).await? else {
            return Ok(out);
        };
        out.extend(items);
        marker = next;
        if marker.is_none() {
            return Ok(out);
        }
    }
}

/// The names of the role's inline policies (none when the role does not exist).
async fn policy_names(api: Api<'_>, name: &str) -> Result<Vec<String>, AwsError> {
    all_pages(|marker| async move {
        match api
            .aws.iam
            .list_role_policies()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
        {
            Ok(out) => Ok(Some((
                out.policy_names().to_vec(),
                out.marker().map(str::to_string).filter(|_| out.is_truncated()),
            ))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_iam::operation::list_role_policies::ListRolePoliciesError::is_no_such_entity_exception) =>
            {
                Ok(None)
            }
            Err(e) => Err(AwsError::call("ListRolePolicies", name, &e, false)),
        }
    })
    .await
}

/// The documents of the named inline policies that exist.
async fn get_policies(
    api: Api<'_>,
    name: &str,
    names: &[String],
) -> Result<BTreeMap<String, Value>, AwsError> {
    let docs = try_join_all(names.iter().map(|policy_name| async move {
        let out = match api
            .aws.iam
            .get_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_iam::operation::get_role_policy::GetRolePolicyError::is_no_such_entity_exception) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(AwsError::call("GetRolePolicy", name, &e, false)),
        };
        let doc = policy::decode(out.policy_document())
            .map_err(|m| unexpected("GetRolePolicy", name, m))?;
        Ok::<_, AwsError>(Some((policy_name.clone(), doc)))
    }))
    .await?;
    Ok(docs.into_iter().flatten().collect())
}

/// The ARNs of the managed policies attached to the role (none when it does not exist).
async fn attachments(api: Api<'_>, name: &str) -> Result<BTreeSet<String>, AwsError> {
    let arns = all_pages(|marker| async move {
        match api
            .aws.iam
            .list_attached_role_policies()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
        {
            Ok(out) => Ok(Some((
                out.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string))
                    .collect(),
                out.marker().map(str::to_string).filter(|_| out.is_truncated()),
            ))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesError::is_no_such_entity_exception) =>
            {
                Ok(None)
            }
            Err(e) => Err(AwsError::call("ListAttachedRolePolicies", name, &e, false)),
        }
    })
    .await?;
    Ok(arns.into_iter().collect())
}

/// Creates or replaces one inline policy (`PutRolePolicy` is an upsert, so a retried or
/// repeated call is harmless).
async fn put_policy(
    api: Api<'_>,
    name: &str,
    policy_name: &str,
    doc: &Value,
) -> Result<(), AwsError> {
    api.aws
        .iam
        .put_role_policy()
        .role_name(name)
        .policy_name(policy_name)
        .policy_document(doc.to_string())
        .send()
        .await
        .map_err(|e| AwsError::call("PutRolePolicy", name, &e, false))?;
    Ok(())
}

/// Attaches one managed policy (attaching it twice is not an error in IAM).
async fn attach(api: Api<'_>, name: &str, arn: &str) -> Result<(), AwsError> {
    api.aws
        .iam
        .attach_role_policy()
        .role_name(name)
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::call("AttachRolePolicy", name, &e, false))?;
    Ok(())
}

/// Creates the role (ownership tag in the same call), then its inline policies and
/// attachments. `policies` are already resolved.
///
/// `CreateRole` carries the path, trust document, session length, description (when not
/// empty) and every tag, so the role is never untagged; it is retried while IAM answers
/// `ConcurrentModification`, while `EntityAlreadyExists` is an error (the plan found no
/// role of that name). Then every `PutRolePolicy` and `AttachRolePolicy` at once. If one
/// of those fails, the role stays, tagged: the next plan sees it as owned and updates it.
/// Answers the new role's ARN (empty if IAM's answer lacks it).
pub async fn create(api: Api<'_>, config: &RoleConfig, stack: &str) -> Result<String, AwsError> {
    let name = config.name.as_str();
    let mut req = api
        .aws
        .iam
        .create_role()
        .role_name(name)
        .path(&config.path)
        .assume_role_policy_document(config.trust.to_string())
        .max_session_duration(config.max_session_seconds)
        .tags(tag(name, OWNER_TAG, stack)?);
    if !config.description.is_empty() {
        req = req.description(&config.description);
    }
    for (k, v) in &config.tags {
        req = req.tags(tag(name, k, v)?);
    }
    let created = retry(api.wait(), api.reporter, || {
        let req = req.clone();
        async move {
            match req.send().await {
                Ok(out) => Ok(Some(out.role.map(|r| r.arn).unwrap_or_default())),
                // A retried create whose first answer was lost (or a crashed run's): the
                // role is there. Whose it is is checked below, by its tag.
                Err(e)
                    if e.as_service_error().is_some_and(
                        aws_sdk_iam::operation::create_role::CreateRoleError::is_entity_already_exists_exception,
                    ) =>
                {
                    Ok(None)
                }
                Err(e) => {
                    let busy = e
                        .as_service_error()
                        .is_some_and(aws_sdk_iam::operation::create_role::CreateRoleError::is_concurrent_modification_exception);
                    Err(AwsError::call("CreateRole", name, &e, busy))
                }
            }
        }
    })
    .await?;
    let arn = if let Some(arn) = created {
        arn
    } else {
        // The role is there: this run's own if it carries this stack's tag.
        let live = read(api, name, &[]).await?;
        api.created_earlier("CreateRole", "role", name, stack, live, |l| l.owner.as_deref())?
            .arn
    };
    // Independent calls: one round trip, not one per policy.
    let puts = try_join_all(
        config
            .policies
            .iter()
            .map(|(policy_name, doc)| put_policy(api, name, policy_name, doc)),
    );
    let attaches = try_join_all(
        config
            .managed_policies
            .iter()
            .map(|arn| attach(api, name, arn)),
    );
    tokio::try_join!(puts, attaches)?;
    Ok(arn)
}


/// Runs the planned steps; `resolve` fills references in policy templates.
///
/// One call per step, in the plan's order (detaches before attaches, so a full role can
/// swap a managed policy), stopping at the first failure. A policy template is resolved
/// just before its `PutRolePolicy`, so a reference still unknown fails that step only
/// after the steps before it ran.
pub async fn update(
    api: Api<'_>,
    name: &str,
    steps: &[RoleStep],
    resolve: &dyn Fn(&Value) -> Result<Value, AwsError>,
) -> Result<(), AwsError> {
    for step in steps {
        match step {
            RoleStep::Trust(doc) => {
                api.reporter.step("updating the trust policy");
                api.aws
                    .iam
                    .update_assume_role_policy()
                    .role_name(name)
                    .policy_document(doc.to_string())
                    .send()
                    .await
                    .map_err(|e| AwsError::call("UpdateAssumeRolePolicy", name, &e, false))?;
            }
            RoleStep::Settings {
                description,
                max_session_seconds,
            } => {
                api.aws
                    .iam
                    .update_role()
                    .role_name(name)
                    .description(description)
                    .max_session_duration(*max_session_seconds)
                    .send()
                    .await
                    .map_err(|e| AwsError::call("UpdateRole", name, &e, false))?;
            }
            RoleStep::PutPolicy(policy_name, template) => {
                api.reporter
                    .step(format!("putting inline policy {policy_name:?}"));
                put_policy(api, name, policy_name, &resolve(template)?).await?;
            }
            RoleStep::DeletePolicy(policy_name) => {
                api.reporter
                    .step(format!("deleting inline policy {policy_name:?}"));
                delete_policy(api, name, policy_name).await?;
            }
            RoleStep::Attach(arn) => attach(api, name, arn).await?,
            RoleStep::Detach(arn) => detach(api, name, arn).await?,
            RoleStep::Tag(tags) => {
                let mut req = api.aws.iam.tag_role().role_name(name);
                for (k, v) in tags {
                    req = req.tags(tag(name, k, v)?);
                }
                req.send()
                    .await
                    .map_err(|e| AwsError::call("TagRole", name, &e, false))?;
            }
            RoleStep::Untag(keys) => {
                api.aws
                    .iam
                    .untag_role()
                    .role_name(name)
                    .set_tag_keys(Some(keys.clone()))
                    .send()
                    .await
                    .map_err(|e| AwsError::call("UntagRole", name, &e, false))?;
            }
        }
    }
    Ok(())
}

/// Deletes one inline policy; one already gone counts as deleted.
async fn delete_policy(api: Api<'_>, name: &str, policy_name: &str) -> Result<(), AwsError> {
    match api
        .aws.iam
        .delete_role_policy()
        .role_name(name)
        .policy_name(policy_name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyError::is_no_such_entity_exception) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::call("DeleteRolePolicy", name, &e, false)),
    }
}

/// Detaches one managed policy; one already detached counts as detached.
async fn detach(api: Api<'_>, name: &str, arn: &str) -> Result<(), AwsError> {
    match api
        .aws.iam
        .detach_role_policy()
        .role_name(name)
        .policy_arn(arn)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyError::is_no_such_entity_exception) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::call("DetachRolePolicy", name, &e, false)),
    }
}

/// The instance profiles the role is in (none when the role does not exist).
async fn instance_profiles(api: Api<'_>, name: &str) -> Result<Vec<String>, AwsError> {
    all_pages(|marker| async move {
        match api
            .aws.iam
            .list_instance_profiles_for_role()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
        {
            Ok(out) => Ok(Some((
                out.instance_profiles()
                    .iter()
                    .map(|p| p.instance_profile_name().to_string())
                    .collect(),
                out.marker().map(str::to_string).filter(|_| out.is_truncated()),
            ))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_iam::operation::list_instance_profiles_for_role::ListInstanceProfilesForRoleError::is_no_such_entity_exception) =>
            {
                Ok(None)
            }
            Err(e) => Err(AwsError::call("ListInstanceProfilesForRole", name, &e, false)),
        }
    })
    .await
}

/// Deletes the role: inline policies, attachments and instance profile memberships first
/// (IAM refuses otherwise), read afresh so that nothing added out of band blocks the
/// delete. The instance profiles themselves are left: only the role is the stack's.
///
/// Sequence: `read` (absent: done), `DeleteRolePolicy` for each inline policy,
/// `DetachRolePolicy` for each attachment, `ListInstanceProfilesForRole` and
/// `RemoveRoleFromInstanceProfile` for each profile, then `DeleteRole`. `DeleteRole` is
/// retried on `DeleteConflict` until the settling budget is spent (IAM may still count
/// what was just removed) and on `ConcurrentModification` as busy; `NoSuchEntity` at any
/// step counts as done.
pub async fn delete(api: Api<'_>, name: &str) -> Result<(), AwsError> {
    let Some(live) = read(api, name, &[]).await? else {
        return Ok(());
    };
    for policy_name in live.config.policies.keys() {
        delete_policy(api, name, policy_name).await?;
    }
    for arn in &live.config.managed_policies {
        detach(api, name, arn).await?;
    }
    for profile in instance_profiles(api, name).await? {
        api.reporter.step(format!(
            "removing the role from instance profile {profile:?}"
        ));
        match api
            .aws.iam
            .remove_role_from_instance_profile()
            .instance_profile_name(&profile)
            .role_name(name)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_iam::operation::remove_role_from_instance_profile::RemoveRoleFromInstanceProfileError::is_no_such_entity_exception) => {}
            Err(e) => {
                return Err(AwsError::call(
                    "RemoveRoleFromInstanceProfile",
                    name,
                    &e,
                    false,
                ));
            }
        }
    }
    retry(api.wait(), api.reporter, || async {
        match api.aws.iam.delete_role().role_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_iam::operation::delete_role::DeleteRoleError::is_no_such_entity_exception,
                ) =>
            {
                Ok(())
            }
            Err(e) => {
                // Right after the detaches above, IAM may still count the attachments.
                let class = match e.as_service_error() {
                    Some(s) if s.is_delete_conflict_exception() => Retry::Settling,
                    Some(s) if s.is_concurrent_modification_exception() => Retry::Busy,
                    _ => Retry::Never,
                };
                Err(AwsError::classified("DeleteRole", name, &e, class))
            }
        }
    })
    .await
}

/// The document of the default version of the managed policy `arn`, URL-decoded:
/// `GetPolicy` for the version id, then `GetPolicyVersion`. `NoSuchEntity` from either is
/// `None` (IAM has no such policy, which the checks report).
pub async fn managed_policy(api: Api<'_>, arn: &str) -> Result<Option<Value>, AwsError> {
    let out = match api.aws.iam.get_policy().policy_arn(arn).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_iam::operation::get_policy::GetPolicyError::is_no_such_entity_exception,
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(AwsError::call("GetPolicy", arn, &e, false)),
    };
    let Some(version) = out.policy().and_then(|p| p.default_version_id()) else {
        return Err(unexpected("GetPolicy", arn, "IAM named no default version".into()));
    };
    let out = match api
        .aws
        .iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_iam::operation::get_policy_version::GetPolicyVersionError::is_no_such_entity_exception,
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(AwsError::call("GetPolicyVersion", arn, &e, false)),
    };
    let document = out
        .policy_version()
        .and_then(|v| v.document())
        .ok_or_else(|| unexpected("GetPolicyVersion", arn, "IAM returned no document".into()))?;
    policy::decode(document)
        .map(Some)
        .map_err(|m| unexpected("GetPolicyVersion", arn, m))
}

/// Adds this stack's ownership tag to the role `name` (`adopt`).
async fn tag_as_owned(api: Api<'_>, name: &str, stack: &str) -> Result<(), AwsError> {
    api.aws
        .iam
        .tag_role()
        .role_name(name)
        .tags(tag(name, OWNER_TAG, stack)?)
        .send()
        .await
        .map_err(|e| AwsError::call("TagRole", name, &e, false))?;
    Ok(())
}

/// The role's configuration with every reference in its policies filled in; a reference
/// still unknown is an error (`Outputs::unresolved`).
fn resolved(
    out: &crate::apply::Outputs,
    address: &crate::resources::Address,
    c: &RoleConfig,
) -> Result<RoleConfig, AwsError> {
    let mut c = c.clone();
    for doc in c.policies.values_mut() {
        *doc = out.json(address, doc)?;
    }
    Ok(c)
}

/// No `STRAY_TYPE`: IAM is global and the Tagging API query does not cover roles. Strays
/// are found from ownership records instead, written before every `CreateRole` (and by
/// `adopt`), so a role removed from the stack file or renamed is deleted, not left in the
/// account with its trust policy.
impl ResourceIo for super::Role {
    const STRAYS_FROM_RECORDS: bool = true;

    /// The recorded role read back by name: a stray when it exists and its ownership tag
    /// names `stack` (a record outlives its role only after a crash between the delete and
    /// the record's removal, which `apply` finishes).
    async fn read_stray(
        api: Api<'_>,
        stack: &str,
        name: &str,
    ) -> Result<Option<crate::plan::Stray>, AwsError> {
        let live = read(api, name, &[]).await?;
        Ok(live
            .filter(|l| l.owner.as_deref() == Some(stack))
            .map(|_| crate::plan::Stray {
                kind: Kind::Role,
                name: name.to_string(),
                items: 0,
                protected: false,
            }))
    }

    /// Read by name with its policies and attachments, and the documents of attached
    /// managed policies that are not bundled; every write on the role's ARN. Removing the
    /// role from an instance profile needs the profile's ARN, which the stack does not
    /// know: every profile of the account.
    fn permissions(
        scope: &crate::resources::permissions::Scope<'_>,
        d: &Declared<super::RoleSpec>,
    ) -> Vec<crate::resources::permissions::Permission> {
        use crate::resources::permissions::{Permission, Phase};
        let arn = vec![super::arn(scope.account, &d.spec.path, &d.spec.name)];
        let mut out = vec![Permission::new(
            "RolesRead",
            Phase::Plan,
            &[
                "iam:GetRole",
                "iam:ListRolePolicies",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
            ],
            arn.clone(),
        )];
        let unbundled: Vec<String> = d
            .spec
            .managed_policies
            .iter()
            .filter(|a| d.enabled && policy::managed::bundled(a).is_none())
            .cloned()
            .collect();
        if !unbundled.is_empty() {
            out.push(Permission::new(
                "AttachedPoliciesRead",
                Phase::Plan,
                &["iam:GetPolicy", "iam:GetPolicyVersion"],
                unbundled,
            ));
        }
        if !d.enabled {
            return out;
        }
        out.push(Permission::new(
            "Roles",
            Phase::Change,
            &[
                "iam:CreateRole",
                "iam:UpdateRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:ListInstanceProfilesForRole",
                "iam:DeleteRole",
            ],
            arn,
        ));
        out.push(Permission::new(
            "InstanceProfilesOfRoles",
            Phase::Change,
            &["iam:RemoveRoleFromInstanceProfile"],
            vec![format!("arn:aws:iam::{}:instance-profile/*", scope.account)],
        ));
        out
    }

    /// The ownership record first (so the role is found as a stray once it is no longer
    /// declared), then `TagRole` with the ownership tag only; `target` is the role name.
    async fn tag_owned(api: Api<'_>, target: &str, stack: &str) -> Result<(), AwsError> {
        let address = api.reporter.address.to_string();
        crate::ownership::claim(api.aws, stack, Kind::Role, &address, target, None).await?;
        tag_as_owned(api, target, stack).await
    }

    /// The inline policies the stack declares are asked for in the first round, by name;
    /// so are the managed policies it attaches that are not bundled, whose documents the
    /// checks need (none for the seed stack, whose plan keeps its read count).
    async fn read(
        api: Api<'_>,
        ctx: &ReadContext<'_>,
        d: &Declared<super::RoleSpec>,
    ) -> Result<super::RoleState, AwsError> {
        let declared: Vec<String> = d.spec.policies.keys().cloned().collect();
        // Only the checks use the documents, and they check what is to exist.
        let checked = d.enabled && ctx.mode == crate::plan::Mode::Converge;
        let unbundled: Vec<&String> = d
            .spec
            .managed_policies
            .iter()
            .filter(|arn| checked && policy::managed::bundled(arn).is_none())
            .collect();
        // A role that is only to be deleted (disabled here, or `destroy`) needs one call:
        // whether it exists and whom its tag names. The deletion lists its policies itself.
        if !d.enabled || ctx.mode == crate::plan::Mode::Destroy {
            return Ok(super::RoleState {
                role: get_role(api, &d.spec.name).await?,
                attached: BTreeMap::new(),
            });
        }
        let (role, attached) = tokio::try_join!(
            read(api, &d.spec.name, &declared),
            try_join_all(unbundled.into_iter().map(|arn| async move {
                Ok::<_, AwsError>((arn.clone(), managed_policy(api, arn).await?))
            }))
        )?;
        Ok(super::RoleState {
            role,
            attached: attached.into_iter().collect(),
        })
    }

    /// A create resolves every policy template before its first call. A replacement
    /// deletes the old role first (role names are unique per account), then resolves and
    /// creates. An update resolves each template as its step runs.
    async fn apply(
        api: Api<'_>,
        run: &Run<'_>,
        change: &Change,
        op: &RoleOp,
    ) -> Result<(), AwsError> {
        let stack = run.stack;
        let name = change.name.as_str();
        let address = &change.address;
        let out = run.outputs;
        // The record is written before the create and removed after the delete, like the
        // tag it stands beside: a stray role is found from it (see `read_stray`).
        let at = address.to_string();
        let claim = || crate::ownership::claim(api.aws, stack, Kind::Role, &at, name, None);
        let release = || crate::ownership::release(api.aws, stack, Kind::Role, name);
        match op {
            RoleOp::Create(c) => {
                let c = resolved(out, address, c)?;
                claim().await?;
                create(api, &c, stack).await.map(drop)
            }
            RoleOp::Update(steps) => {
                update(api, name, steps, &|t| out.json(address, t)).await
            }
            RoleOp::Replace(c) => {
                let c = resolved(out, address, c)?;
                delete(api, name).await?;
                claim().await?;
                create(api, &c, stack).await.map(drop)
            }
            RoleOp::Delete => {
                delete(api, name).await?;
                release().await
            }
        }
    }
}

#[cfg(test)]
mod tests;
