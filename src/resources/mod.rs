//! The kinds of AWS resource a stack can declare, and what they share: addresses,
//! rendered values, field-level diffs and the ownership tag.
//!
//! Each kind lives in its own folder: `mod.rs` holds the pure `Spec`, `Live` and `diff`;
//! `aws.rs` holds reads and writes through the SDK. Nothing in this file talks to AWS.
//!
//! Ownership: a resource the tool creates carries the tag `OWNER_TAG=<stack>`, set in the
//! create call itself (a mapping has none: it is owned through its function). Planning
//! never updates or deletes a resource whose tag names another stack or none (`destroy`
//! leaves it in place with a note). A *stray* is a resource tagged as this stack's that
//! the stack file no longer declares (an entry removed or renamed): refresh finds strays
//! through the Resource Groups Tagging API, and planning deletes them in both `apply` and
//! `destroy`.

pub mod logs;
pub mod permissions;
pub mod policy;
pub mod refs;
pub mod vpc;

use crate::engine::Engine;
use crate::plan::{PlanError, Planner};
use crate::stack::Declared;

/// What `adopt` found for one declared resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adoption {
    /// The kind belongs to another resource (a mapping, a log group) and is never adopted.
    NotAdoptable,
    /// It does not exist in AWS: `apply` creates it.
    Missing,
    /// It exists.
    Found {
        /// The stack its tag named before.
        owner: Option<String>,
        /// What to tag (an ARN, a name or an id, as the kind's tagging call takes it).
        target: String,
    },
}

/// One stack-file entry of a kind, as `Resource::check_all` sees it: its logical name, its
/// raw form and its validated spec.
pub type Entry<'a, R, S> = (
    &'a serde_saphyr::Spanned<String>,
    &'a serde_saphyr::Spanned<R>,
    &'a S,
);

/// The pure half of one resource kind: what the stack declares of it and how one declared
/// resource is planned. Implemented by a unit type in the kind's folder and registered,
/// one line, in `kinds!` below; the drivers in `plan/` never name a kind.
pub trait Resource {
    /// Its kind, as addresses show it. The generated dispatch compares a `Kind` with each
    /// registered `KIND` in turn, so no two registered kinds may share one.
    const KIND: Kind;

    /// The kind's prefix in addresses and references (`table`, `vpc_endpoint`), unique
    /// among the registered kinds.
    const PREFIX: &'static str;

    /// The attributes an entry exports to `${…}` references (`name`, `arn`, `stream_arn`).
    ///
    /// Called for every entry of every kind before any entry is validated, so that a
    /// reference to any kind can be checked whatever the file order. Pure. Each attribute
    /// listed must be made known by planning (`seed_known`, `plan`) or by apply
    /// (`run.outputs`), or a reference to it fails at apply time as unresolved.
    fn exports(raw: &Self::Raw) -> Vec<refs::Attr> {
        let _ = raw;
        Vec::new()
    }

    /// Validates one entry against AWS's rules, reporting every problem to `vd`; `names`
    /// are every declared resource, for references; `base` is the stack file's folder.
    ///
    /// Called once per entry, in file order. It must not stop at the first problem and must
    /// return a spec even for an invalid entry (a placeholder will do): loading fails
    /// afterwards when `vd` holds any problem, so such a spec is never planned. No AWS calls.
    fn validate(
        vd: &mut crate::stack::validate::Validator,
        raw: &serde_saphyr::Spanned<Self::Raw>,
        names: &crate::stack::validate::Names,
        base: &std::path::Path,
    ) -> Self::Spec;

    /// Where an entry is declared, for messages about the resource as a whole.
    #[must_use]
    fn declared_at(
        logical: &serde_saphyr::Spanned<String>,
        raw: &serde_saphyr::Spanned<Self::Raw>,
    ) -> Option<crate::stack::Loc> {
        let _ = raw;
        crate::stack::validate::loc(logical)
    }

    /// Checks across the entries of this kind (two with one AWS name, say).
    ///
    /// Called once per kind, after all its entries are validated, with the entries in file
    /// order; a spec may be a placeholder (see `validate`).
    fn check_all(
        vd: &mut crate::stack::validate::Validator,
        entries: &[Entry<'_, Self::Raw, Self::Spec>],
    ) {
        let _ = (vd, entries);
    }
    /// The entry's own `enabled:` setting, where it wrote one (every kind's raw type has
    /// the field: any resource may be off until an environment enables it).
    fn enabled(raw: &Self::Raw) -> Option<&serde_saphyr::Spanned<bool>>;

    /// How messages name this kind (`table`, `event source mapping`).
    const NOUN: &'static str;
    /// One entry of this kind in the stack file, exactly as written (`deny_unknown_fields`).
    type Raw: for<'de> serde::Deserialize<'de> + std::fmt::Debug;
    /// What the stack declares, validated.
    type Spec: std::fmt::Debug + Clone;
    /// What refresh reads for one declared resource of this kind. A resource that does not
    /// exist is a value here (`None`, an empty list), never a read error.
    type Live: std::fmt::Debug + Clone;
    /// What apply runs for one change of this kind (`Operation`'s variant for it). It is
    /// recorded in the plan and must carry everything apply needs: apply chooses nothing,
    /// it only fills in references the plan could not know.
    type Op: std::fmt::Debug + Clone + PartialEq;

    /// What `status` shows of a resource as refresh read it: `("state", …)` first, as AWS
    /// spells it (`ACTIVE`, `Active`, `available`, `Enabled`), then facts worth a glance
    /// (an item count, an endpoint). Empty when it does not exist.
    ///
    /// Pure.
    fn facts(live: &Self::Live) -> Vec<(&'static str, String)> {
        let _ = live;
        Vec::new()
    }

    /// What `outputs` prints of a resource as refresh read it: the values people copy into
    /// an application's settings (ARNs, names, ids, endpoints), as `(attribute, value)` in
    /// the order to show them. An attribute that `${…}` references also export is named as
    /// they name it (`refs::Attr::as_str`: `arn`, `name`, `stream_arn`, `endpoint`), so a
    /// script and a reference ask for one value by one name. A value AWS has not reported
    /// yet (a cluster's endpoint while it is created) is left out, never a placeholder.
    ///
    /// Pure. Empty exactly when the resource does not exist: `outputs` says so, and tells
    /// the user to `apply`.
    fn outputs(live: &Self::Live) -> Vec<(&'static str, String)> {
        let _ = live;
        Vec::new()
    }

    /// Whether `op` deletes data the resource holds (a table replaced or deleted), so that
    /// the data-loss guard and `--backup` see it. Most kinds hold none.
    ///
    /// Pure. Read through `Change::deleted_table`: each such change is probed with
    /// `ResourceIo::holds_data` before confirmation, and backed up under `--backup`.
    #[must_use]
    fn deletes_data(op: &Self::Op) -> bool {
        let _ = op;
        false
    }

    /// Whether the declared resource `d` is the one AWS knows as `name` (so a tagged resource
    /// of that name is no stray). Kinds without names of their own say so by their live
    /// state, in `claims`.
    ///
    /// Pure. Used at refresh, to drop the Tagging API's listings of declared resources
    /// (`stray_of`), and at planning, so that a declared resource is never deleted as a
    /// stray (`stray_operation`).
    #[must_use]
    fn declares(d: &Declared<Self::Spec>, name: &str) -> bool {
        let _ = (d, name);
        false
    }

    /// Whether what refresh read for `d` includes the resource AWS knows as `name`.
    ///
    /// Pure; called at planning only. Kinds found by a natural key rather than a name (a
    /// VPC endpoint by VPC and service) answer here, so that what they found is planned by
    /// their own `plan`, not deleted a second time as a stray.
    #[must_use]
    fn claims(live: &Self::Live, name: &str) -> bool {
        let _ = (live, name);
        false
    }

    /// The operation that deletes a stray of this kind named `name`; `None` for kinds that
    /// are never found as strays.
    ///
    /// A kind with a `ResourceIo::STRAY_TYPE` must answer `Some`: planning skips, without a
    /// word, a stray whose kind has no operation for it.
    #[must_use]
    fn stray_op(name: &str) -> Option<Self::Op> {
        let _ = name;
        None
    }

    /// For `adopt`: takes over what refresh read for a declared resource of this kind,
    /// recording `stack` as its owner so that the next plan can be shown; answers who owned
    /// it and the identity to tag.
    ///
    /// Pure: only `live` changes, so that the plan the `adopt` command shows is computed as
    /// if the stack owned the resource already. The tag itself is written afterwards, once
    /// the user confirms, by `ResourceIo::tag_owned` with `target`; the previous owner is
    /// returned so that a resource of another stack is refused.
    fn adopt(live: &mut Self::Live, stack: &str) -> Adoption {
        let _ = (live, stack);
        Adoption::NotAdoptable
    }

    /// The resource's name in AWS, for kinds whose resources have one (others refer to it by
    /// that name, a mapping to its function's, say). Other kinds' reads find it through
    /// `ReadContext::aws_name`.
    fn aws_name(spec: &Self::Spec) -> Option<&str> {
        let _ = spec;
        None
    }

    /// The resource's ARN in `account` and `region`, for kinds whose ARNs AWS builds from
    /// the name (others refer to it by ARN: a function's role passed with `iam:PassRole`).
    fn arn(account: &str, region: &str, spec: &Self::Spec) -> Option<String> {
        let _ = (account, region, spec);
        None
    }

    /// The VPCs (`default` or an id) this resource uses, each with whether it needs the
    /// default VPC's subnets and security group (a placement).
    ///
    /// Pure. Refresh reads the facts of each VPC named here once, into `LiveState::vpcs`
    /// under the same key; `plan` looks them up there, a missing key meaning that the
    /// region has no default VPC.
    fn vpcs(spec: &Self::Spec) -> Vec<(String, bool)> {
        let _ = spec;
        Vec::new()
    }

    /// What the given declared resources of this kind cost while they exist in `region`,
    /// one line each, all entries together (a kind whose free tier is shared across its
    /// resources, like `DynamoDB`'s capacity, sums them). A kind that costs nothing says
    /// nothing. With `stopping`, the lines say what stops costing once they are deleted
    /// (`destroy`, or resources disabled here).
    ///
    /// Pure. The plan ends with these lines: converging, for every resource planned to
    /// exist, whether or not it changes; for those it deletes, with `stopping`.
    fn costs(region: &str, specs: &[&Self::Spec], stopping: bool) -> Vec<String> {
        let _ = (region, specs, stopping);
        Vec::new()
    }

    /// The `CloudWatch` log groups this resource owns (a function's `/aws/lambda/<name>`).
    /// Refresh lists every group of the stack in one `DescribeLogGroups` by their common
    /// prefix (`ReadContext::log_groups`), however many resources own one.
    ///
    /// Pure; asked of every declared resource, enabled or not (a disabled one's group is
    /// deleted).
    fn log_groups(spec: &Self::Spec) -> Vec<String> {
        let _ = spec;
        Vec::new()
    }

    /// Whether `engine` serves this kind at all. DynamoDB Local serves tables only: there,
    /// every other kind leaves the stack before refresh (`fit_to_engine`), so it is not read,
    /// planned or touched.
    #[must_use]
    fn served_by(engine: Engine) -> bool {
        engine == Engine::Aws
    }

    /// Sets aside, in a declared spec, the settings `engine` cannot hold (DynamoDB Local: a
    /// table's tags and point-in-time recovery), so that they are neither diffed nor sent;
    /// answers their names for the plan's one note. Pure; called before refresh.
    fn set_aside_for(spec: &mut Self::Spec, engine: Engine) -> Vec<&'static str> {
        let _ = (spec, engine);
        Vec::new()
    }

    /// Exports what others may reference and is known before any AWS call (its name and
    /// ARN, which AWS builds from the name, account and region).
    ///
    /// Called for every declared resource of every kind before any `plan`, so references
    /// resolve whatever the registry order. Pure: only the spec and `p.ctx` are used.
    fn seed_known(p: &mut Planner<'_>, d: &Declared<Self::Spec>);

    /// The role this resource runs as and the service principal that assumes it (a
    /// function's role, assumed by `lambda.amazonaws.com`). The checker holds the role's
    /// trust against it.
    ///
    /// Pure; asked of enabled resources only.
    fn runs_as(d: &Declared<Self::Spec>) -> Option<(Address, &'static str)> {
        let _ = d;
        None
    }

    /// What this resource needs the roles it uses to allow (a mapping: its function's role
    /// reads the stream). One shared checker (`plan::checks`) evaluates each need against
    /// the role's policies.
    ///
    /// Pure; called for enabled resources when converging, after every resource is planned
    /// (so `p.known` holds every value planning knows).
    fn needs(p: &Planner<'_>, d: &Declared<Self::Spec>) -> Vec<crate::plan::checks::Need> {
        let _ = (p, d);
        Vec::new()
    }

    /// What this resource grants to whoever assumes it, as the stack declares it (roles).
    ///
    /// Pure; called for enabled resources when converging.
    fn identity(
        p: &Planner<'_>,
        d: &Declared<Self::Spec>,
    ) -> Option<crate::plan::checks::Identity> {
        let _ = (p, d);
        None
    }

    /// The named parts of this resource that code may be handed by name (a table's
    /// indexes), so that a kind handing names to code can say what its role needs.
    ///
    /// Pure; asked of enabled resources only.
    fn parts(d: &Declared<Self::Spec>) -> Vec<crate::plan::checks::Part> {
        let _ = d;
        Vec::new()
    }

    /// The kind's own findings before any write: what AWS would accept but fail later (a
    /// handler naming no file), what it will soon refuse (a runtime past its date), what is
    /// legal but unwise (an over-broad grant). Errors stop the plan; warnings are printed,
    /// and `--strict` makes them errors.
    ///
    /// Pure; called for enabled resources when converging (and by `validate`, offline:
    /// `p.ctx.offline`, with no live state).
    fn check(p: &Planner<'_>, d: &Declared<Self::Spec>) -> Vec<crate::stack::Diagnostic> {
        let _ = (p, d);
        Vec::new()
    }

    /// A value of the shape AWS will give `attr` once applied (a new stream's ARN under the
    /// table's), for the checks only, when planning cannot know it yet: both a policy that
    /// names `${table.x.stream_arn}` and one that names `…:table/x/stream/*` then grant a
    /// need of that stream, as they will on AWS. `None`: an opaque placeholder.
    fn placeholder(p: &Planner<'_>, d: &Declared<Self::Spec>, attr: refs::Attr) -> Option<String> {
        let _ = (p, d, attr);
        None
    }

    /// Plans one declared resource: its diff against what refresh read, the safety checks
    /// and the action (`Planner::action`), and the operation apply will run, recorded with
    /// `Planner::push`. Every problem is an error, never a guess.
    ///
    /// Called once per declared resource, in registry order, in both modes (`p.mode`). It
    /// must be deterministic: `apply` plans again under the lock and refuses to go on when
    /// the changes differ. At most one change is pushed, none when nothing differs. An
    /// `Err` is collected and planning goes on with the other resources; live state
    /// missing from `p.live` is `PlanError::NotRefreshed`, a bug.
    fn plan(p: &mut Planner<'_>, d: &Declared<Self::Spec>) -> Result<(), PlanError>;
}

/// The I/O half of one resource kind: how its operations run through the SDK. Implemented
/// in the kind's `aws` module; the apply driver dispatches through the registry and never
/// names a kind.
// `async fn` in this trait is called only through the registry's static dispatch, on the
// apply task itself: no caller needs to name the future's auto traits.
#[allow(async_fn_in_trait)]
pub trait ResourceIo: Resource {
    /// Reads what planning needs for one declared resource of this kind (never writes).
    ///
    /// Called at refresh for every declared resource, all kinds concurrently, each read
    /// holding a `--parallelism` permit. The service's not-found error maps to absence in
    /// `Live`. `ctx` shares what is read once (the default VPC's id) and other resources'
    /// AWS names. Any other failed call fails the whole refresh.
    async fn read(
        api: crate::aws::Api<'_>,
        ctx: &crate::refresh::ReadContext<'_>,
        d: &Declared<Self::Spec>,
    ) -> Result<Self::Live, crate::aws::AwsError>;

    /// Runs one planned operation of this kind, making what it learns (a new stream's ARN)
    /// known to the changes after it through `run.outputs`.
    ///
    /// Called once per change, once the changes it depends on have succeeded (for
    /// `destroy`, once the changes depending on it are done). It decides nothing the plan
    /// did not record; references still unknown are filled in from `run.outputs`, an error
    /// if they are still missing. A create of a tagged kind sets the ownership tag
    /// (`OWNER_TAG=run.stack`) in the create call itself, so that no interruption can leave
    /// an untagged resource the next plan would refuse as not owned. On an error, the
    /// changes depending on this one are skipped; the others go on.
    async fn apply(
        api: crate::aws::Api<'_>,
        run: &crate::apply::Run<'_>,
        change: &crate::plan::Change,
        op: &Self::Op,
    ) -> Result<(), crate::aws::AwsError>;

    /// The IAM permissions the operator needs for every call this kind makes for the
    /// declared resource `d`: its reads (`Phase::Plan`) and its creates, updates, waits and
    /// deletes (`Phase::Change`), scoped to its ARNs where the service allows, `*` with the
    /// reason where AWS requires it, and what AWS checks inside another call (`aws_only`).
    /// A disabled resource needs what finds it absent; deleting one the stack made before
    /// needs it enabled in the scope (the `permissions` note says so).
    ///
    /// Pure. `permissions` joins every kind's into one policy, so a new kind adds its calls
    /// here, next to them.
    fn permissions(
        scope: &permissions::Scope<'_>,
        d: &Declared<Self::Spec>,
    ) -> Vec<permissions::Permission> {
        let _ = (scope, d);
        Vec::new()
    }

    /// The Resource Groups Tagging API type of this kind (`dynamodb:table`), when that API
    /// covers it: strays of the stack are found with it. `None` (IAM roles, which are global
    /// and not covered) means the kind is never found as a stray; a kind that sets it also
    /// implements `stray_name`, `read_stray` and `Resource::stray_op`.
    const STRAY_TYPE: Option<&'static str> = None;

    /// Whether strays of this kind are found from the stack's ownership records (the kind
    /// writes one before every create) rather than through the Tagging API.
    const STRAYS_FROM_RECORDS: bool = false;

    /// The name (or id) in one of this kind's ARNs, if `arn` is one.
    ///
    /// Tried on every ARN the Tagging API lists, kind by kind in registry order; the first
    /// kind that answers `Some` takes the ARN, so this must match its ARN shape exactly.
    #[must_use]
    fn stray_name(arn: &str) -> Option<String> {
        let _ = arn;
        None
    }

    /// Reads a listed stray back: `None` when it is gone, going, or not owned by `stack` (the
    /// Tagging API is eventually consistent and lists deleted resources for a while).
    /// Called at refresh, once per listed stray; never writes.
    #[must_use]
    async fn read_stray(
        api: crate::aws::Api<'_>,
        stack: &str,
        name: &str,
    ) -> Result<Option<crate::plan::Stray>, crate::aws::AwsError> {
        let _ = (api, stack, name);
        Ok(None)
    }

    /// Whether the resource `name` holds data a deletion loses (a table with at least one
    /// item), for the data-loss guard. Most kinds hold none.
    ///
    /// Probed before confirmation for every change whose operation `deletes_data`: a `true`
    /// refuses the whole plan unless `--allow-data-loss` is given.
    #[must_use]
    async fn holds_data(
        api: crate::aws::Api<'_>,
        name: &str,
    ) -> Result<bool, crate::aws::AwsError> {
        let _ = (api, name);
        Ok(false)
    }

    /// Takes an on-demand backup of `name` (`--backup`) and returns its ARN; `None` for kinds
    /// that hold no data.
    ///
    /// Run under the lock, before any change, for every change whose operation
    /// `deletes_data`; `label` goes into the backup's name.
    #[must_use]
    async fn backup(
        api: crate::aws::Api<'_>,
        name: &str,
        label: &str,
    ) -> Result<Option<String>, crate::aws::AwsError> {
        let _ = (api, name, label);
        Ok(None)
    }

    /// Adds this stack's ownership tag to `target` (`adopt`).
    ///
    /// Called once the user confirms, with `target` as `Resource::adopt` answered it. Only
    /// the tag is added: the changes the plan showed wait for the next `apply`. The default
    /// refuses, for kinds that are never adopted on their own.
    #[must_use]
    async fn tag_owned(
        api: crate::aws::Api<'_>,
        target: &str,
        stack: &str,
    ) -> Result<(), crate::aws::AwsError> {
        let _ = (stack, api);
        Err(crate::aws::AwsError::Unexpected {
            op: "adopt",
            address: target.to_string(),
            message: "this kind is never adopted on its own".into(),
        })
    }

    /// Deletes what this kind holds that belongs to the resource `owner` of kind `kind` and
    /// outlives it (a function's stream mappings), before that resource goes as a stray.
    ///
    /// Called on every kind by the registry's `delete_dependents`; a kind that holds
    /// nothing of `kind` answers `Ok(())` at once.
    #[must_use]
    async fn delete_dependents(
        api: crate::aws::Api<'_>,
        kind: Kind,
        owner: &str,
    ) -> Result<(), crate::aws::AwsError> {
        let _ = (api, kind, owner);
        Ok(())
    }
}

/// The registry: every resource kind, one line each — its folder, its unit type, where the
/// validated stack keeps its declarations and the stack file's section for them. The order is the planning order: tables first, since
/// their stream ARNs feed the references of the others.
///
/// Input, one entry per kind, comma-separated:
///
/// ```text
/// module::Unit in field from "section"
/// ```
///
/// `module` is the kind's folder (declared here as `pub mod module;`); `Unit` is its unit
/// type, which implements `Resource` and `ResourceIo` and names its `Operation` variant;
/// `field` names its field in `RawStack`, `Stack` and `LiveState`; `section` is the stack
/// file's key for it.
///
/// Generated: those four types and every dispatch function the drivers in `stack`,
/// `refresh`, `plan` and `apply` call instead of naming a kind.
macro_rules! kinds {
    ($($module:ident :: $unit:ident in $field:ident from $section:literal),* $(,)?) => {
        $(pub mod $module;)*

        /// A kind of resource, as it appears in addresses (`table.messages`): one per
        /// registered kind, named after its unit type, plus the log group Lambda makes for a
        /// function (destroyed with it, never declared).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $(
                #[doc = concat!("A `", stringify!($module), "`.")]
                $unit,
            )*
            /// The `CloudWatch` log group Lambda makes for a function (destroyed, never created).
            LogGroup,
        }

        impl Kind {
            /// Every kind, in registry order, the log group last.
            pub const ALL: &'static [Kind] = &[$(Kind::$unit,)* Kind::LogGroup];

            /// The address prefix (`Resource::PREFIX`).
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$unit => <$module::$unit as Resource>::PREFIX,)*
                    Kind::LogGroup => "log_group",
                }
            }
        }

        /// The whole stack file, exactly as written: one section per kind.
        #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct RawStack {
            /// The stack's name, used in the ownership tag `cruddur-infra:stack=<name>`.
            #[schemars(with = "String")]
            pub name: serde_saphyr::Spanned<String>,
            /// Named environments (`local`, `prod`, …).
            #[schemars(
                with = "crate::stack::raw::SpannedMap<serde_saphyr::Spanned<crate::stack::raw::RawEnvironment>>"
            )]
            pub environments: serde_saphyr::Spanned<
                crate::stack::raw::SpannedMap<serde_saphyr::Spanned<crate::stack::raw::RawEnvironment>>,
            >,
            $(
                #[doc = concat!("The `", $section, "` section, by logical name.")]
                #[serde(default, rename = $section)]
                pub $field: crate::stack::raw::SpannedMap<
                    serde_saphyr::Spanned<<$module::$unit as Resource>::Raw>,
                >,
            )*
        }

        /// A validated stack: what the rest of the tool works from.
        #[derive(Debug, Clone)]
        pub struct Stack {
            /// Stack name (the value of the ownership tag).
            pub name: String,
            /// The file it came from.
            pub path: std::path::PathBuf,
            /// Hex SHA-256 of the text it was read from: what a saved plan records, taken
            /// from the very bytes that were planned.
            pub source_sha256: String,
            /// Environments by name.
            pub environments: std::collections::BTreeMap<String, crate::stack::Environment>,
            /// Where `environments:` is, to point at when an unknown one is asked for.
            pub environments_loc: Option<crate::stack::Loc>,
            /// Every reference one entry makes to another, in file order.
            pub uses: Vec<crate::stack::Use>,
            $(
                #[doc = concat!("Declared `", $section, "`, in file order.")]
                pub $field: Vec<Declared<<$module::$unit as Resource>::Spec>>,
            )*
        }

        /// Validates every entry of every kind: first the names every kind declares (for
        /// references), then each entry, then each kind's checks across its entries. The
        /// stack's own name and environments are the caller's.
        pub(crate) fn validate_every_kind(
            vd: &mut crate::stack::validate::Validator,
            raw: &RawStack,
            base: &std::path::Path,
            path: &std::path::Path,
        ) -> Stack {
            let mut names = crate::stack::validate::Names::default();
            $(for (logical, r) in &raw.$field.0 {
                names.add(
                    Address::new(<$module::$unit as Resource>::KIND, &logical.value),
                    <$module::$unit as Resource>::exports(&r.value),
                );
            })*
            $(
                let $field = {
                    let mut out = Vec::new();
                    for (logical, r) in &raw.$field.0 {
                        vd.logical_name(<$module::$unit as Resource>::NOUN, logical);
                        let address = Address::new(<$module::$unit as Resource>::KIND, &logical.value);
                        // The references this entry makes are recorded against it, for the
                        // per-environment check of references to disabled resources.
                        vd.entry(&address);
                        out.push(Declared {
                            spec: <$module::$unit as Resource>::validate(vd, r, &names, base),
                            loc: <$module::$unit as Resource>::declared_at(logical, r),
                            enabled: <$module::$unit as Resource>::enabled(&r.value).is_none_or(|e| e.value),
                            address,
                        });
                    }
                    let entries: Vec<_> = raw
                        .$field
                        .0
                        .iter()
                        .zip(&out)
                        .map(|((logical, r), d)| (logical, r, &d.spec))
                        .collect();
                    <$module::$unit as Resource>::check_all(vd, &entries);
                    out
                };
            )*
            Stack {
                name: raw.name.value.clone(),
                path: path.to_path_buf(),
                source_sha256: String::new(),
                environments: std::collections::BTreeMap::new(),
                environments_loc: None,
                uses: vd.take_uses(),
                $($field,)*
            }
        }

        /// The kind-specific work of a change: one variant per registered kind, named after
        /// its unit type.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Operation {
            $(
                #[doc = concat!("An operation on a `", stringify!($module), "`.")]
                $unit(<$module::$unit as Resource>::Op),
            )*
        }

        /// Live state of every resource the stack declares, as refresh read it (one map per
        /// kind, by address), plus the local facts planning needs.
        #[derive(Debug, Clone, Default)]
        pub struct LiveState {
            $(
                #[doc = concat!("What refresh read for each declared `", stringify!($module), "`.")]
                pub $field: std::collections::BTreeMap<Address, <$module::$unit as Resource>::Live>,
            )*
            /// Facts of each VPC used, by `default` or id.
            pub vpcs: std::collections::BTreeMap<String, vpc::VpcFacts>,
            /// Deployment packages by function address.
            pub artifacts: std::collections::BTreeMap<Address, crate::artifact::Artifact>,
            /// Resources tagged as owned by this stack that it no longer declares (each read
            /// back: the Tagging API lists deleted resources for a while).
            pub orphans: Vec<crate::plan::Stray>,
        }

        impl Operation {
            /// Whether this deletes data its resource holds (see `Resource::deletes_data`);
            /// a stray's deletion is decided by the plan, which knows what it is.
            #[must_use]
            pub fn deletes_data(&self) -> bool {
                match self {
                    $(Operation::$unit(op) => <$module::$unit as Resource>::deletes_data(op),)*
                }
            }
        }

        /// Runs one change's operation with its kind's `ResourceIo::apply`.
        pub(crate) async fn apply_operation(
            api: crate::aws::Api<'_>,
            run: &crate::apply::Run<'_>,
            change: &crate::plan::Change,
        ) -> Result<(), crate::aws::AwsError> {
            match &change.operation {
                $(Operation::$unit(op) => {
                    <$module::$unit as ResourceIo>::apply(api, run, change, op).await
                })*
            }
        }

        /// Fits the stack to what `engine` serves: drops every kind it does not serve, and
        /// sets aside the settings it cannot hold (`Resource::served_by`,
        /// `Resource::set_aside_for`). Answers the header's notes: one line naming what was
        /// left out, and one naming the settings set aside. Nothing for AWS itself.
        pub fn fit_to_engine(stack: &mut Stack, engine: Engine) -> Vec<String> {
            let mut dropped = Vec::new();
            let mut set_aside: Vec<&'static str> = Vec::new();
            $(
                if <$module::$unit as Resource>::served_by(engine) {
                    for d in &mut stack.$field {
                        for what in <$module::$unit as Resource>::set_aside_for(&mut d.spec, engine) {
                            if !set_aside.contains(&what) {
                                set_aside.push(what);
                            }
                        }
                    }
                } else if !stack.$field.is_empty() {
                    let n = stack.$field.len();
                    let plural = if n == 1 { "" } else { "s" };
                    dropped.push(format!("{n} {}{plural}", <$module::$unit as Resource>::NOUN));
                    stack.$field.clear();
                }
            )*
            let mut notes = Vec::new();
            if !dropped.is_empty() {
                notes.push(format!(
                    "{} serves tables only: {} declared here are not read, planned or touched in this environment",
                    engine.display_name(),
                    dropped.join(", "),
                ));
            }
            if !set_aside.is_empty() {
                let names: Vec<String> = set_aside.iter().map(|s| format!("`{s}`")).collect();
                notes.push(format!(
                    "{} cannot hold {}: they are not compared or set here",
                    engine.display_name(),
                    names.join(" or "),
                ));
            }
            notes
        }

        /// Every declared resource's address, whether it is enabled, and where it is
        /// declared, in registry then file order.
        #[must_use]
        pub fn declared_resources(stack: &Stack) -> Vec<(Address, bool, Option<crate::stack::Loc>)> {
            let mut out = Vec::new();
            $(out.extend(stack.$field.iter().map(|d| (d.address.clone(), d.enabled, d.loc)));)*
            out
        }

        /// Turns the declared resource at `address` on or off.
        pub(crate) fn set_enabled(stack: &mut Stack, address: &Address, enabled: bool) {
            $(for d in &mut stack.$field {
                if &d.address == address {
                    d.enabled = enabled;
                }
            })*
        }

        /// Whether a declared resource of `kind` is the one AWS knows as `name`.
        pub(crate) fn declares(stack: &Stack, kind: Kind, name: &str) -> bool {
            $(
                if kind == <$module::$unit as Resource>::KIND {
                    return stack
                        .$field
                        .iter()
                        .any(|d| <$module::$unit as Resource>::declares(d, name));
                }
            )*
            false
        }

        /// The kinds whose strays are found from ownership records.
        pub(crate) fn record_stray_kinds() -> Vec<Kind> {
            let mut kinds = Vec::new();
            $(if <$module::$unit as ResourceIo>::STRAYS_FROM_RECORDS {
                kinds.push(<$module::$unit as Resource>::KIND);
            })*
            kinds
        }

        /// The Tagging API types of every kind it covers.
        pub(crate) fn stray_types() -> Vec<&'static str> {
            [$(<$module::$unit as ResourceIo>::STRAY_TYPE),*].into_iter().flatten().collect()
        }

        /// The kind and name of a tagged ARN, unless a declared resource is that resource.
        pub(crate) fn stray_of(stack: &crate::stack::Stack, arn: &str) -> Option<(Kind, String)> {
            $(
                if let Some(name) = <$module::$unit as ResourceIo>::stray_name(arn) {
                    let declared = stack
                        .$field
                        .iter()
                        .any(|d| <$module::$unit as Resource>::declares(d, &name));
                    return (!declared).then_some((<$module::$unit as Resource>::KIND, name));
                }
            )*
            None
        }

        /// Reads a listed stray back with its kind's `ResourceIo::read_stray`.
        pub(crate) async fn read_stray(
            api: crate::aws::Api<'_>,
            stack: &str,
            kind: Kind,
            name: &str,
        ) -> Result<Option<crate::plan::Stray>, crate::aws::AwsError> {
            $(
                if kind == <$module::$unit as Resource>::KIND {
                    return <$module::$unit as ResourceIo>::read_stray(api, stack, name).await;
                }
            )*
            Ok(None)
        }

        /// Deletes, kind by kind, what outlives the resource `owner` (see
        /// `ResourceIo::delete_dependents`).
        pub(crate) async fn delete_dependents(
            api: crate::aws::Api<'_>,
            kind: Kind,
            owner: &str,
        ) -> Result<(), crate::aws::AwsError> {
            $(<$module::$unit as ResourceIo>::delete_dependents(api, kind, owner).await?;)*
            Ok(())
        }

        /// The operation deleting `stray`, unless a declared resource of its kind claims it
        /// (the Tagging API lists every tagged resource, declared ones included).
        pub(crate) fn stray_operation(
            p: &Planner<'_>,
            stray: &crate::plan::Stray,
        ) -> Option<Operation> {
            $(
                if stray.kind == <$module::$unit as Resource>::KIND {
                    let claimed = p.stack.$field.iter().any(|d| {
                        <$module::$unit as Resource>::declares(d, &stray.name)
                            || p.live.$field.get(&d.address).is_some_and(|l| {
                                <$module::$unit as Resource>::claims(l, &stray.name)
                            })
                    });
                    return if claimed {
                        None
                    } else {
                        <$module::$unit as Resource>::stray_op(&stray.name).map(Operation::$unit)
                    };
                }
            )*
            None
        }

        /// For `adopt`: the declared resource at `address`, taken over in `live` (see
        /// `Resource::adopt`); `None` when the stack does not declare it.
        pub(crate) fn adopt(live: &mut LiveState, address: &Address, stack: &str) -> Option<Adoption> {
            $(
                if address.kind == <$module::$unit as Resource>::KIND {
                    return live
                        .$field
                        .get_mut(address)
                        .map(|l| <$module::$unit as Resource>::adopt(l, stack));
                }
            )*
            None
        }

        /// Tags `target` of kind `kind` as owned by `stack`, with its kind's call.
        pub(crate) async fn tag_owned(
            api: crate::aws::Api<'_>,
            kind: Kind,
            target: &str,
            stack: &str,
        ) -> Result<(), crate::aws::AwsError> {
            $(
                if kind == <$module::$unit as Resource>::KIND {
                    return <$module::$unit as ResourceIo>::tag_owned(api, target, stack).await;
                }
            )*
            let _ = (api, stack);
            Err(crate::aws::AwsError::Unexpected {
                op: "adopt",
                address: target.to_string(),
                message: format!("no registered kind is `{}`", kind.as_str()),
            })
        }

        /// Whether the resource a change acts on holds data (`ResourceIo::holds_data`).
        pub(crate) async fn holds_data(
            api: crate::aws::Api<'_>,
            change: &crate::plan::Change,
        ) -> Result<bool, crate::aws::AwsError> {
            match &change.operation {
                $(Operation::$unit(_) => {
                    <$module::$unit as ResourceIo>::holds_data(api, &change.name).await
                })*
            }
        }

        /// Backs up the resource a change acts on (`ResourceIo::backup`).
        pub(crate) async fn backup(
            api: crate::aws::Api<'_>,
            change: &crate::plan::Change,
            label: &str,
        ) -> Result<Option<String>, crate::aws::AwsError> {
            match &change.operation {
                $(Operation::$unit(_) => {
                    <$module::$unit as ResourceIo>::backup(api, &change.name, label).await
                })*
            }
        }

        /// Reads every declared resource of every kind, concurrently.
        pub(crate) async fn read_every_kind(
            aws: &crate::aws::Aws,
            ctx: &crate::refresh::ReadContext<'_>,
            sink: &dyn crate::events::EventSink,
            only: Option<&std::collections::BTreeSet<Address>>,
        ) -> Result<LiveState, crate::aws::AwsError> {
            $(
                let $field: Vec<_> = ctx
                    .stack
                    .$field
                    .iter()
                    .filter(|d| only.is_none_or(|o| o.contains(&d.address)))
                    .cloned()
                    .collect();
            )*
            let ($($field,)*) = futures::try_join!($(
                crate::refresh::read_all(aws, sink, &$field, |api, d| {
                    <$module::$unit as ResourceIo>::read(api, ctx, d)
                }),
            )*)?;
            Ok(LiveState {
                $($field: $field.into_iter().collect(),)*
                ..LiveState::default()
            })
        }

        /// Puts every resource `fresh` holds into `live`, in place of what `live` held of
        /// it: a refresh of some resources laid over a whole earlier one.
        pub(crate) fn overlay(live: &mut LiveState, fresh: LiveState) {
            $(live.$field.extend(fresh.$field);)*
        }

        /// Whether the declared resource at `address` uses a VPC (`Resource::vpcs`).
        pub(crate) fn uses_vpc(stack: &Stack, address: &Address) -> bool {
            $(
                if address.kind == <$module::$unit as Resource>::KIND {
                    return stack
                        .$field
                        .iter()
                        .any(|d| &d.address == address && !<$module::$unit as Resource>::vpcs(&d.spec).is_empty());
                }
            )*
            false
        }

        /// What `status` shows of the resource at `address` (`Resource::facts`); empty
        /// when refresh found none.
        #[must_use]
        pub fn live_facts(live: &LiveState, address: &Address) -> Vec<(&'static str, String)> {
            $(
                if address.kind == <$module::$unit as Resource>::KIND {
                    return live
                        .$field
                        .get(address)
                        .map(<$module::$unit as Resource>::facts)
                        .unwrap_or_default();
                }
            )*
            Vec::new()
        }

        /// What `outputs` prints of the resource at `address` (`Resource::outputs`);
        /// empty when refresh found none.
        #[must_use]
        pub fn live_outputs(live: &LiveState, address: &Address) -> Vec<(&'static str, String)> {
            $(
                if address.kind == <$module::$unit as Resource>::KIND {
                    return live
                        .$field
                        .get(address)
                        .map(<$module::$unit as Resource>::outputs)
                        .unwrap_or_default();
                }
            )*
            Vec::new()
        }

        /// The AWS name of the declared resource at `address` (`Resource::aws_name`).
        #[must_use]
        pub fn aws_name<'s>(stack: &'s crate::stack::Stack, address: &Address) -> Option<&'s str> {
            $(
                if address.kind == <$module::$unit as Resource>::KIND {
                    return stack
                        .$field
                        .iter()
                        .find(|d| &d.address == address)
                        .and_then(|d| <$module::$unit as Resource>::aws_name(&d.spec));
                }
            )*
            None
        }

        /// The cost lines of the declared resources `pick` chooses, kind by kind
        /// (`Resource::costs`).
        pub(crate) fn cost_lines(
            stack: &crate::stack::Stack,
            region: &str,
            stopping: bool,
            pick: &dyn Fn(&Address, bool) -> bool,
        ) -> Vec<String> {
            let mut lines = Vec::new();
            $({
                let specs: Vec<_> = stack
                    .$field
                    .iter()
                    .filter(|d| pick(&d.address, d.enabled))
                    .map(|d| &d.spec)
                    .collect();
                if !specs.is_empty() {
                    lines.extend(<$module::$unit as Resource>::costs(region, &specs, stopping));
                }
            })*
            lines
        }

        /// Every declared resource's permissions (`ResourceIo::permissions`).
        pub(crate) fn permissions_every_kind(
            scope: &permissions::Scope<'_>,
        ) -> Vec<permissions::Permission> {
            let mut out = Vec::new();
            $(for d in &scope.stack.$field {
                out.extend(<$module::$unit as ResourceIo>::permissions(scope, d));
            })*
            out
        }

        /// Every log group the stack's resources own (`Resource::log_groups`).
        #[must_use]
        pub fn log_group_names(stack: &crate::stack::Stack) -> Vec<String> {
            let mut names = Vec::new();
            $(for d in &stack.$field {
                names.extend(<$module::$unit as Resource>::log_groups(&d.spec));
            })*
            names
        }

        /// The ARN of the declared resource at `address` (`Resource::arn`).
        #[must_use]
        pub fn arn_of(scope: &permissions::Scope<'_>, address: &Address) -> Option<String> {
            $(
                if address.kind == <$module::$unit as Resource>::KIND {
                    return scope
                        .stack
                        .$field
                        .iter()
                        .find(|d| &d.address == address)
                        .and_then(|d| <$module::$unit as Resource>::arn(scope.account, scope.region, &d.spec));
                }
            )*
            None
        }

        /// Every VPC the stack's resources use (`Resource::vpcs`).
        #[must_use]
        pub fn vpc_uses(stack: &crate::stack::Stack) -> Vec<(String, bool)> {
            let mut uses = Vec::new();
            // A disabled resource is only deleted: it needs no placement (subnets, groups).
            $(for d in &stack.$field {
                uses.extend(
                    <$module::$unit as Resource>::vpcs(&d.spec)
                        .into_iter()
                        .map(|(key, placement)| (key, placement && d.enabled)),
                );
            })*
            uses
        }

        /// Every kind's own findings (`Resource::check`), for enabled resources.
        pub(crate) fn check_every_kind(p: &Planner<'_>) -> Vec<crate::stack::Diagnostic> {
            let mut out = Vec::new();
            $(for d in p.stack.$field.iter().filter(|d| d.enabled) {
                out.extend(<$module::$unit as Resource>::check(p, d));
            })*
            out
        }

        /// What every enabled resource grants (`Resource::identity`).
        pub(crate) fn identities(p: &Planner<'_>) -> Vec<crate::plan::checks::Identity> {
            let mut out = Vec::new();
            $(for d in p.stack.$field.iter().filter(|d| d.enabled) {
                out.extend(<$module::$unit as Resource>::identity(p, d));
            })*
            out
        }

        /// Who assumes which role, for every enabled resource (`Resource::runs_as`).
        pub(crate) fn runs_as_every_kind(stack: &Stack) -> Vec<crate::plan::checks::RunsAs> {
            let mut out = Vec::new();
            $(for d in stack.$field.iter().filter(|d| d.enabled) {
                if let Some((role, service)) = <$module::$unit as Resource>::runs_as(d) {
                    out.push(crate::plan::checks::RunsAs { by: d.address.clone(), role, service });
                }
            })*
            out
        }

        /// The role the resource at `address` runs as, if it is enabled and runs as one.
        pub(crate) fn runs_as(stack: &Stack, address: &Address) -> Option<crate::plan::checks::RunsAs> {
            runs_as_every_kind(stack).into_iter().find(|r| &r.by == address)
        }

        /// What every enabled resource needs from its roles (`Resource::needs`).
        pub(crate) fn needs_every_kind(p: &Planner<'_>) -> Vec<crate::plan::checks::Need> {
            let mut out = Vec::new();
            $(for d in p.stack.$field.iter().filter(|d| d.enabled) {
                out.extend(<$module::$unit as Resource>::needs(p, d));
            })*
            out
        }

        /// The named parts of every enabled resource (`Resource::parts`).
        pub(crate) fn parts(stack: &Stack) -> Vec<crate::plan::checks::Part> {
            let mut out = Vec::new();
            $(for d in stack.$field.iter().filter(|d| d.enabled) {
                out.extend(<$module::$unit as Resource>::parts(d));
            })*
            out
        }

        /// The checks' placeholder for `attr` of the resource at `address`
        /// (`Resource::placeholder`).
        pub(crate) fn placeholder(p: &Planner<'_>, address: &Address, attr: refs::Attr) -> Option<String> {
            $(
                if address.kind == <$module::$unit as Resource>::KIND {
                    return p
                        .stack
                        .$field
                        .iter()
                        .find(|d| &d.address == address)
                        .and_then(|d| <$module::$unit as Resource>::placeholder(p, d, attr));
                }
            )*
            None
        }

        /// Exports every declared resource's early-known values, kind by kind.
        pub(crate) fn seed_every_kind(p: &mut Planner<'_>) {
            let stack = p.stack;
            $(for d in &stack.$field {
                <$module::$unit as Resource>::seed_known(p, d);
            })*
        }

        /// Plans every declared resource, kind by kind in registry order.
        pub(crate) fn plan_every_kind(p: &mut Planner<'_>) {
            let stack = p.stack;
            $(p.each(&stack.$field, <$module::$unit as Resource>::plan);)*
        }
    };
}

kinds! {
    dynamodb_table::Table in tables from "tables",
    iam_role::Role in roles from "roles",
    dax_cluster::DaxCluster in dax_clusters from "dax_clusters",
    lambda_function::Function in functions from "functions",
    event_source_mapping::Mapping in mappings from "event_source_mappings",
    vpc_endpoint::Endpoint in endpoints from "vpc_endpoints",
}

use std::fmt;

/// The tag key that marks a resource as created (and owned) by a stack. Set in every
/// create call; refresh moves it from the tags into each live value's `owner`, so it never
/// shows in a diff.
pub const OWNER_TAG: &str = "cruddur-infra:stack";

impl Kind {
    /// The kind an address prefix names (`table`, `vpc_endpoint`, …).
    #[must_use]
    pub fn from_address(s: &str) -> Option<Self> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// The kinds a reference may name: every declared kind (the log group is never
    /// declared). Whether the entry exports the attribute is checked at validation.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::from_address(s).filter(|k| *k != Kind::LogGroup)
    }
}

/// A resource's address in the stack: kind and logical name, like `table.messages`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    /// The resource kind.
    pub kind: Kind,
    /// The logical name the stack file gives it.
    pub name: String,
}

impl Address {
    /// An address of `kind`.
    #[must_use]
    pub fn new(kind: Kind, name: &str) -> Self {
        Self {
            kind,
            name: name.to_string(),
        }
    }

    /// A table's address.
    #[must_use]
    pub fn table(name: &str) -> Self {
        Self::new(Kind::Table, name)
    }

    /// The declared resource this address belongs to: a function's log group
    /// (`log_group.<name>`) belongs to `function.<name>`; every other address is its own.
    #[must_use]
    pub fn owner(&self) -> Self {
        match self.kind {
            Kind::LogGroup => Self::new(Kind::Function, &self.name),
            _ => self.clone(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind.as_str(), self.name)
    }
}

/// A value as plans show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// Text, shown quoted.
    Str(String),
    /// A whole number.
    Int(i64),
    /// A flag.
    Bool(bool),
    /// An unordered set of names, shown sorted.
    Set(Vec<String>),
    /// Not known until apply (a new table's stream ARN).
    Unknown,
    /// A JSON document (policies), shown as a line diff when it changes.
    Doc(String),
    /// A secret, compared by value but never shown.
    Sensitive(String),
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Str(s) => write!(f, "{s:?}"),
            Val::Int(n) => write!(f, "{n}"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Set(items) => {
                let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
                write!(f, "[{}]", quoted.join(", "))
            }
            Val::Unknown => f.write_str("(known after apply)"),
            Val::Doc(text) => f.write_str(text),
            Val::Sensitive(_) => f.write_str("(sensitive)"),
        }
    }
}

/// What changing a field costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// AWS changes it in place.
    InPlace,
    /// AWS cannot change it: the resource is deleted and created again.
    ReplacesResource,
    /// The field belongs to a part (an index) that is deleted and created again, with the
    /// reason to show.
    ReplacesPart(String),
    /// Changed in place, but in several steps worth explaining.
    Note(String),
}

/// One field: its path, its value, and what a change to it costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Dotted path, with map keys in brackets: `global_secondary_index["by-user"].read`.
    pub path: String,
    /// The value.
    pub value: Val,
    /// What changing it costs.
    pub effect: Effect,
}

impl Field {
    /// A field changed in place.
    #[must_use]
    pub fn new(path: impl Into<String>, value: Val) -> Self {
        Self {
            path: path.into(),
            value,
            effect: Effect::InPlace,
        }
    }

    /// The same field with another effect.
    #[must_use]
    pub fn with_effect(mut self, effect: Effect) -> Self {
        self.effect = effect;
        self
    }
}

/// One field that differs between the stack and AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDiff {
    /// The field's path.
    pub path: String,
    /// What AWS has (`None`: absent).
    pub old: Option<Val>,
    /// What the stack asks for (`None`: to be removed).
    pub new: Option<Val>,
    /// What the change costs.
    pub effect: Effect,
}

impl FieldDiff {
    /// Whether this change makes AWS replace the whole resource (adding or removing a
    /// replace-forcing field, such as a sort key, counts too).
    #[must_use]
    pub fn forces_replacement(&self) -> bool {
        self.effect == Effect::ReplacesResource
    }
}

/// Compares two flattened views field by field. Paths present on one side only are
/// additions or removals; the effect comes from the side that has the field (the stack's
/// first, since it states the rules for what it asks for).
#[must_use]
pub fn diff_fields(wanted: &[Field], live: &[Field]) -> Vec<FieldDiff> {
    let mut diffs = Vec::new();
    for field in wanted {
        match live.iter().find(|l| l.path == field.path) {
            Some(old) if old.value == field.value => {}
            old => diffs.push(FieldDiff {
                path: field.path.clone(),
                old: old.map(|o| o.value.clone()),
                new: Some(field.value.clone()),
                effect: field.effect.clone(),
            }),
        }
    }
    for old in live {
        if !wanted.iter().any(|w| w.path == old.path) {
            diffs.push(FieldDiff {
                path: old.path.clone(),
                old: Some(old.value.clone()),
                new: None,
                effect: old.effect.clone(),
            });
        }
    }
    diffs
}

/// The tag calls that turn `have` into `wanted`: tags to set (new or changed values) and
/// keys to remove. Tags are a map; the ownership tag is never in either side.
#[must_use]
pub fn tag_changes(
    wanted: &std::collections::BTreeMap<String, String>,
    have: &std::collections::BTreeMap<String, String>,
) -> (std::collections::BTreeMap<String, String>, Vec<String>) {
    let set = wanted
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = have
        .keys()
        .filter(|k| !wanted.contains_key(*k))
        .cloned()
        .collect();
    (set, remove)
}

/// Whether a live resource's tags prove that `stack` owns it.
#[must_use]
pub fn is_owned_by<'a>(
    tags: impl IntoIterator<Item = (&'a String, &'a String)>,
    stack: &str,
) -> bool {
    tags.into_iter().any(|(k, v)| k == OWNER_TAG && v == stack)
}
