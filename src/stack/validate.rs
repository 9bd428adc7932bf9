//! Turns the raw file into a validated [`Stack`], collecting every problem at once.
//!
//! The rules are AWS's own limits, checked before any call so that `apply` never finds
//! them halfway: name lengths and characters, key types, attribute definitions that keys
//! actually use, capacity present exactly when provisioned, at most 20 indexes.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::Spanned;

use super::error::{Diagnostic, Loc};
use super::raw::{RawBilling, RawEnvironment, RawIndex, RawKey, RawStack, RawTable};
use super::{Declared, Environment, Stack};
use crate::resources::dynamodb_table::{
    Billing, IndexSpec, KeySchema, Projection, ScalarType, StreamView, TableSpec, Throughput,
};
use crate::resources::{Address, Kind, OWNER_TAG};

/// AWS's limit on global secondary indexes per table.
const MAX_INDEXES: usize = 20;
/// AWS's limit on tags per resource (one is the ownership tag).
const MAX_TAGS: usize = 49;

pub(super) fn loc<T>(s: &Spanned<T>) -> Option<Loc> {
    Loc::from_saphyr(s.referenced)
}

/// Collects diagnostics while building the validated stack.
pub(super) struct Validator {
    problems: Vec<Diagnostic>,
}

impl Validator {
    pub(super) fn error(
        &mut self,
        message: impl Into<String>,
        at: Option<Loc>,
        help: impl Into<String>,
    ) {
        self.problems.push(Diagnostic::new(message, at, help));
    }

    /// Checks an AWS resource name: `min..=max` characters of `A-Za-z0-9_.-`.
    fn aws_name(&mut self, what: &str, name: &Spanned<String>, min: usize, max: usize) {
        let value = &name.value;
        let bad: BTreeSet<char> = value
            .chars()
            .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
            .collect();
        let len = value.chars().count();
        if len < min || len > max {
            self.error(
                format!("{what} `{value}` is {len} characters long"),
                loc(name),
                format!("a {what} has {min} to {max} characters of `A-Za-z0-9_.-`"),
            );
        } else if !bad.is_empty() {
            let shown: String = bad.into_iter().collect();
            self.error(
                format!("{what} `{value}` contains characters AWS does not allow: `{shown}`"),
                loc(name),
                format!("a {what} may only use letters, digits, `_`, `.` and `-`"),
            );
        }
    }

    pub(super) fn logical_name(&mut self, kind: &str, name: &Spanned<String>) {
        let ok = !name.value.is_empty()
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if !ok {
            self.error(
                format!(
                    "logical name `{}` of this {kind} is not a valid name",
                    name.value
                ),
                loc(name),
                "logical names use letters, digits, `_` and `-`, like `messages`",
            );
        }
    }

    fn capacity(&mut self, what: &str, value: &Spanned<i64>) -> i64 {
        if value.value < 1 {
            self.error(
                format!("{what} capacity is `{}`", value.value),
                loc(value),
                "provisioned capacity is at least 1 unit",
            );
        }
        value.value
    }

    /// Capacity of a table or index: both units when provisioned, none when on demand.
    fn throughput(
        &mut self,
        what: &str,
        at: Option<Loc>,
        provisioned: bool,
        read: Option<&Spanned<i64>>,
        write: Option<&Spanned<i64>>,
    ) -> Option<Throughput> {
        if provisioned {
            if let (Some(r), Some(w)) = (read, write) {
                Some(Throughput {
                    read: self.capacity(&format!("{what} read"), r),
                    write: self.capacity(&format!("{what} write"), w),
                })
            } else {
                let missing = if read.is_none() { "read" } else { "write" };
                self.error(
                    format!("{what} is provisioned but has no `{missing}` capacity"),
                    at,
                    "with `mode: PROVISIONED`, give both `read` and `write` (at least 1)",
                );
                None
            }
        } else {
            for (label, v) in [("read", read), ("write", write)] {
                if let Some(v) = v {
                    self.error(
                        format!(
                            "{what} has `{label}` capacity but the table is billed per request"
                        ),
                        loc(v),
                        format!("remove `{label}`, or use `mode: PROVISIONED`"),
                    );
                }
            }
            None
        }
    }

    /// Checks a key against the attribute names declared (typed correctly or not: a bad
    /// type is reported once, at the type).
    fn key(
        &mut self,
        owner: &str,
        key: &Spanned<RawKey>,
        declared: &BTreeSet<String>,
    ) -> KeySchema {
        for part in std::iter::once(&key.value.hash).chain(key.value.range.as_ref()) {
            if !declared.contains(&part.value) {
                self.error(
                    format!(
                        "{owner} key uses attribute `{}`, which is not defined",
                        part.value
                    ),
                    loc(part),
                    format!("add `{}: S` (or `N`, `B`) under `attributes`", part.value),
                );
            }
        }
        if let Some(range) = &key.value.range
            && range.value == key.value.hash.value
        {
            self.error(
                format!(
                    "{owner} key uses `{}` as both partition and sort key",
                    range.value
                ),
                loc(range),
                "use a different attribute for `range`, or remove it",
            );
        }
        KeySchema {
            hash: key.value.hash.value.clone(),
            range: key.value.range.as_ref().map(|r| r.value.clone()),
        }
    }

    fn environment(
        &mut self,
        name: &Spanned<String>,
        env: &Spanned<RawEnvironment>,
    ) -> Environment {
        self.logical_name("environment", name);
        let e = &env.value;
        if let Some(url) = &e.endpoint_url
            && !(url.value.starts_with("http://") || url.value.starts_with("https://"))
        {
            self.error(
                format!("endpoint `{}` is not an http(s) URL", url.value),
                loc(url),
                "write it as a full URL, like `http://127.0.0.1:4566`",
            );
        }
        if let Some(region) = &e.region {
            let parts: Vec<&str> = region.value.split('-').collect();
            let plausible = parts.len() >= 3
                && parts.iter().all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                })
                && parts
                    .last()
                    .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
            if !plausible {
                self.error(
                    format!("region `{}` is not an AWS region name", region.value),
                    loc(region),
                    "use a region code such as `ca-central-1` or `us-east-1`",
                );
            }
        }
        Environment {
            region: e.region.as_ref().map(|r| r.value.clone()),
            endpoint_url: e.endpoint_url.as_ref().map(|r| r.value.clone()),
            profile: e.profile.as_ref().map(|r| r.value.clone()),
        }
    }

    fn billing(&mut self, billing: &Spanned<RawBilling>) -> (bool, Option<Billing>) {
        let b = &billing.value;
        let mode = b.mode.value.to_ascii_uppercase();
        match mode.as_str() {
            "PROVISIONED" => {
                let t = self.throughput(
                    "table",
                    loc(billing),
                    true,
                    b.read.as_ref(),
                    b.write.as_ref(),
                );
                (true, t.map(Billing::Provisioned))
            }
            "PAY_PER_REQUEST" => {
                self.throughput(
                    "table",
                    loc(billing),
                    false,
                    b.read.as_ref(),
                    b.write.as_ref(),
                );
                (false, Some(Billing::PayPerRequest))
            }
            other => {
                self.error(
                    format!("billing mode `{other}` is not one of AWS's"),
                    loc(&b.mode),
                    "use `PROVISIONED` (with `read` and `write`) or `PAY_PER_REQUEST`",
                );
                (false, None)
            }
        }
    }

    fn index(
        &mut self,
        raw: &Spanned<RawIndex>,
        provisioned: bool,
        declared: &BTreeSet<String>,
    ) -> IndexSpec {
        let i = &raw.value;
        self.aws_name("index name", &i.name, 3, 255);
        let key = self.key(&format!("index `{}`", i.name.value), &i.key, declared);
        let kind = i.projection.value.to_ascii_uppercase();
        let projection = match (kind.as_str(), &i.non_key_attributes) {
            ("ALL", None) => Projection::All,
            ("KEYS_ONLY", None) => Projection::KeysOnly,
            ("INCLUDE", Some(names)) if !names.value.is_empty() => {
                Projection::Include(names.value.iter().map(|n| n.value.clone()).collect())
            }
            ("INCLUDE", other) => {
                self.error(
                    format!(
                        "index `{}` projects `INCLUDE` but names no attributes",
                        i.name.value
                    ),
                    other.as_ref().map_or(loc(&i.projection), loc),
                    "list them: `non_key_attributes: [message, user_handle]`",
                );
                Projection::All
            }
            ("ALL" | "KEYS_ONLY", Some(names)) => {
                self.error(
                    format!(
                        "index `{}` lists `non_key_attributes` but projects `{kind}`",
                        i.name.value
                    ),
                    loc(names),
                    "remove `non_key_attributes`, or use `projection: INCLUDE`",
                );
                Projection::All
            }
            (other, _) => {
                self.error(
                    format!("projection `{other}` is not one of AWS's"),
                    loc(&i.projection),
                    "use `ALL`, `KEYS_ONLY` or `INCLUDE` (with `non_key_attributes`)",
                );
                Projection::All
            }
        };
        let what = format!("index `{}`", i.name.value);
        let throughput = self.throughput(
            &what,
            loc(raw),
            provisioned,
            i.read.as_ref(),
            i.write.as_ref(),
        );
        IndexSpec {
            name: i.name.value.clone(),
            key,
            projection,
            throughput,
        }
    }

    fn table(&mut self, raw: &Spanned<RawTable>) -> TableSpec {
        let t = &raw.value;
        self.aws_name("table name", &t.name, 3, 255);
        let mut attributes = BTreeMap::new();
        for (name, ty) in &t.attributes.value.0 {
            if name.value.is_empty() || name.value.len() > 255 {
                self.error(
                    "attribute names have 1 to 255 bytes",
                    loc(name),
                    "rename the attribute",
                );
            }
            match ScalarType::parse(&ty.value) {
                Some(parsed) => {
                    attributes.insert(name.value.clone(), parsed);
                }
                None => self.error(
                    format!(
                        "attribute `{}` has type `{}`, which cannot be a key",
                        name.value, ty.value
                    ),
                    loc(ty),
                    "key attributes are `S` (string), `N` (number) or `B` (binary)",
                ),
            }
        }
        let declared: BTreeSet<String> = t
            .attributes
            .value
            .0
            .iter()
            .map(|(n, _)| n.value.clone())
            .collect();
        let key = self.key("table", &t.key, &declared);
        let (provisioned, billing) = self.billing(&t.billing);
        if t.global_secondary_indexes.len() > MAX_INDEXES {
            self.error(
                format!(
                    "table declares {} global secondary indexes",
                    t.global_secondary_indexes.len()
                ),
                loc(&t.global_secondary_indexes[MAX_INDEXES]),
                format!("AWS allows at most {MAX_INDEXES} per table"),
            );
        }
        let mut indexes: Vec<IndexSpec> = Vec::new();
        for raw_index in &t.global_secondary_indexes {
            let index = self.index(raw_index, provisioned, &declared);
            if indexes.iter().any(|i| i.name == index.name) {
                self.error(
                    format!("index `{}` is declared twice", index.name),
                    loc(&raw_index.value.name),
                    "give each index of a table its own name",
                );
            }
            indexes.push(index);
        }
        let used: BTreeSet<&str> = key
            .attributes()
            .chain(indexes.iter().flat_map(|i| i.key.attributes()))
            .collect();
        for (name, _) in &t.attributes.value.0 {
            if !used.contains(name.value.as_str()) {
                self.error(
                    format!("attribute `{}` is defined but no key uses it", name.value),
                    loc(name),
                    "AWS rejects unused attribute definitions: remove it (items may still hold it), or use it in a key",
                );
            }
        }
        let stream = t.stream.as_ref().and_then(|s| {
            let upper = s.value.to_ascii_uppercase();
            if upper == "OFF" {
                return None;
            }
            let parsed = StreamView::parse(&upper);
            if parsed.is_none() {
                self.error(
                    format!("stream view type `{}` is not one of AWS's", s.value),
                    loc(s),
                    "use `NEW_IMAGE`, `OLD_IMAGE`, `NEW_AND_OLD_IMAGES`, `KEYS_ONLY`, or `off`",
                );
            }
            parsed
        });
        if let Some(ttl) = &t.ttl_attribute
            && (ttl.value.is_empty() || ttl.value.len() > 255)
        {
            self.error(
                "the TTL attribute name has 1 to 255 bytes",
                loc(ttl),
                "name the attribute that holds the expiry time",
            );
        }
        let tags = self.tags(&t.tags);
        TableSpec {
            name: t.name.value.clone(),
            attributes,
            key,
            billing: billing.unwrap_or(Billing::PayPerRequest),
            indexes,
            stream,
            deletion_protection: t.deletion_protection.as_ref().is_some_and(|d| d.value),
            ttl_attribute: t.ttl_attribute.as_ref().map(|t| t.value.clone()),
            point_in_time_recovery: t.point_in_time_recovery.as_ref().is_some_and(|p| p.value),
            tags,
        }
    }

    pub(super) fn tags(
        &mut self,
        raw: &super::raw::SpannedMap<Spanned<String>>,
    ) -> BTreeMap<String, String> {
        if raw.0.len() > MAX_TAGS {
            self.error(
                format!("{} tags declared", raw.0.len()),
                loc(&raw.0[MAX_TAGS].0),
                format!(
                    "AWS allows 50 tags per resource and the tool sets one: keep at most {MAX_TAGS}"
                ),
            );
        }
        let mut tags = BTreeMap::new();
        for (k, v) in &raw.0 {
            if k.value == OWNER_TAG || k.value.starts_with("aws:") {
                self.error(
                    format!("tag `{}` is reserved", k.value),
                    loc(k),
                    format!("`{OWNER_TAG}` is set by cruddur-infra and `aws:` tags by AWS: use another key"),
                );
            } else if k.value.is_empty() || k.value.chars().count() > 128 {
                self.error(
                    "tag keys have 1 to 128 characters",
                    loc(k),
                    "shorten the key",
                );
            } else if v.value.chars().count() > 256 {
                self.error(
                    "tag values have at most 256 characters",
                    loc(v),
                    "shorten the value",
                );
            }
            tags.insert(k.value.clone(), v.value.clone());
        }
        tags
    }
}

/// Validates the whole file: either a [`Stack`] or every problem found.
pub fn validate(raw: &RawStack, path: &std::path::Path) -> Result<Stack, Vec<Diagnostic>> {
    let mut v = Validator {
        problems: Vec::new(),
    };
    let name = &raw.name;
    let name_ok = !name.value.is_empty()
        && name.value.len() <= 128
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if !name_ok {
        v.error(
            format!("stack name `{}` cannot be used in a tag value", name.value),
            loc(name),
            "use 1 to 128 letters, digits, `_` or `-`, like `cruddur`",
        );
    }
    let mut environments = BTreeMap::new();
    for (env_name, env) in &raw.environments.value.0 {
        let env = v.environment(env_name, env);
        environments.insert(env_name.value.clone(), env);
    }
    if environments.is_empty() {
        v.error(
            "the stack declares no environment",
            loc(&raw.environments),
            "declare one, like `local: { endpoint_url: http://127.0.0.1:4566, region: ca-central-1 }`",
        );
    }
    let mut tables: Vec<Declared<crate::resources::dynamodb_table::TableSpec>> = Vec::new();
    for (logical, raw_table) in &raw.tables.0 {
        v.logical_name("table", logical);
        let spec = v.table(raw_table);
        if tables.iter().any(|t| t.spec.name == spec.name) {
            v.error(
                format!("two tables are named `{}`", spec.name),
                loc(&raw_table.value.name),
                "each table needs its own AWS name",
            );
        }
        tables.push(Declared {
            address: Address::table(&logical.value),
            spec,
            loc: loc(logical),
        });
    }
    let declared = super::validate_kinds::Declared {
        tables: raw
            .tables
            .0
            .iter()
            .map(|(k, t)| {
                (
                    k.value.clone(),
                    t.value
                        .stream
                        .as_ref()
                        .is_some_and(|s| !s.value.eq_ignore_ascii_case("off")),
                )
            })
            .collect(),
        roles: raw.roles.0.iter().map(|(k, _)| k.value.clone()).collect(),
        functions: raw
            .functions
            .0
            .iter()
            .map(|(k, _)| k.value.clone())
            .collect(),
    };
    let base = path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let mut roles = Vec::new();
    for (logical, r) in &raw.roles.0 {
        v.logical_name("role", logical);
        roles.push(Declared {
            address: Address::new(Kind::Role, &logical.value),
            spec: v.role(r, &declared),
            loc: loc(logical),
        });
    }
    let mut functions = Vec::new();
    for (logical, f) in &raw.functions.0 {
        v.logical_name("function", logical);
        functions.push(Declared {
            address: Address::new(Kind::Function, &logical.value),
            spec: v.function(f, &declared, &base),
            loc: loc(&f.value.source),
        });
    }
    let mut mappings: Vec<Declared<crate::resources::event_source_mapping::MappingSpec>> =
        Vec::new();
    for (logical, m) in &raw.event_source_mappings.0 {
        v.logical_name("event source mapping", logical);
        let spec = v.mapping(m, &declared);
        if mappings
            .iter()
            .any(|o| o.spec.table == spec.table && o.spec.function == spec.function)
        {
            v.error(
                format!(
                    "a second mapping from table `{}` to function `{}`",
                    spec.table.name, spec.function.name
                ),
                loc(logical),
                "AWS allows one mapping per stream and function: keep one",
            );
        }
        mappings.push(Declared {
            address: Address::new(Kind::EventSourceMapping, &logical.value),
            spec,
            loc: loc(logical),
        });
    }
    let mut endpoints: Vec<Declared<crate::resources::vpc_endpoint::EndpointSpec>> = Vec::new();
    for (logical, e) in &raw.vpc_endpoints.0 {
        v.logical_name("VPC endpoint", logical);
        let spec = v.endpoint(e, &declared);
        if endpoints
            .iter()
            .any(|o| o.spec.vpc == spec.vpc && o.spec.service == spec.service)
        {
            v.error(
                "a second endpoint for the same VPC and service",
                loc(logical),
                "AWS finds a gateway endpoint by VPC and service: keep one",
            );
        }
        endpoints.push(Declared {
            address: Address::new(Kind::VpcEndpoint, &logical.value),
            spec,
            loc: loc(logical),
        });
    }
    for (kind, names) in [
        (
            "role",
            raw.roles
                .0
                .iter()
                .map(|(_, r)| &r.value.name)
                .collect::<Vec<_>>(),
        ),
        (
            "function",
            raw.functions.0.iter().map(|(_, f)| &f.value.name).collect(),
        ),
    ] {
        let mut seen = BTreeSet::new();
        for n in names {
            if !seen.insert(n.value.clone()) {
                v.error(
                    format!("two {kind}s are named `{}`", n.value),
                    loc(n),
                    format!("each {kind} needs its own AWS name"),
                );
            }
        }
    }
    if v.problems.is_empty() {
        Ok(Stack {
            name: name.value.clone(),
            path: path.to_path_buf(),
            environments,
            environments_loc: loc(&raw.environments),
            tables,
            roles,
            functions,
            mappings,
            endpoints,
        })
    } else {
        v.problems
            .sort_by_key(|d| d.loc.map(|l| (l.line, l.column)));
        Err(v.problems)
    }
}
