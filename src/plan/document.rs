//! The plan as a document: what `plan --json` prints, what `plan --out FILE` saves and what
//! `show FILE` and `apply --plan FILE` read back. Pure.
//!
//! One versioned form serves all four, so a saved plan is exactly what a reviewer saw in
//! CI. It records what the plan was computed from, so that `apply --plan` can refuse a plan
//! whose inputs moved instead of applying something nobody reviewed: the stack file's and
//! each package's SHA-256, and for each change a digest of the live state it was computed
//! from (its action and every field's old value).
//!
//! Secrets never enter the document: a sensitive value is written as `{"type":
//! "sensitive"}` with no value, on both sides of a diff, and it is left out of the digests
//! too (a digest of a short secret among known fields could be searched for). A secret
//! that moved in AWS still shows: the fresh plan's diff gains or loses that field.
//!
//! Its JSON Schema is generated from these types (`schemas/plan.schema.json`, checked fresh
//! by a test); the field docs below are its documentation.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Action, Change, Mode, Plan};
use crate::resources::{Address, Effect, FieldDiff, Kind, Val};

/// What the `format` field of every plan document says.
pub const FORMAT: &str = "cruddur-infra-plan";

/// The version of this form. A reader refuses any other: a saved plan is applied exactly or
/// not at all, never guessed at.
pub const FORMAT_VERSION: u32 = 1;

/// A plan of `cruddur-infra` (`plan --json`, `plan --out FILE`, `show FILE --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "cruddur-infra plan")]
pub struct PlanDocument {
    /// Always `cruddur-infra-plan`.
    #[schemars(regex(pattern = r"^cruddur-infra-plan$"))]
    pub format: String,
    /// The version of this form (1). Readers refuse other versions.
    #[schemars(range(min = 1, max = 1))]
    pub format_version: u32,
    /// The `cruddur-infra` version that made the plan.
    pub tool_version: String,
    /// The stack's name (the value of its ownership tag).
    pub stack: String,
    /// The environment planned for (`local`, `prod`); `apply --plan` applies there.
    pub environment: String,
    /// `converge` (`plan`, `apply`) or `destroy` (`plan --destroy`, `destroy`).
    pub mode: ModeDoc,
    /// The AWS account the live state was read from.
    pub account: String,
    /// The region.
    pub region: String,
    /// The endpoint every call was sent to, when it is not AWS's own (an emulator).
    pub endpoint: Option<String>,
    /// When the plan was made, in seconds since 1970-01-01 UTC.
    pub created_at: u64,
    /// The `--target` addresses the plan was limited to; empty: the whole stack.
    pub targets: Vec<String>,
    /// The stack file the plan was made from.
    pub stack_file: FileDigest,
    /// Every function's deployment package, by function address.
    pub packages: Vec<PackageDigest>,
    /// The changes, in the order the plan lists them; no-ops are left out.
    pub changes: Vec<ChangeDoc>,
    /// What the reader should know that is not a change (resources left in place).
    pub notes: Vec<String>,
    /// What the checks found that did not stop the plan (warnings, notes).
    pub findings: Vec<FindingDoc>,
    /// What the stack costs while it exists, and what stops costing.
    pub costs: Vec<String>,
    /// How many resources are added, changed and destroyed (a replacement adds one and
    /// destroys one).
    pub summary: SummaryDoc,
}

/// Converge or destroy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModeDoc {
    /// Make AWS match the stack file.
    Converge,
    /// Delete everything the stack owns.
    Destroy,
}

/// A file and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    /// Its path, as the plan was given it.
    pub path: String,
    /// Hex SHA-256 of its bytes.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
}

/// A function's deployment package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageDigest {
    /// The function's address (`function.messaging_stream`).
    pub address: String,
    /// Base64 SHA-256 of the zip, as Lambda reports `CodeSha256`.
    pub sha256: String,
}

/// One resource's planned change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeDoc {
    /// Its address in the stack (`table.messages`; `log_group.<function>` for a function's
    /// log group).
    pub address: String,
    /// Its kind, as its address starts (`table`, `function`, `log_group`, …).
    pub kind: String,
    /// Its name in AWS (an id for kinds without names).
    pub name: String,
    /// What is done.
    pub action: ActionDoc,
    /// For `replace`: the fields that force it.
    pub replace_reasons: Vec<String>,
    /// Whether it deletes a resource the stack owns but no longer declares.
    pub stray: bool,
    /// Addresses applied before it (destroy: deleted after it).
    pub depends_on: Vec<String>,
    /// Hex SHA-256 of the live state this change was computed from: its action and each
    /// field's path and old value (secrets left out). `apply --plan` recomputes it under
    /// the lock and refuses when it differs.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub live_sha256: String,
    /// The fields that differ (updates, replacements) or are set (creates).
    pub diffs: Vec<DiffDoc>,
}

/// The action of one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionDoc {
    /// Absent in AWS: created.
    Create,
    /// Changed in place.
    Update,
    /// Deleted, then created again.
    Replace,
    /// Deleted.
    Delete,
}

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffDoc {
    /// Dotted path, map keys in brackets: `global_secondary_index["by-user"].read`.
    pub path: String,
    /// What AWS has; `null`: absent.
    pub old: Option<ValueDoc>,
    /// What the stack asks for; `null`: removed.
    pub new: Option<ValueDoc>,
    /// What changing it costs.
    pub effect: EffectDoc,
    /// Why, for `replaces_part` and `note`.
    pub reason: Option<String>,
}

/// What changing a field costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EffectDoc {
    /// AWS changes it in place.
    InPlace,
    /// AWS cannot change it: the resource is replaced.
    ReplacesResource,
    /// A part (an index) is deleted and created again.
    ReplacesPart,
    /// Changed in place, in several steps (`reason` says which).
    Note,
}

/// A value. `unknown` is known only after apply (a new stream's ARN); `sensitive` is a
/// secret, never written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(
    tag = "type",
    content = "value",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum ValueDoc {
    /// Text.
    String(String),
    /// A whole number.
    Int(i64),
    /// A flag.
    Bool(bool),
    /// An unordered set of names, sorted.
    Set(Vec<String>),
    /// A JSON document (a policy), as text.
    Document(String),
    /// Not known until apply.
    Unknown,
    /// A secret: compared, never written.
    Sensitive,
}

/// A finding of the checks that did not stop the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingDoc {
    /// `error`, `warning` or `note`.
    pub severity: String,
    /// What was found.
    pub message: String,
    /// The stack file's line it points at, if any.
    pub line: Option<u64>,
    /// How to fix it.
    pub help: Option<String>,
}

/// Counts of the plan's changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SummaryDoc {
    /// Resources created (replacements included).
    pub add: usize,
    /// Resources changed in place.
    pub change: usize,
    /// Resources deleted (replacements included).
    pub destroy: usize,
}

/// What a plan was computed from besides AWS: where, when, and the local inputs' digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
    /// The endpoint, when not AWS's own.
    pub endpoint: Option<String>,
    /// Seconds since the epoch.
    pub created_at: u64,
    /// The `--target` addresses.
    pub targets: Vec<String>,
    /// The stack file.
    pub stack_file: FileDigest,
    /// Packages by function address.
    pub packages: BTreeMap<String, String>,
}

/// Hex SHA-256 of `bytes`.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::artifact::hex(&Sha256::digest(bytes))
}

impl ValueDoc {
    /// The document form of `v`, a secret without its value.
    #[must_use]
    pub fn of(v: &Val) -> Self {
        match v {
            Val::Str(s) => ValueDoc::String(s.clone()),
            Val::Int(n) => ValueDoc::Int(*n),
            Val::Bool(b) => ValueDoc::Bool(*b),
            Val::Set(items) => ValueDoc::Set(items.clone()),
            Val::Doc(text) => ValueDoc::Document(text.clone()),
            Val::Unknown => ValueDoc::Unknown,
            Val::Sensitive(_) => ValueDoc::Sensitive,
        }
    }

    /// The value for rendering; a secret's value is not known here, and rendering never
    /// shows it anyway.
    #[must_use]
    pub fn to_val(&self) -> Val {
        match self {
            ValueDoc::String(s) => Val::Str(s.clone()),
            ValueDoc::Int(n) => Val::Int(*n),
            ValueDoc::Bool(b) => Val::Bool(*b),
            ValueDoc::Set(items) => Val::Set(items.clone()),
            ValueDoc::Document(text) => Val::Doc(text.clone()),
            ValueDoc::Unknown => Val::Unknown,
            ValueDoc::Sensitive => Val::Sensitive(String::new()),
        }
    }
}

impl DiffDoc {
    /// The document form of one field diff.
    #[must_use]
    pub fn of(d: &FieldDiff) -> Self {
        let (effect, reason) = match &d.effect {
            Effect::InPlace => (EffectDoc::InPlace, None),
            Effect::ReplacesResource => (EffectDoc::ReplacesResource, None),
            Effect::ReplacesPart(why) => (EffectDoc::ReplacesPart, Some(why.clone())),
            Effect::Note(why) => (EffectDoc::Note, Some(why.clone())),
        };
        DiffDoc {
            path: d.path.clone(),
            old: d.old.as_ref().map(ValueDoc::of),
            new: d.new.as_ref().map(ValueDoc::of),
            effect,
            reason,
        }
    }

    /// The field diff, for rendering.
    #[must_use]
    pub fn to_diff(&self) -> FieldDiff {
        let reason = self.reason.clone().unwrap_or_default();
        FieldDiff {
            path: self.path.clone(),
            old: self.old.as_ref().map(ValueDoc::to_val),
            new: self.new.as_ref().map(ValueDoc::to_val),
            effect: match self.effect {
                EffectDoc::InPlace => Effect::InPlace,
                EffectDoc::ReplacesResource => Effect::ReplacesResource,
                EffectDoc::ReplacesPart => Effect::ReplacesPart(reason),
                EffectDoc::Note => Effect::Note(reason),
            },
        }
    }
}

impl ChangeDoc {
    /// The document form of one change.
    #[must_use]
    pub fn of(c: &Change) -> Self {
        let (action, replace_reasons) = match &c.action {
            Action::Create => (ActionDoc::Create, Vec::new()),
            // A no-op is never a change; were one to slip in, it changes nothing in place.
            Action::Update | Action::NoOp => (ActionDoc::Update, Vec::new()),
            Action::Replace { because } => (ActionDoc::Replace, because.clone()),
            Action::Delete => (ActionDoc::Delete, Vec::new()),
        };
        let diffs: Vec<DiffDoc> = c.diffs.iter().map(DiffDoc::of).collect();
        ChangeDoc {
            address: c.address.to_string(),
            kind: c.address.kind.as_str().to_string(),
            name: c.name.clone(),
            live_sha256: live_digest(action, &diffs),
            action,
            replace_reasons,
            stray: c.stray,
            depends_on: c.depends_on.iter().map(ToString::to_string).collect(),
            diffs,
        }
    }

    /// The action, for rendering.
    #[must_use]
    pub fn to_action(&self) -> Action {
        match self.action {
            ActionDoc::Create => Action::Create,
            ActionDoc::Update => Action::Update,
            ActionDoc::Replace => Action::Replace {
                because: self.replace_reasons.clone(),
            },
            ActionDoc::Delete => Action::Delete,
        }
    }

    /// The field diffs, for rendering.
    #[must_use]
    pub fn to_diff_list(&self) -> Vec<FieldDiff> {
        self.diffs.iter().map(DiffDoc::to_diff).collect()
    }

    /// The address, parsed back (`None` for a kind this version does not know).
    #[must_use]
    pub fn to_address(&self) -> Option<Address> {
        let (kind, name) = self.address.split_once('.')?;
        Some(Address::new(Kind::from_address(kind)?, name))
    }
}

/// The digest of the live state a change was computed from: its action and each field's
/// path and old value, secrets left out (see the module's notes).
fn live_digest(action: ActionDoc, diffs: &[DiffDoc]) -> String {
    let old: Vec<(&str, Option<&ValueDoc>)> = diffs
        .iter()
        .map(|d| (d.path.as_str(), d.old.as_ref()))
        .collect();
    // Serializing these types cannot fail: no maps with non-string keys, no floats.
    let text = serde_json::to_string(&(action, old)).unwrap_or_default();
    sha256_hex(text.as_bytes())
}

impl PlanDocument {
    /// The document form of `plan`, made from `inputs`.
    #[must_use]
    pub fn of(plan: &Plan, inputs: &Inputs) -> Self {
        let (add, change, destroy) = plan.counts();
        PlanDocument {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            stack: plan.stack.clone(),
            environment: plan.environment.clone(),
            mode: match plan.mode {
                Mode::Converge => ModeDoc::Converge,
                Mode::Destroy => ModeDoc::Destroy,
            },
            account: inputs.account.clone(),
            region: inputs.region.clone(),
            endpoint: inputs.endpoint.clone(),
            created_at: inputs.created_at,
            targets: inputs.targets.clone(),
            stack_file: inputs.stack_file.clone(),
            packages: inputs
                .packages
                .iter()
                .map(|(address, sha256)| PackageDigest {
                    address: address.clone(),
                    sha256: sha256.clone(),
                })
                .collect(),
            changes: plan.changes.iter().map(ChangeDoc::of).collect(),
            notes: plan.notes.clone(),
            findings: plan
                .findings
                .iter()
                .map(|d| FindingDoc {
                    severity: match d.severity {
                        crate::stack::Severity::Error => "error",
                        crate::stack::Severity::Warning => "warning",
                        crate::stack::Severity::Note => "note",
                    }
                    .to_string(),
                    message: d.message.clone(),
                    line: d.loc.map(|l| l.line),
                    help: d.help.clone(),
                })
                .collect(),
            costs: plan.costs.clone(),
            summary: SummaryDoc {
                add,
                change,
                destroy,
            },
        }
    }

    /// The plan's mode.
    #[must_use]
    pub fn mode(&self) -> Mode {
        match self.mode {
            ModeDoc::Converge => Mode::Converge,
            ModeDoc::Destroy => Mode::Destroy,
        }
    }

    /// Reads a document, refusing another format or version with a sentence that says so.
    pub fn parse(text: &str) -> Result<Self, String> {
        // The version is read first, so that a plan of another version is named as such
        // rather than reported as a field this version does not know.
        let head: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("it is not a plan file: {e}"))?;
        if head.get("format").and_then(serde_json::Value::as_str) != Some(FORMAT) {
            return Err(format!(
                "it is not a plan file (no `\"format\": \"{FORMAT}\"`)"
            ));
        }
        let version = head
            .get("format_version")
            .and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(FORMAT_VERSION)) {
            let tool = head
                .get("tool_version")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("an unknown version");
            return Err(format!(
                "it is a plan of format version {}, made by cruddur-infra {tool}; this is cruddur-infra {} (format version {FORMAT_VERSION})",
                version.map_or_else(|| "(none)".to_string(), |v| v.to_string()),
                env!("CARGO_PKG_VERSION"),
            ));
        }
        serde_json::from_value(head).map_err(|e| format!("it is a damaged plan file: {e}"))
    }

    /// The document as pretty JSON with a closing newline.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail (see `live_digest`).
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// What moved between a saved plan and the plan made again under the lock, one sentence
/// per difference, naming the resource and field; empty when the saved plan still holds.
#[must_use]
pub fn moved(saved: &PlanDocument, fresh: &PlanDocument) -> Vec<String> {
    let mut out = Vec::new();
    // A stray's address is its kind and AWS name, which may equal a declared logical
    // address: the two are told apart.
    let by_address = |doc: &'_ PlanDocument| -> BTreeMap<String, ChangeDoc> {
        doc.changes
            .iter()
            .map(|c| {
                let key = if c.stray {
                    format!("{} (no longer declared)", c.address)
                } else {
                    c.address.clone()
                };
                (key, c.clone())
            })
            .collect()
    };
    let (was, now) = (by_address(saved), by_address(fresh));
    let addresses: BTreeSet<&String> = was.keys().chain(now.keys()).collect();
    for address in addresses {
        match (was.get(address), now.get(address)) {
            (Some(w), None) => out.push(format!(
                "{address}: the saved plan would {} it, but it no longer needs that (AWS changed)",
                verb(w.action)
            )),
            (None, Some(n)) => out.push(format!(
                "{address}: it now needs to be {}d ({}), which the saved plan does not include",
                verb(n.action),
                fields(&n.diffs)
            )),
            (Some(w), Some(n)) if w.action != n.action => out.push(format!(
                "{address}: the saved plan would {} it; it now needs to be {}d",
                verb(w.action),
                verb(n.action)
            )),
            (Some(w), Some(n)) => out.extend(field_moves(address, w, n)),
            (None, None) => {}
        }
    }
    out
}

/// The fields of one change whose live value or plan moved.
fn field_moves(address: &str, was: &ChangeDoc, now: &ChangeDoc) -> Vec<String> {
    let mut out = Vec::new();
    let paths: BTreeSet<&str> = was
        .diffs
        .iter()
        .chain(&now.diffs)
        .map(|d| d.path.as_str())
        .collect();
    for path in paths {
        let w = was.diffs.iter().find(|d| d.path == path);
        let n = now.diffs.iter().find(|d| d.path == path);
        match (w, n) {
            (Some(w), Some(n)) if w.old != n.old => out.push(format!(
                "{address}: `{path}` was {} when the plan was made; AWS now has {}",
                shown(w.old.as_ref()),
                shown(n.old.as_ref())
            )),
            (Some(w), Some(n)) if w != n => out.push(format!(
                "{address}: `{path}` is now planned {} → {} (saved: {} → {})",
                shown(n.old.as_ref()),
                shown(n.new.as_ref()),
                shown(w.old.as_ref()),
                shown(w.new.as_ref())
            )),
            (Some(w), None) => out.push(format!(
                "{address}: `{path}` was {} when the plan was made; AWS now matches the file",
                shown(w.old.as_ref())
            )),
            (None, Some(n)) => out.push(format!(
                "{address}: `{path}` now differs (AWS has {}), which the saved plan does not change",
                shown(n.old.as_ref())
            )),
            _ => {}
        }
    }
    // Anything else of the change (its AWS name, what it waits for) moving, with every
    // field alike, is still a change the saved plan did not show.
    if out.is_empty() && (was.live_sha256 != now.live_sha256 || was != now) {
        out.push(format!(
            "{address}: its planned change differs from the saved one (name `{}`, after {:?}; saved: `{}`, after {:?})",
            now.name, now.depends_on, was.name, was.depends_on
        ));
    }
    out
}

fn verb(a: ActionDoc) -> &'static str {
    match a {
        ActionDoc::Create => "create",
        ActionDoc::Update => "update",
        ActionDoc::Replace => "replace",
        ActionDoc::Delete => "delete",
    }
}

fn fields(diffs: &[DiffDoc]) -> String {
    if diffs.is_empty() {
        return "no field changes".to_string();
    }
    diffs
        .iter()
        .map(|d| format!("`{}`", d.path))
        .collect::<Vec<_>>()
        .join(", ")
}

fn shown(v: Option<&ValueDoc>) -> String {
    v.map_or_else(|| "absent".to_string(), |v| v.to_val().to_string())
}

/// The JSON Schema of the document, pretty, with a closing newline
/// (`schemas/plan.schema.json`).
#[must_use]
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(PlanDocument);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
