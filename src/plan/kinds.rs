//! Planning each kind: resolve the declared spec against known values, diff it with the
//! live resource, let `choose` pick the action, and record the operation apply will run.

use std::collections::BTreeSet;

use super::{
    Change, Context, EndpointOp, FunctionOp, LiveState, MappingOp, Mode, Operation, Ownership,
    Plan, PlanError, RoleOp, Subject, TableOp, choose,
};
use crate::plan::Action;
use crate::resources::dynamodb_table::{self, TableSpec, TableState, TableStep};
use crate::resources::event_source_mapping::{self as mapping, MappingConfig, MappingSpec};
use crate::resources::iam_role::{self, RoleConfig, RoleSpec};
use crate::resources::lambda_function::{
    self, FunctionConfig, FunctionSpec, Selection, VpcPlacement,
};
use crate::resources::refs::{self, Attr, Known, Ref};
use crate::resources::vpc_endpoint::{self, EndpointConfig, EndpointSpec, RouteTables, VpcChoice};
use crate::resources::{Address, Effect, Field, FieldDiff, Kind, Val, policy};
use crate::stack::{Declared, Stack};

/// Planning state shared by the kinds.
struct Planner<'a> {
    stack: &'a Stack,
    live: &'a LiveState,
    ctx: &'a Context,
    mode: Mode,
    known: Known,
    changes: Vec<Change>,
    notes: Vec<String>,
    errors: Vec<PlanError>,
}

/// Every field of a resource about to be created, as changes from nothing: a create plan
/// shows what it will set, field by field, like Terraform's `+` lines.
fn additions(fields: Vec<Field>) -> Vec<FieldDiff> {
    fields
        .into_iter()
        .map(|f| FieldDiff {
            path: f.path,
            old: None,
            new: Some(f.value),
            effect: f.effect,
        })
        .collect()
}

/// The addresses behind unknown references (what must be applied first).
fn waits_for(missing: &[Ref]) -> Vec<Address> {
    let mut out: Vec<Address> = missing
        .iter()
        .filter_map(|r| match r {
            Ref::Attribute(a, _) => Some(a.clone()),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

impl Planner<'_> {
    /// The fields that differ in this mode: against the live resource, every field a create
    /// will set, or none for destroy (which only deletes).
    fn field_diffs<L>(
        &self,
        live: Option<&L>,
        diff: impl FnOnce(&L) -> Vec<FieldDiff>,
        creation: impl FnOnce() -> Vec<Field>,
    ) -> Vec<FieldDiff> {
        match (self.mode, live) {
            (Mode::Converge, Some(l)) => diff(l),
            (Mode::Converge, None) => additions(creation()),
            (Mode::Destroy, _) => Vec::new(),
        }
    }

    /// The safety checks and the action (`choose`), with this plan's stack, mode and notes.
    fn action(
        &mut self,
        subject: &Subject<'_>,
        diffs: &[FieldDiff],
    ) -> Result<Option<Action>, PlanError> {
        choose(&self.stack.name, self.mode, subject, diffs, &mut self.notes)
    }

    /// Plans every declared resource of one kind with `plan`, collecting every error.
    fn each<S>(
        &mut self,
        declared: &[Declared<S>],
        plan: fn(&mut Self, &Declared<S>) -> Result<(), PlanError>,
    ) {
        for d in declared {
            if let Err(e) = plan(self, d) {
                self.errors.push(e);
            }
        }
    }

    /// Records one change; dependencies on resources with nothing to do are dropped at the end
    /// of planning, when every change is known.
    fn push(
        &mut self,
        address: &Address,
        name: &str,
        action: Action,
        diffs: Vec<FieldDiff>,
        operation: Operation,
        depends_on: Vec<Address>,
    ) {
        self.changes.push(Change {
            address: address.clone(),
            name: name.to_string(),
            action,
            diffs,
            operation,
            depends_on,
        });
    }

    /// The reference values known before any AWS call: the account and region, and every
    /// declared resource's name and ARN (ARNs are built from the name, account and region, as AWS
    /// builds them). A new stream's ARN is not among them: AWS picks it at apply time.
    fn seed_known(&mut self) {
        let (account, region) = (&self.ctx.account, &self.ctx.region);
        self.known.insert(Ref::Account, account.clone());
        self.known.insert(Ref::Region, region.clone());
        let mut put = |a: &Address, attr, v: String| {
            self.known.insert(Ref::Attribute(a.clone(), attr), v);
        };
        for t in &self.stack.tables {
            put(&t.address, Attr::Name, t.spec.name.clone());
            put(
                &t.address,
                Attr::Arn,
                format!("arn:aws:dynamodb:{region}:{account}:table/{}", t.spec.name),
            );
        }
        for r in &self.stack.roles {
            put(&r.address, Attr::Name, r.spec.name.clone());
            put(
                &r.address,
                Attr::Arn,
                iam_role::arn(account, &r.spec.path, &r.spec.name),
            );
        }
        for f in &self.stack.functions {
            put(&f.address, Attr::Name, f.spec.name.clone());
            put(
                &f.address,
                Attr::Arn,
                lambda_function::arn(region, account, &f.spec.name),
            );
        }
    }

    /// Plans one table: a `DELETING` table counts as absent but makes the create wait for it;
    /// an update records the exact steps (index deletes first, one per call); the stream ARN is
    /// exported when the plan keeps the stream; deleting or replacing a table with items adds a
    /// note (the data-loss guard itself runs before apply, with an exact check).
    fn table(&mut self, t: &Declared<TableSpec>) -> Result<(), PlanError> {
        let state = self
            .live
            .tables
            .get(&t.address)
            .ok_or_else(|| PlanError::NotRefreshed(t.address.clone()))?;
        // A table being deleted is gone as far as the plan is concerned, except that it
        // still holds its name: a create must wait for it to go.
        let deleting = state
            .as_ref()
            .is_some_and(|l| l.state == TableState::Deleting);
        let live = state.as_ref().filter(|_| !deleting);
        let diffs = self.field_diffs(
            live,
            |l| dynamodb_table::diff(&t.spec, l),
            || dynamodb_table::creation_fields(&t.spec),
        );
        let subject = Subject {
            address: &t.address,
            name: &t.spec.name,
            exists: live.is_some(),
            owner: Ownership::Tagged(live.and_then(|l| l.owner.as_deref())),
            protected: live.is_some_and(|l| l.config.deletion_protection),
        };
        let action = self.action(&subject, &diffs)?;
        let steps = match (&action, live) {
            (Some(Action::Update), Some(l)) => dynamodb_table::update_steps(&t.spec, l),
            _ => Vec::new(),
        };
        // The stream ARN is known now only if the stream stays as it is.
        let stream_stable = matches!(action, None | Some(Action::Update))
            && !steps
                .iter()
                .any(|s| matches!(s, TableStep::DisableStream | TableStep::EnableStream(_)));
        if stream_stable && let Some(arn) = live.and_then(|l| l.stream_arn.clone()) {
            self.known
                .insert(Ref::Attribute(t.address.clone(), Attr::StreamArn), arn);
        }
        let Some(action) = action else { return Ok(()) };
        if action == Action::Update
            && let Some(l) = live
            && let Some(note) = dynamodb_table::ttl_note(&t.spec, l)
        {
            self.notes.push(format!("{}: {note}", t.address));
        }
        if action == Action::Create && deleting {
            self.notes.push(format!(
                "{}: `{}` is still being deleted; apply waits until it is gone, then creates it",
                t.address, t.spec.name
            ));
        }
        if matches!(action, Action::Delete | Action::Replace { .. })
            && let Some(l) = live
            && l.item_count > 0
        {
            self.notes.push(format!(
                "{}: deleting `{}` loses its items (about {} by AWS's count, refreshed every ~6 hours)",
                t.address, t.spec.name, l.item_count
            ));
        }
        let op = match (&action, live) {
            (Action::Create, _) if deleting => TableOp::CreateAfterDeletion(t.spec.clone()),
            (Action::Create, _) => TableOp::Create(t.spec.clone()),
            (Action::Update, Some(l)) => TableOp::Update {
                arn: l.arn.clone(),
                steps,
            },
            (Action::Replace { .. }, _) => TableOp::Replace(t.spec.clone()),
            (Action::Delete, _) => TableOp::Delete,
            (Action::Update, None) | (Action::NoOp, _) => {
                return Err(PlanError::impossible(&t.address, &action));
            }
        };
        self.push(
            &t.address,
            &t.spec.name,
            action,
            diffs,
            Operation::Table(op),
            Vec::new(),
        );
        Ok(())
    }

    /// Plans one role. Its policies are resolved against the known values for the diff, but the
    /// operation carries the templates, so references known only at apply time (a new stream's
    /// ARN) are filled in then; the role then waits for the resources those references name. The
    /// inline-policy quota is checked here, on the resolved documents.
    fn role(&mut self, r: &Declared<RoleSpec>) -> Result<(), PlanError> {
        let live = self
            .live
            .roles
            .get(&r.address)
            .ok_or_else(|| PlanError::NotRefreshed(r.address.clone()))?
            .as_ref();
        let mut missing = Vec::new();
        let resolved: std::collections::BTreeMap<String, serde_json::Value> = r
            .spec
            .policies
            .iter()
            .map(|(name, doc)| {
                let (v, m) = refs::substitute_json(doc, &self.known);
                missing.extend(m);
                (name.clone(), v)
            })
            .collect();
        let config = |policies| RoleConfig {
            name: r.spec.name.clone(),
            path: r.spec.path.clone(),
            trust: policy::trust_document(&r.spec.trust),
            description: r.spec.description.clone(),
            max_session_seconds: r.spec.max_session_seconds,
            policies,
            managed_policies: r.spec.managed_policies.clone(),
            tags: r.spec.tags.clone(),
        };
        let wanted = config(resolved);
        if self.mode == Mode::Converge
            && let Some(message) = iam_role::inline_quota_problem(&wanted.policies)
        {
            return Err(PlanError::Quota {
                address: r.address.clone(),
                message,
            });
        }
        let diffs = self.field_diffs(
            live,
            |l| iam_role::diff(&wanted, l),
            || iam_role::flatten(&wanted),
        );
        let subject = Subject {
            address: &r.address,
            name: &r.spec.name,
            exists: live.is_some(),
            owner: Ownership::Tagged(live.and_then(|l| l.owner.as_deref())),
            protected: false,
        };
        let Some(action) = self.action(&subject, &diffs)? else {
            return Ok(());
        };
        let op = match (&action, live) {
            (Action::Create, _) => RoleOp::Create(config(r.spec.policies.clone())),
            (Action::Update, Some(l)) => {
                RoleOp::Update(iam_role::update_steps(&wanted, &r.spec.policies, l))
            }
            (Action::Replace { .. }, _) => RoleOp::Replace(config(r.spec.policies.clone())),
            (Action::Delete, _) => RoleOp::Delete,
            (Action::Update, None) | (Action::NoOp, _) => {
                return Err(PlanError::impossible(&r.address, &action));
            }
        };
        let deps = if self.mode == Mode::Converge {
            waits_for(&missing)
        } else {
            Vec::new()
        };
        self.push(
            &r.address,
            &r.spec.name,
            action,
            diffs,
            Operation::Role(op),
            deps,
        );
        Ok(())
    }

    /// Resolves a function's VPC placement: `default` means the default VPC's subnets and its
    /// `default` security group, read during refresh; an explicit list is taken as it is.
    fn placement(
        &self,
        address: &Address,
        sel: &(Selection, Selection),
    ) -> Result<VpcPlacement, PlanError> {
        let facts = self.live.vpcs.get("default");
        let missing = || {
            PlanError::Missing {
            address: address.clone(),
            message: "`default` VPC placement, but this region has no default VPC\n  help: list subnet and security group ids instead".into(),
        }
        };
        let subnets = match &sel.0 {
            Selection::Ids(ids) => ids.clone(),
            Selection::Default => facts.ok_or_else(missing)?.default_subnets.clone(),
        };
        let security_groups = match &sel.1 {
            Selection::Ids(ids) => ids.clone(),
            Selection::Default => facts
                .and_then(|f| f.default_security_group.clone())
                .into_iter()
                .collect(),
        };
        Ok(VpcPlacement {
            subnets,
            security_groups,
        })
    }

    /// Plans one function: its configuration with references resolved, its code compared by
    /// the deterministic zip's hash, and, for destroy, its log group (which Lambda creates on
    /// first run and which costs money until deleted), owned by derivation from the function.
    fn function(&mut self, f: &Declared<FunctionSpec>) -> Result<(), PlanError> {
        let live = self
            .live
            .functions
            .get(&f.address)
            .ok_or_else(|| PlanError::NotRefreshed(f.address.clone()))?
            .as_ref();
        let artifact = self
            .live
            .artifacts
            .get(&f.address)
            .ok_or_else(|| PlanError::NotRefreshed(f.address.clone()))?;
        let mut missing = Vec::new();
        let mut environment = std::collections::BTreeMap::new();
        let mut templates = std::collections::BTreeMap::new();
        for (k, v) in &f.spec.environment {
            let (resolved, m) = refs::substitute(v, &self.known);
            templates.insert(
                k.clone(),
                if m.is_empty() {
                    resolved.clone()
                } else {
                    v.clone()
                },
            );
            missing.extend(m);
            environment.insert(k.clone(), resolved);
        }
        let vpc = f
            .spec
            .vpc
            .as_ref()
            .map(|sel| self.placement(&f.address, sel))
            .transpose()?;
        let role = self
            .known
            .get(&Ref::Attribute(f.spec.role.clone(), Attr::Arn))
            .cloned()
            .unwrap_or_default();
        let config = |environment| FunctionConfig {
            name: f.spec.name.clone(),
            runtime: f.spec.runtime.clone(),
            handler: f.spec.handler.clone(),
            role: role.clone(),
            memory: f.spec.memory,
            timeout: f.spec.timeout,
            description: f.spec.description.clone(),
            architecture: f.spec.architecture.clone(),
            environment,
            secrets: f.spec.secrets.clone(),
            vpc: vpc.clone(),
            code_sha256: artifact.sha256.clone(),
            tags: f.spec.tags.clone(),
        };
        let wanted = config(environment);
        let mut diffs = self.field_diffs(
            live,
            |l| lambda_function::diff(&wanted, l),
            || lambda_function::flatten(&wanted),
        );
        for d in &mut diffs {
            if d.path == "code_sha256" && d.old.is_some() {
                let files: Vec<&str> = artifact.files.keys().map(String::as_str).collect();
                d.effect = Effect::Note(format!(
                    "new package of {}: {} (the deployed files cannot be listed without downloading them)",
                    f.spec.source.display(),
                    files.join(", ")
                ));
            }
        }
        let subject = Subject {
            address: &f.address,
            name: &f.spec.name,
            exists: live.is_some(),
            owner: Ownership::Tagged(live.and_then(|l| l.owner.as_deref())),
            protected: false,
        };
        if let Some(action) = self.action(&subject, &diffs)? {
            let zip = artifact.zip.clone();
            let op = match (&action, live) {
                (Action::Create, _) => FunctionOp::Create {
                    config: config(templates),
                    zip,
                },
                (Action::Update, Some(l)) => FunctionOp::Update {
                    steps: lambda_function::update_steps(&wanted, l),
                    config: config(templates),
                    arn: l.arn.clone(),
                    zip,
                },
                (Action::Replace { .. }, _) => FunctionOp::Replace {
                    config: config(templates),
                    zip,
                },
                (Action::Update, None) | (Action::NoOp, _) => {
                    return Err(PlanError::impossible(&f.address, &action));
                }
                (Action::Delete, _) => FunctionOp::Delete {
                    in_vpc: live.is_some_and(|l| l.config.vpc.is_some()),
                },
            };
            let mut deps = vec![f.spec.role.clone()];
            deps.extend(waits_for(&missing));
            self.push(
                &f.address,
                &f.spec.name,
                action,
                diffs,
                Operation::Function(op),
                deps,
            );
        }
        // Lambda makes the log group on first run; it costs money forever, so destroy
        // removes it unless the stack keeps it. Owned by derivation from the function.
        if self.mode == Mode::Destroy
            && !f.spec.keep_logs
            && self.live.log_groups.get(&f.address) == Some(&true)
        {
            let function_skipped =
                live.is_some_and(|l| l.owner.as_deref() != Some(self.stack.name.as_str()));
            if !function_skipped {
                let address = Address::new(Kind::LogGroup, &f.address.name);
                let name = lambda_function::log_group_name(&f.spec.name);
                self.push(
                    &address,
                    &name,
                    Action::Delete,
                    Vec::new(),
                    Operation::LogGroupDelete,
                    Vec::new(),
                );
                // Destroy walks edges backwards: the function goes first, then its logs.
                if let Some(function) = self.changes.iter_mut().find(|c| c.address == f.address) {
                    function.depends_on.push(address);
                }
            }
        }
        Ok(())
    }

    /// Plans one stream mapping, found by function and table (it has no name of its own). AWS
    /// allows one mapping per stream and function: extra ones, left by a lost create answer,
    /// are deleted, and a replacement deletes before it creates.
    fn mapping(&mut self, m: &Declared<MappingSpec>) -> Result<(), PlanError> {
        let live = self
            .live
            .mappings
            .get(&m.address)
            .ok_or_else(|| PlanError::NotRefreshed(m.address.clone()))?;
        let source = self
            .known
            .get(&Ref::Attribute(m.spec.table.clone(), Attr::StreamArn))
            .cloned();
        let function_arn = self
            .known
            .get(&Ref::Attribute(m.spec.function.clone(), Attr::Arn))
            .cloned()
            .unwrap_or_default();
        let wanted = MappingConfig {
            event_source_arn: source,
            function_arn,
            batch_size: m.spec.batch_size,
            starting_position: m.spec.starting_position.clone(),
            enabled: m.spec.enabled,
            filter_patterns: m.spec.filter_patterns.clone(),
            maximum_retry_attempts: m.spec.maximum_retry_attempts,
            bisect_batch_on_function_error: m.spec.bisect_batch_on_function_error,
            maximum_batching_window_seconds: m.spec.maximum_batching_window_seconds,
        };
        let aws_name = |a: &Address| {
            let known = self.known.get(&Ref::Attribute(a.clone(), Attr::Name));
            known.cloned().unwrap_or_else(|| a.name.clone())
        };
        let name = format!(
            "{} → {}",
            aws_name(&m.spec.table),
            aws_name(&m.spec.function)
        );
        let (keep, duplicates) = mapping::choose(&wanted, live);
        let duplicates: Vec<String> = duplicates.iter().map(|d| d.uuid.clone()).collect();
        let mut diffs = self.field_diffs(
            keep,
            |k| mapping::diff(&wanted, k),
            || mapping::flatten(&wanted),
        );
        if self.mode == Mode::Converge && !duplicates.is_empty() {
            diffs.push(FieldDiff {
                path: "duplicate_mappings".into(),
                old: Some(Val::Set(duplicates.clone())),
                new: None,
                effect: Effect::Note(
                    "AWS allows one mapping per stream and function: the extra ones are deleted"
                        .into(),
                ),
            });
        }
        let subject = Subject {
            address: &m.address,
            name: &name,
            exists: keep.is_some(),
            owner: Ownership::Derived,
            protected: false,
        };
        let Some(action) = self.action(&subject, &diffs)? else {
            return Ok(());
        };
        let all: Vec<String> = live.iter().map(|l| l.uuid.clone()).collect();
        let op = match (&action, keep) {
            (Action::Update, Some(k)) => MappingOp::Update {
                uuid: k.uuid.clone(),
                config: wanted,
                duplicates,
            },
            (Action::Create | Action::Replace { .. }, _) => {
                // Delete before create: one mapping per stream and function.
                MappingOp::Create {
                    config: wanted,
                    table: m.spec.table.clone(),
                    delete_first: all,
                }
            }
            (Action::Delete, _) => MappingOp::Delete(all),
            (Action::Update, None) | (Action::NoOp, _) => {
                return Err(PlanError::impossible(&m.address, &action));
            }
        };
        let deps = vec![m.spec.function.clone(), m.spec.table.clone()];
        self.push(
            &m.address,
            &name,
            action,
            diffs,
            Operation::Mapping(op),
            deps,
        );
        Ok(())
    }

    /// Plans one VPC endpoint, found by VPC and service. When the stack owns more than one
    /// there (a lost create answer), the oldest is kept and the others are deleted; one owned
    /// by nobody or by another stack stops the plan, as for named resources.
    fn endpoint(&mut self, e: &Declared<EndpointSpec>) -> Result<(), PlanError> {
        let key = match &e.spec.vpc {
            VpcChoice::Default => "default".to_string(),
            VpcChoice::Id(id) => id.clone(),
        };
        let facts = self.live.vpcs.get(&key).ok_or_else(|| PlanError::Missing {
            address: e.address.clone(),
            message: format!("VPC `{key}` was not found in this region\n  help: use `vpc: default` only where a default VPC exists, or give an existing VPC id"),
        })?;
        let route_tables = match &e.spec.route_tables {
            RouteTables::Main => facts.main_route_table.iter().cloned().collect(),
            RouteTables::All => facts.route_tables.clone(),
            RouteTables::Ids(ids) => ids.clone(),
        };
        let (policy_doc, missing) = match &e.spec.policy {
            Some(p) => {
                let (v, m) = refs::substitute_json(p, &self.known);
                (Some(v), m)
            }
            None => (None, Vec::new()),
        };
        let wanted = EndpointConfig {
            vpc_id: facts.vpc_id.clone(),
            service_name: vpc_endpoint::service_name(&e.spec.service, &self.ctx.region),
            route_tables,
            policy: policy_doc,
            tags: e.spec.tags.clone(),
        };
        let live = self
            .live
            .endpoints
            .get(&e.address)
            .ok_or_else(|| PlanError::NotRefreshed(e.address.clone()))?;
        let mut ours: Vec<&vpc_endpoint::EndpointLive> = live
            .iter()
            .filter(|l| l.owner.as_deref() == Some(self.stack.name.as_str()))
            .collect();
        ours.sort_by(|a, b| a.id.cmp(&b.id));
        // A lost create answer can leave two endpoints of ours: keep the oldest id.
        let found = ours.first().copied().or_else(|| live.first());
        let duplicates: Vec<String> = ours.iter().skip(1).map(|l| l.id.clone()).collect();
        let name = e.spec.tags.get("Name").cloned().unwrap_or_default();
        let mut diffs = self.field_diffs(
            found,
            |l| vpc_endpoint::diff(&wanted, l),
            || vpc_endpoint::flatten(&wanted),
        );
        if self.mode == Mode::Converge && !duplicates.is_empty() {
            diffs.push(FieldDiff {
                path: "duplicate_endpoints".into(),
                old: Some(Val::Set(duplicates.clone())),
                new: None,
                effect: Effect::Note(
                    "the stack owns more than one endpoint here: the extra ones are deleted".into(),
                ),
            });
        }
        let subject = Subject {
            address: &e.address,
            name: found.map_or(name.as_str(), |l| l.id.as_str()),
            exists: found.is_some(),
            owner: Ownership::Tagged(found.and_then(|l| l.owner.as_deref())),
            protected: false,
        };
        let Some(action) = self.action(&subject, &diffs)? else {
            return Ok(());
        };
        let op = match (&action, found) {
            (Action::Create, _) => EndpointOp::Create(wanted),
            (Action::Update, Some(l)) => EndpointOp::Update {
                id: l.id.clone(),
                update: vpc_endpoint::update(&wanted, l),
                duplicates: duplicates.clone(),
            },
            (Action::Replace { .. }, Some(l)) => EndpointOp::Replace {
                id: l.id.clone(),
                config: wanted,
            },
            (Action::Delete, Some(l)) => {
                EndpointOp::Delete(std::iter::once(l.id.clone()).chain(duplicates).collect())
            }
            (Action::Update | Action::Replace { .. } | Action::Delete, None)
            | (Action::NoOp, _) => return Err(PlanError::impossible(&e.address, &action)),
        };
        let deps = if self.mode == Mode::Converge {
            waits_for(&missing)
        } else {
            Vec::new()
        };
        self.push(
            &e.address,
            &name,
            action,
            diffs,
            Operation::Endpoint(op),
            deps,
        );
        Ok(())
    }
}

/// Plans every declared resource, kind by kind (tables first: their stream ARNs feed the
/// references of the others).
pub(super) fn plan_all(
    stack: &Stack,
    live: &LiveState,
    ctx: &Context,
    mode: Mode,
) -> Result<Plan, Vec<PlanError>> {
    let mut p = Planner {
        stack,
        live,
        ctx,
        mode,
        known: Known::new(),
        changes: Vec::new(),
        notes: Vec::new(),
        errors: Vec::new(),
    };
    p.seed_known();
    // Tables first: their stream ARNs feed the references of the others.
    p.each(&stack.tables, Planner::table);
    p.each(&stack.roles, Planner::role);
    p.each(&stack.functions, Planner::function);
    p.each(&stack.mappings, Planner::mapping);
    p.each(&stack.endpoints, Planner::endpoint);
    // Owned but no longer declared: planned for deletion, in both modes.
    let declared_endpoints: BTreeSet<&str> = live
        .endpoints
        .values()
        .flatten()
        .map(|e| e.id.as_str())
        .collect();
    for orphan in &live.orphans {
        if matches!(orphan, super::Orphan::Endpoint(id) if declared_endpoints.contains(id.as_str()))
        {
            continue;
        }
        let (kind, name, operation) = match orphan {
            super::Orphan::Table(n) => (Kind::Table, n, Operation::Orphan(orphan.clone())),
            super::Orphan::Function(n) => (Kind::Function, n, Operation::Orphan(orphan.clone())),
            super::Orphan::Endpoint(id) => {
                (Kind::VpcEndpoint, id, Operation::Orphan(orphan.clone()))
            }
        };
        let address = Address::new(kind, name);
        p.notes.push(format!(
            "{address}: owned by stack `{}` but no longer declared in the stack file",
            stack.name
        ));
        if let super::Orphan::Table(n) = orphan
            && let Some(l) = live.orphan_tables.get(n)
        {
            if l.config.deletion_protection {
                p.errors.push(PlanError::DeletionProtected {
                    address: address.clone(),
                    name: n.clone(),
                    action: Action::Delete,
                });
                continue;
            }
            if l.item_count > 0 {
                p.notes.push(format!(
                    "{address}: deleting `{n}` loses its items (about {} by AWS's count, refreshed every ~6 hours)",
                    l.item_count
                ));
            }
        }
        p.push(
            &address,
            name,
            Action::Delete,
            Vec::new(),
            operation,
            Vec::new(),
        );
    }
    // Dependencies on resources with nothing to do are already satisfied.
    let planned: BTreeSet<Address> = p.changes.iter().map(|c| c.address.clone()).collect();
    for c in &mut p.changes {
        c.depends_on.retain(|d| planned.contains(d));
    }
    if p.errors.is_empty() {
        Ok(Plan {
            stack: stack.name.clone(),
            mode,
            changes: p.changes,
            notes: p.notes,
            known: p.known,
        })
    } else {
        Err(p.errors)
    }
}
