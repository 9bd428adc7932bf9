//! The stack file's `vpc_endpoints:` entries: raw serde types and validation (service,
//! VPC, route tables, policy). Pure.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::stack::raw::{
    Case, Choices, OneOrMany, OneOrManyOf, RawStatement, SpannedMap, word_or_prefix_pattern,
    words_pattern,
};
use crate::stack::validate::{Names, Validator, loc};

use super::{EndpointSpec, RouteTables, VpcChoice};

/// The services a gateway endpoint serves, exactly as the file spells them.
pub const SERVICES: [&str; 2] = ["dynamodb", "s3"];

/// `vpc:`'s word for the region's default VPC; anything else is a VPC id.
pub const DEFAULT_VPC: &str = "default";

/// How a VPC id starts.
pub const VPC_PREFIX: &str = "vpc-";

/// Route tables: `main` (the VPC's main table), `all`, or route table ids.
pub struct RouteTableIds;

impl Choices for RouteTableIds {
    const WORDS: &'static [&'static str] = &["main", "all"];
    const PREFIX: &'static str = "rtb-";
}

/// A gateway VPC endpoint.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    /// `false`: absent from every environment that does not `enable` it.
    #[schemars(with = "Option<bool>")]
    pub enabled: Option<Spanned<bool>>,
    /// The `Name` tag.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// `dynamodb` (default) or `s3`.
    #[schemars(with = "Option<String>", regex(pattern = words_pattern(&SERVICES, Case::Exact)))]
    pub service: Option<Spanned<String>>,
    /// `default` or a VPC id.
    #[schemars(
        with = "Option<String>",
        regex(pattern = word_or_prefix_pattern(&[DEFAULT_VPC], VPC_PREFIX))
    )]
    pub vpc: Option<Spanned<String>>,
    /// `main`, `all`, or route table ids.
    #[schemars(with = "Option<OneOrManyOf<RouteTableIds>>")]
    pub route_tables: Option<Spanned<OneOrMany>>,
    /// Endpoint policy statements.
    #[schemars(with = "Option<Vec<RawStatement>>")]
    pub policy: Option<Spanned<Vec<Spanned<RawStatement>>>>,
    /// Other tags.
    #[serde(default)]
    pub tags: SpannedMap<Spanned<String>>,
}

/// One `vpc_endpoints:` entry: `default` or a VPC id; route tables as `main`, `all` or a list
/// of `rtb-…` ids; a policy whose references name declared resources; the `Name` tag comes
/// from `name:`, never from `tags`.
pub(crate) fn endpoint(
    vd: &mut Validator,
    raw: &Spanned<RawEndpoint>,
    declared: &Names,
) -> EndpointSpec {
    let e = &raw.value;
    let service = e.service.as_ref().map_or_else(
        || "dynamodb".to_string(),
        |s| vd.one_of("gateway endpoint service", s, &SERVICES),
    );
    let vpc = match &e.vpc {
        None => VpcChoice::Default,
        Some(v) if v.value == DEFAULT_VPC => VpcChoice::Default,
        Some(v) if v.value.starts_with(VPC_PREFIX) => VpcChoice::Id(v.value.clone()),
        Some(v) => {
            vd.error(
                format!("vpc `{}` is not `default` or a VPC id", v.value),
                loc(v),
                "write `default`, or an id like `vpc-0123456789abcdef0`",
            );
            VpcChoice::Default
        }
    };
    let route_tables = match e.route_tables.as_ref().map(|r| (&r.value, r)) {
        None => RouteTables::Main,
        Some((OneOrMany::One(s), _)) if s == "main" => RouteTables::Main,
        Some((OneOrMany::One(s), _)) if s == "all" => RouteTables::All,
        Some((OneOrMany::Many(ids), r)) => {
            if ids.is_empty() || ids.iter().any(|i| !i.starts_with(RouteTableIds::PREFIX)) {
                vd.error(
                    "route_tables must be `rtb-…` ids",
                    loc(r),
                    "list ids like `rtb-0123456789abcdef0`, or write `main` or `all`",
                );
            }
            RouteTables::Ids(ids.iter().cloned().collect())
        }
        Some((OneOrMany::One(s), r)) => {
            vd.error(
                format!("route_tables `{s}` is not `main`, `all` or a list"),
                loc(r),
                "write `main`, `all`, or a list of route table ids",
            );
            RouteTables::Main
        }
    };
    let policy = e
        .policy
        .as_ref()
        .map(|p| vd.statements(&p.value, declared, true));
    let mut tags = vd.tags(&e.tags);
    if tags.contains_key("Name") {
        vd.error(
            "the endpoint's `Name` tag comes from `name:`",
            loc(&e.name),
            "remove `Name` from `tags`",
        );
    }
    tags.insert("Name".into(), e.name.value.clone());
    EndpointSpec {
        service,
        vpc,
        route_tables,
        policy,
        tags,
    }
}
