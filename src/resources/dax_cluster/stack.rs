//! The stack file's `dax_clusters:` entries: raw serde types and validation against DAX's
//! rules (name, node type, replication factor, role, subnets, security groups, encryption,
//! TTLs, maintenance window, tags). Pure.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{ClusterSpec, DEFAULT_TTL_MS, Selection, Subnets, Ttls};
use crate::resources::{Address, Kind};
use crate::stack::raw::{
    Case, Choices, OneOrMany, OneOrManyOf, SecurityGroupIds, SpannedMap, SubnetIds, words_pattern,
};
use crate::stack::validate::{Names, Validator, loc};

/// The endpoint encryption settings, as DAX spells them; the file may write them in any
/// case.
pub const ENDPOINT_ENCRYPTIONS: [&str; 2] = ["NONE", "TLS"];

/// A DAX cluster.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    /// `false`: absent from every environment that does not `enable` it.
    #[schemars(with = "Option<bool>")]
    pub enabled: Option<Spanned<bool>>,
    /// Cluster name: 1–20 lowercase letters, digits and hyphens, a letter first.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Node type, like `dax.t3.small` (the cheapest).
    #[schemars(with = "String")]
    pub node_type: Spanned<String>,
    /// Nodes, 1 to 10 (default 1; 3 or more for production).
    #[schemars(with = "Option<i64>")]
    pub replication_factor: Option<Spanned<i64>>,
    /// Logical name of the role DAX assumes (trusted by `dax.amazonaws.com`).
    #[schemars(with = "String")]
    pub role: Spanned<String>,
    /// `default` (the default VPC's subnets) or subnet ids: the tool makes the subnet group.
    #[schemars(with = "Option<OneOrManyOf<SubnetIds>>")]
    pub subnets: Option<Spanned<OneOrMany>>,
    /// An existing subnet group's name, instead of `subnets`.
    #[schemars(with = "Option<String>")]
    pub subnet_group: Option<Spanned<String>>,
    /// `default` (the default VPC's `default` group) or security group ids.
    #[schemars(with = "Option<OneOrManyOf<SecurityGroupIds>>")]
    pub security_groups: Option<Spanned<OneOrMany>>,
    /// Server-side encryption at rest (default `true`).
    #[schemars(with = "Option<bool>")]
    pub encryption: Option<Spanned<bool>>,
    /// `NONE` or `TLS` (default `TLS`), in any case.
    #[schemars(
        with = "Option<String>",
        regex(pattern = words_pattern(&ENDPOINT_ENCRYPTIONS, Case::Any))
    )]
    pub endpoint_encryption: Option<Spanned<String>>,
    /// `record_ttl` and `query_ttl`: the tool makes a parameter group with them.
    #[schemars(with = "Option<RawParameters>")]
    pub parameters: Option<Spanned<RawParameters>>,
    /// Description.
    #[schemars(with = "Option<String>")]
    pub description: Option<Spanned<String>>,
    /// `ddd:hh24:mi-ddd:hh24:mi` in UTC, like `sun:05:00-sun:06:00`.
    #[schemars(with = "Option<String>")]
    pub maintenance_window: Option<Spanned<String>>,
    /// Tags.
    #[serde(default)]
    pub tags: SpannedMap<Spanned<String>>,
}

/// A parameter group's two settings, each a duration (`5m`, `300s`, `300000ms`, or a
/// number of milliseconds).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawParameters {
    /// How long an item read by key stays cached (default 5 minutes).
    #[schemars(with = "Option<RawDuration>")]
    pub record_ttl: Option<Spanned<RawDuration>>,
    /// How long a query or scan result stays cached (default 5 minutes).
    #[schemars(with = "Option<RawDuration>")]
    pub query_ttl: Option<Spanned<RawDuration>>,
}

/// A duration as written: a number of milliseconds or a number with a unit.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawDuration {
    /// Milliseconds.
    Millis(i64),
    /// `300ms`, `30s`, `5m`, `1h`.
    Text(String),
}

/// Milliseconds in `text` (`300ms`, `30s`, `5m`, `1h`), or `None` when it is not one.
#[must_use]
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// Whether `name` is a DAX cluster name: 1–20 characters, lowercase letters, digits and
/// hyphens, a letter first, no hyphen last and no two hyphens in a row (DAX stores names
/// lowercase, so an uppercase name would never match what it reports).
#[must_use]
pub fn valid_name(name: &str) -> bool {
    valid_dax_name(name, 20)
}

/// DAX's naming rule for clusters and groups alike (it follows `ElastiCache`'s), for names
/// of at most `max` characters.
#[must_use]
pub fn valid_dax_name(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// Whether `w` reads `ddd:hh:mm-ddd:hh:mm` with real days and times.
fn valid_window(w: &str) -> bool {
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let point = |p: &str| {
        let parts: Vec<&str> = p.split(':').collect();
        matches!(parts.as_slice(), [d, h, m]
            if DAYS.contains(d)
                && h.len() == 2 && h.parse::<u8>().is_ok_and(|h| h < 24)
                && m.len() == 2 && m.parse::<u8>().is_ok_and(|m| m < 60))
    };
    w.split_once('-').is_some_and(|(a, b)| point(a) && point(b))
}

/// Subnet or security group ids, or `default`.
fn selection(
    vd: &mut Validator,
    what: &str,
    prefix: &str,
    raw: Option<&Spanned<OneOrMany>>,
) -> Selection {
    match raw {
        None => Selection::Default,
        Some(r) => match &r.value {
            OneOrMany::One(s) if s == "default" => Selection::Default,
            OneOrMany::Many(ids)
                if !ids.is_empty() && ids.iter().all(|i| i.starts_with(prefix)) =>
            {
                Selection::Ids(ids.iter().cloned().collect())
            }
            _ => {
                vd.error(
                    format!("{what} must be `default` or a list of `{prefix}…` ids"),
                    loc(r),
                    format!("write `default`, or list ids like `{prefix}0123456789abcdef0`"),
                );
                Selection::Default
            }
        },
    }
}

/// One TTL: milliseconds from 1 second to 30 days (DAX accepts 0 to turn a cache off; a
/// cache that keeps nothing is better not deployed).
fn ttl(vd: &mut Validator, what: &str, raw: Option<&Spanned<RawDuration>>) -> i64 {
    let Some(r) = raw else {
        return DEFAULT_TTL_MS;
    };
    let ms = match &r.value {
        RawDuration::Millis(n) => Some(*n),
        RawDuration::Text(t) => parse_duration(t),
    };
    match ms {
        Some(ms) if (1_000..=30 * 24 * 3_600_000).contains(&ms) => ms,
        _ => {
            vd.error(
                format!("{what} must be a duration from 1s to 30 days"),
                loc(r),
                "write it like `5m`, `300s` or `300000ms` (a bare number is milliseconds)",
            );
            DEFAULT_TTL_MS
        }
    }
}

/// One `dax_clusters:` entry.
pub(crate) fn cluster(
    vd: &mut Validator,
    raw: &Spanned<RawCluster>,
    declared: &Names,
) -> ClusterSpec {
    let c = &raw.value;
    if !valid_name(&c.name.value) {
        vd.error(
            format!("DAX cluster name `{}` is not valid", c.name.value),
            loc(&c.name),
            "use 1 to 20 lowercase letters, digits and hyphens, starting with a letter, without `--` or a final `-`",
        );
    }
    if !c.node_type.value.starts_with("dax.") {
        vd.error(
            format!("node type `{}` is not a DAX node type", c.node_type.value),
            loc(&c.node_type),
            "DAX node types start with `dax.`; `dax.t3.small` is the cheapest",
        );
    }
    let replication_factor = c
        .replication_factor
        .as_ref()
        .map_or(1, |r| vd.int_in("replication_factor", r, 1, 10));
    let role = Address::new(Kind::Role, &c.role.value);
    vd.uses(&role, loc(&c.role));
    if !declared.declares(&role) {
        vd.error(
            format!("role `{}` is not declared in this stack", c.role.value),
            loc(&c.role),
            format!(
                "declare it under `roles:` (as `{}:`, trusting `dax.amazonaws.com`), or use the logical name of a declared role",
                c.role.value
            ),
        );
    }
    let subnets = match (&c.subnets, &c.subnet_group) {
        (Some(_), Some(g)) => {
            vd.error(
                "both `subnets` and `subnet_group`",
                loc(g),
                "keep `subnets` (the tool makes the group) or `subnet_group` (an existing one)",
            );
            Subnets::Own(Selection::Default)
        }
        (_, Some(g)) => Subnets::Existing(g.value.to_ascii_lowercase()),
        (s, None) => Subnets::Own(selection(vd, "subnets", SubnetIds::PREFIX, s.as_ref())),
    };
    let security_groups = selection(
        vd,
        "security_groups",
        SecurityGroupIds::PREFIX,
        c.security_groups.as_ref(),
    );
    let endpoint_encryption = c.endpoint_encryption.as_ref().map_or_else(
        || "TLS".to_string(),
        |e| {
            let upper = Spanned {
                value: e.value.to_ascii_uppercase(),
                referenced: e.referenced,
                defined: e.defined,
            };
            vd.one_of("endpoint encryption", &upper, &ENDPOINT_ENCRYPTIONS)
        },
    );
    let parameters = c.parameters.as_ref().map(|p| Ttls {
        record: ttl(vd, "record_ttl", p.value.record_ttl.as_ref()),
        query: ttl(vd, "query_ttl", p.value.query_ttl.as_ref()),
    });
    if let Some(w) = &c.maintenance_window
        && !valid_window(&w.value.to_ascii_lowercase())
    {
        vd.error(
            format!(
                "maintenance window `{}` is not `ddd:hh:mm-ddd:hh:mm`",
                w.value
            ),
            loc(w),
            "write it in UTC, like `sun:05:00-sun:06:00`",
        );
    }
    if let Some(d) = &c.description
        && d.value.len() > 255
    {
        vd.error(
            "the description is longer than 255 characters",
            loc(d),
            "shorten it",
        );
    }
    ClusterSpec {
        name: c.name.value.clone(),
        node_type: c.node_type.value.clone(),
        replication_factor,
        role,
        subnets,
        security_groups,
        encryption: c.encryption.as_ref().is_none_or(|e| e.value),
        endpoint_encryption,
        parameters,
        description: c
            .description
            .as_ref()
            .map(|d| d.value.clone())
            .unwrap_or_default(),
        maintenance_window: c
            .maintenance_window
            .as_ref()
            .map(|w| w.value.to_ascii_lowercase()),
        tags: vd.tags(&c.tags),
    }
}
