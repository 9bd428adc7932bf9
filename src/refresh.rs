//! Reading live state for every declared resource, concurrently. Never writes.
//!
//! Round one asks everything keyed by a name the stack gives, the account id (STS)
//! included; round two asks only what needs a round-one answer (a table's tags need its
//! ARN, a VPC's route tables and endpoints need its id, stray inline policies need their
//! names). Each thing is read once: facts several kinds need (the default VPC's id) are
//! shared through `ReadContext`. Each kind reads its own resources (`ResourceIo::read`).

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;
use tokio::sync::OnceCell;

use crate::aws::{Api, Aws, AwsError};
use crate::events::EventSink;
use crate::plan::{LiveState, Mode, Stray};
use crate::resources::vpc::VpcFacts;
use crate::resources::{Address, Kind, OWNER_TAG};
use crate::stack::{Declared, Stack};

/// What every kind's read may need besides its own declaration: the stack (other
/// resources' AWS names), the mode, and facts read once and shared (the default VPC's id).
pub struct ReadContext<'a> {
    /// The stack.
    pub stack: &'a Stack,
    /// Plan or destroy (destroy reads what only it acts on, like log groups).
    pub mode: Mode,
    /// The region in force.
    pub region: &'a str,
    /// Whether this is the re-read under the lock of what a plan changes: then each
    /// resource proves itself with its own reads (a table its owner by its own tag read,
    /// never by the Tagging API's lagging listing), and no kind pages through an
    /// account-wide listing for the few resources re-read.
    pub partial: bool,
    aws: &'a Aws,
    default_vpc: OnceCell<Option<String>>,
    records: OnceCell<Vec<crate::ownership::Record>>,
    log_groups: OnceCell<BTreeMap<String, crate::resources::logs::LogGroupFacts>>,
    tagged: OnceCell<Option<Tagged>>,
    shared: std::sync::Mutex<BTreeMap<&'static str, std::sync::Arc<OnceCell<Shared>>>>,
}

/// One listing a kind shares among the reads of its resources (`ReadContext::shared`).
type Shared = std::sync::Arc<dyn std::any::Any + Send + Sync>;

/// What the Resource Groups Tagging API lists as carrying the stack's ownership tag, by
/// ARN, with all their tags. Eventually consistent, so a shortcut, never the truth: a
/// resource created minutes ago may be missing and a deleted one still listed (see
/// `ReadContext::tagged`).
pub type Tagged = BTreeMap<String, BTreeMap<String, String>>;

impl<'a> ReadContext<'a> {
    /// A context for reading `stack` through `aws` in `mode`.
    #[must_use]
    pub fn new(aws: &'a Aws, stack: &'a Stack, mode: Mode) -> Self {
        Self {
            stack,
            mode,
            region: &aws.region,
            partial: false,
            aws,
            default_vpc: OnceCell::new(),
            records: OnceCell::new(),
            log_groups: OnceCell::new(),
            tagged: OnceCell::new(),
            shared: std::sync::Mutex::default(),
        }
    }

    /// What `init` answers, asked once per refresh under `key` however many reads ask for
    /// it: a kind's own listing shared by the reads of all its resources (one
    /// `ListEventSourceMappings` for many mappings). The kind decides, in its folder,
    /// whether a listing beats a read per resource; the registry only holds the answer.
    /// `key` names the listing, and one key always holds one type.
    pub async fn shared<T, F, Fut>(
        &self,
        key: &'static str,
        init: F,
    ) -> Result<std::sync::Arc<T>, AwsError>
    where
        T: std::any::Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, AwsError>>,
    {
        let cell = {
            let mut map = self
                .shared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            map.entry(key).or_default().clone()
        };
        let value = cell
            .get_or_try_init(|| async { init().await.map(|v| std::sync::Arc::new(v) as Shared) })
            .await?
            .clone();
        value.downcast::<T>().map_err(|_| AwsError::Unexpected {
            op: "refresh",
            address: key.to_string(),
            message: "one shared listing was asked for as two types (this is a bug)".into(),
        })
    }

    /// Every resource of the kinds the Tagging API covers that carries this stack's
    /// ownership tag, with its tags: one `GetResources` listing (100 a page) asked once,
    /// whatever asks for it; `None` where there is no Tagging API (DynamoDB Local).
    ///
    /// The stray listing reads it, and so may a kind's read, for the tags of its declared
    /// resources instead of a tag read per resource. Since the listing lags, a reader uses
    /// it only to confirm what it expects: a declared resource it does not list, or lists
    /// with other tags than the stack declares, gets its own tag read, so that a plan never
    /// shows a difference the listing alone reported. A resource it lists that does not
    /// exist is found absent by the kind's own read.
    pub async fn tagged(&self) -> Result<Option<&Tagged>, AwsError> {
        self.tagged
            .get_or_try_init(|| async {
                if !self.aws.engine.has_tagging_api() {
                    return Ok(None);
                }
                list_tagged(self.aws, &self.stack.name).await.map(Some)
            })
            .await
            .map(Option::as_ref)
    }

    /// The stack's ownership records on this endpoint, read once (one consistent scan of
    /// the lock table) however many readers ask: kinds that keep records (a DAX cluster's)
    /// and the stray listing share it.
    pub async fn records(&self) -> Result<&[crate::ownership::Record], AwsError> {
        self.records
            .get_or_try_init(|| crate::ownership::list(self.aws, &self.stack.name))
            .await
            .map(Vec::as_slice)
    }

    /// The stack's log groups that exist, by name: one `DescribeLogGroups` by the common
    /// prefix of every group a declared resource owns (`Resource::log_groups`), asked once
    /// however many resources read it; no call when none owns one. When the names share
    /// only a folder (`/aws/lambda/`), that listing would page through every function's
    /// group in the region: each group is then listed by its own name, concurrently.
    pub async fn log_groups(
        &self,
    ) -> Result<&BTreeMap<String, crate::resources::logs::LogGroupFacts>, AwsError> {
        self.log_groups
            .get_or_try_init(|| async {
                let names = crate::resources::log_group_names(self.stack);
                let prefixes =
                    match crate::resources::logs::common_prefix(names.iter().map(String::as_str)) {
                        None => Vec::new(),
                        Some(p) if p.ends_with('/') => names.clone(),
                        Some(p) => vec![p],
                    };
                let lists = try_join_all(
                    prefixes
                        .iter()
                        .map(|p| crate::resources::logs::aws::list(self.aws, p)),
                )
                .await?;
                Ok(lists.into_iter().flatten().collect())
            })
            .await
    }

    /// The id of the region's default VPC, asked once however many resources need it.
    pub async fn default_vpc(&self) -> Result<Option<String>, AwsError> {
        self.default_vpc
            .get_or_try_init(|| crate::resources::vpc::aws::default_vpc(&self.aws.ec2))
            .await
            .cloned()
    }

    /// The AWS name of the declared resource at `address`, if its kind has names.
    #[must_use]
    pub fn aws_name(&self, address: &Address) -> Option<&'a str> {
        crate::resources::aws_name(self.stack, address)
    }
}

/// Facts of every VPC the stack's resources use (`default` or an id), with the default
/// VPC's subnets and security group when a placement needs them.
async fn network(aws: &Aws, ctx: &ReadContext<'_>) -> Result<BTreeMap<String, VpcFacts>, AwsError> {
    let uses = crate::resources::vpc_uses(ctx.stack);
    let placement = uses
        .iter()
        .any(|(key, placement)| key == "default" && *placement);
    let keys: BTreeSet<String> = uses.into_iter().map(|(key, _)| key).collect();
    let facts = try_join_all(keys.iter().map(|key| async move {
        let id = if key == "default" {
            ctx.default_vpc().await?
        } else {
            Some(key.clone())
        };
        match id {
            Some(id) => Ok::<_, AwsError>(Some((
                key.clone(),
                crate::resources::vpc::aws::vpc_facts(&aws.ec2, &id, placement && key == "default")
                    .await?,
            ))),
            None => Ok(None),
        }
    }))
    .await?;
    Ok(facts.into_iter().flatten().collect())
}

/// Reads every declared resource of one kind with `read`, concurrently, each holding a
/// `--parallelism` permit, and pairs each answer with its address.
pub(crate) async fn read_all<'s, S, L, F, Fut>(
    aws: &'s Aws,
    sink: &'s dyn EventSink,
    declared: &'s [Declared<S>],
    read: F,
) -> Result<Vec<(Address, L)>, AwsError>
where
    F: Fn(Api<'s>, &'s Declared<S>) -> Fut,
    Fut: std::future::Future<Output = Result<L, AwsError>>,
{
    try_join_all(declared.iter().map(|d| {
        let read = &read;
        async move {
            let _permit = aws.reads.acquire().await;
            let live = read(Api::new(aws, &d.address, sink), d).await?;
            Ok((d.address.clone(), live))
        }
    }))
    .await
}

/// Reads the live state of every resource `stack` declares, kind by kind through the
/// registry, and the account id.
pub async fn refresh(
    aws: &Aws,
    stack: &Stack,
    mode: Mode,
    sink: &dyn EventSink,
) -> Result<(LiveState, String), AwsError> {
    let ctx = ReadContext::new(aws, stack, mode);
    let (account, mut state, vpcs, orphans) = tokio::try_join!(
        aws.account_id(),
        crate::resources::read_every_kind(aws, &ctx, sink, None),
        network(aws, &ctx),
        orphans(aws, &ctx, sink)
    )?;
    state.vpcs = vpcs;
    state.orphans = orphans;
    Ok((state, account))
}

/// Reads again only the declared resources in `only`, laid over `base` (a whole refresh
/// of the same stack made earlier in this run): what a changing `apply` re-reads under the
/// lock, the resources its plan changes and those they depend on, in one round. The VPC
/// facts are read again only when one of them uses a VPC, the strays only when `strays`
/// (the plan deletes some); the account id is the one `base` was read with.
pub async fn refresh_only(
    aws: &Aws,
    stack: &Stack,
    mode: Mode,
    sink: &dyn EventSink,
    only: &BTreeSet<Address>,
    strays: bool,
    mut base: LiveState,
) -> Result<LiveState, AwsError> {
    let mut ctx = ReadContext::new(aws, stack, mode);
    ctx.partial = true;
    let networked = only.iter().any(|a| crate::resources::uses_vpc(stack, a));
    let (fresh, vpcs, orphans) = tokio::try_join!(
        crate::resources::read_every_kind(aws, &ctx, sink, Some(only)),
        async {
            if networked {
                network(aws, &ctx).await.map(Some)
            } else {
                Ok(None)
            }
        },
        async {
            if strays {
                orphans(aws, &ctx, sink).await.map(Some)
            } else {
                Ok(None)
            }
        }
    )?;
    crate::resources::overlay(&mut base, fresh);
    if let Some(vpcs) = vpcs {
        base.vpcs = vpcs;
    }
    if let Some(orphans) = orphans {
        base.orphans = orphans;
    }
    Ok(base)
}

/// Resources tagged as owned by `stack` that it no longer declares, found with one
/// Resource Groups Tagging API query over every kind it covers (IAM roles are global and
/// not covered) or, without that API, from the ownership records; each read back by its kind: the Tagging API is eventually consistent and
/// lists deleted resources for a while, and a stray that does not exist is nothing to
/// delete.
pub async fn orphans(
    aws: &Aws,
    ctx: &ReadContext<'_>,
    sink: &dyn EventSink,
) -> Result<Vec<Stray>, AwsError> {
    let stack = ctx.stack;
    let listed = listed_orphans(aws, ctx).await?;
    let checked = try_join_all(listed.into_iter().map(|(kind, name)| async move {
        let _permit = aws.reads.acquire().await;
        let address = Address::new(kind, &name);
        let api = Api::new(aws, &address, sink);
        crate::resources::read_stray(api, &stack.name, kind, &name).await
    }))
    .await?;
    Ok(checked.into_iter().flatten().collect())
}

/// What the Tagging API lists as owned by `stack` and not declared, by kind and name; where
/// there is no Tagging API (DynamoDB Local), what the stack's ownership records list.
async fn listed_orphans(aws: &Aws, ctx: &ReadContext<'_>) -> Result<Vec<(Kind, String)>, AwsError> {
    let stack = ctx.stack;
    if !aws.engine.has_tagging_api() {
        return recorded_orphans(ctx, None).await;
    }
    // Kinds the Tagging API does not list keep their strays in ownership records.
    let by_record = crate::resources::record_stray_kinds();
    // Both listings at once: neither needs the other's answer.
    let (mut found, tagged) = tokio::try_join!(
        async {
            if by_record.is_empty() {
                Ok(Vec::new())
            } else {
                recorded_orphans(ctx, Some(&by_record)).await
            }
        },
        ctx.tagged()
    )?;
    if let Some(tagged) = tagged {
        found.extend(
            tagged
                .keys()
                .filter_map(|arn| crate::resources::stray_of(stack, arn)),
        );
    }
    found.sort();
    Ok(found)
}

/// Every resource of the kinds the Tagging API covers tagged as owned by `stack`, by ARN,
/// with its tags, following `PaginationToken`.
async fn list_tagged(aws: &Aws, stack: &str) -> Result<Tagged, AwsError> {
    let filter = aws_sdk_resourcegroupstagging::types::TagFilter::builder()
        .key(OWNER_TAG)
        .values(stack)
        .build();
    let types: Vec<String> = crate::resources::stray_types()
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut found = Tagged::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .tagging
            .get_resources()
            // The most a page holds: the listing grows with the stack by pages of 100.
            .resources_per_page(100)
            .tag_filters(filter.clone())
            .set_resource_type_filters(Some(types.clone()))
            .set_pagination_token(token.clone())
            .send()
            .await
            .map_err(|e| AwsError::call("GetResources", stack, &e, false))?;
        for m in out.resource_tag_mapping_list() {
            let Some(arn) = m.resource_arn() else {
                continue;
            };
            let tags = m
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            found.insert(arn.to_string(), tags);
        }
        token = out.pagination_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(found);
        }
    }
}

/// The resources `stack`'s ownership records name that it no longer declares, of the
/// `kinds` given (all when `None`). A record outlives its resource only after a crash
/// between the delete and the record's removal; the read-back in `orphans` finds nothing
/// there, so such a record plans nothing. Records of a resource's parts (a cluster's
/// `subnet-group/…`) are not resources of their own: they go with their resource.
async fn recorded_orphans(
    ctx: &ReadContext<'_>,
    kinds: Option<&[Kind]>,
) -> Result<Vec<(Kind, String)>, AwsError> {
    let stack = ctx.stack;
    let mut found: Vec<(Kind, String)> = ctx
        .records()
        .await?
        .iter()
        .filter(|r| kinds.is_none_or(|k| k.contains(&r.kind)) && !r.name.contains('/'))
        .filter(|r| !crate::resources::declares(stack, r.kind, &r.name))
        .map(|r| (r.kind, r.name.clone()))
        .collect();
    found.sort();
    Ok(found)
}
