//! The committed schema is this output; the schema and the tool agree on every
//! enum-like spelling, on the keys they know and on what is required. The Python test
//! (`tests/schema`) runs the committed schema through a real JSON Schema validator.

use std::path::Path;

use serde_json::{Value, json};

use super::stack_schema;
use crate::engine::Engine;
use crate::resources::dax_cluster::stack::ENDPOINT_ENCRYPTIONS;
use crate::resources::dynamodb_table::ScalarType;
use crate::resources::dynamodb_table::stack::{
    BILLING_MODES, KEY_TYPES, PROJECTIONS, stream_words,
};
use crate::resources::event_source_mapping::stack::STARTING_POSITIONS;
use crate::resources::lambda_function::stack::{ARCHITECTURES, RETENTION_DAYS, runtime_ids};
use crate::resources::vpc_endpoint::stack::SERVICES;
use crate::stack::raw::{Case, EFFECTS, word_or_prefix_pattern, words_pattern};

/// The seed stack, which every agreement test edits in one place.
const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/cruddur.yaml");

fn seed() -> String {
    std::fs::read_to_string(SEED).expect("the seed stack is readable")
}

fn schema() -> Value {
    serde_json::from_str(&stack_schema()).expect("the schema is JSON")
}

/// The definition of the raw type `name` (`RawTable`), or the root for `RawStack`.
fn definition(schema: &Value, name: &str) -> Value {
    if name == "RawStack" {
        return schema.clone();
    }
    schema["definitions"][name].clone()
}

/// The schema of property `field` of the raw type `owner`.
fn property(schema: &Value, owner: &str, field: &str) -> Value {
    let p = definition(schema, owner)["properties"][field].clone();
    assert!(p.is_object(), "`{owner}.{field}` has a schema");
    p
}

#[test]
fn the_committed_schema_is_fresh() {
    let fresh = stack_schema();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/cruddur.schema.json");
    if std::env::var("CRUDDUR_UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("the schema can be written");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let first_difference = fresh
        .lines()
        .zip(committed.lines())
        .position(|(a, b)| a != b)
        .map_or_else(|| "its length".to_string(), |i| format!("line {}", i + 1));
    assert!(
        committed == fresh,
        "`stacks/cruddur.schema.json` is not what `cruddur-infra schema` prints (first \
         difference: {first_difference}): run `CRUDDUR_UPDATE_SCHEMA=1 cargo test --lib schema` \
         or `cargo run -- schema > stacks/cruddur.schema.json`, and commit it"
    );
}

#[test]
fn the_schema_names_the_tool_and_its_draft() {
    let s = schema();
    assert_eq!(s["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(s["title"], "cruddur-infra stack file");
    assert!(
        s["description"]
            .as_str()
            .is_some_and(|d| d.contains("cruddur-infra schema")),
        "{}",
        s["description"]
    );
    assert!(stack_schema().ends_with("}\n"));
}

/// Every mapping with fields rejects other keys, as `deny_unknown_fields` does; the
/// mappings by name (`tables`, `tags`) take any key and check each value.
#[test]
fn every_mapping_rejects_unknown_keys() {
    let s = schema();
    let mut owners = vec!["RawStack".to_string()];
    owners.extend(
        s["definitions"]
            .as_object()
            .expect("definitions")
            .keys()
            .cloned(),
    );
    let mut with_fields = 0;
    for owner in &owners {
        let d = definition(&s, owner);
        if d.get("properties").is_some() {
            with_fields += 1;
            assert_eq!(
                d["additionalProperties"],
                json!(false),
                "`{owner}` rejects unknown keys"
            );
        }
    }
    assert!(
        with_fields >= 13,
        "every raw struct is a definition: {owners:?}"
    );
    for section in [
        "tables",
        "roles",
        "dax_clusters",
        "functions",
        "event_source_mappings",
        "vpc_endpoints",
    ] {
        let p = property(&s, "RawStack", section);
        assert!(
            p["additionalProperties"].is_object(),
            "`{section}` maps logical names to entries: {p}"
        );
    }
}

/// A key is required in the schema exactly when serde requires it: no `Option`, no
/// `#[serde(default)]`.
#[test]
fn the_schema_requires_what_serde_requires() {
    let s = schema();
    let cases: [(&str, &[&str]); 14] = [
        ("RawStack", &["name", "environments"]),
        ("RawEnvironment", &[]),
        ("RawTable", &["name", "attributes", "key", "billing"]),
        ("RawKey", &["hash"]),
        ("RawBilling", &["mode"]),
        ("RawIndex", &["name", "key", "projection"]),
        ("RawRole", &["name", "trust"]),
        ("RawStatement", &["effect", "actions", "resources"]),
        ("RawCluster", &["name", "node_type", "role"]),
        ("RawParameters", &[]),
        (
            "RawFunction",
            &["name", "runtime", "handler", "source", "role"],
        ),
        ("RawVpcPlacement", &["subnets", "security_groups"]),
        ("RawMapping", &["table", "function"]),
        ("RawEndpoint", &["name"]),
    ];
    for (owner, required) in cases {
        let d = definition(&s, owner);
        assert!(d.is_object(), "`{owner}` is a definition");
        let mut actual: Vec<&str> = d["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        actual.sort_unstable();
        let mut expected = required.to_vec();
        expected.sort_unstable();
        assert_eq!(actual, expected, "required keys of `{owner}`");
    }
}

#[test]
fn the_pattern_helper_writes_ecma_262_without_flags() {
    assert_eq!(
        words_pattern(&["ALL", "KEYS_ONLY"], Case::Any),
        "^([Aa][Ll][Ll]|[Kk][Ee][Yy][Ss]_[Oo][Nn][Ll][Yy])$"
    );
    assert_eq!(
        words_pattern(&["python3.12", "x86_64"], Case::Exact),
        r"^(python3\.12|x86_64)$"
    );
    assert_eq!(
        word_or_prefix_pattern(&["default"], "vpc-"),
        "^(default$|vpc-)"
    );
    let p = words_pattern(&["python3.12"], Case::Exact);
    assert!(matches(&p, "python3.12"));
    assert!(!matches(&p, "python3x12"), "the dot is escaped");
    assert!(!matches(&p, "python3.12 "), "anchored at the end");
    assert!(!matches(&p, " python3.12"), "anchored at the start");
    let p = words_pattern(&["KEYS_ONLY"], Case::Any);
    assert!(matches(&p, "keys_only") && matches(&p, "Keys_Only"));
    assert!(!matches(&p, "keys-only"));
}

/// One enum-like field: where its schema is, the validator's own list of spellings and
/// how that validator compares them, and where in the seed stack to write a value.
struct WordField {
    owner: &'static str,
    field: &'static str,
    words: Vec<&'static str>,
    case: Case,
    /// Text of the seed stack replaced (the first occurrence) by `template`.
    anchor: &'static str,
    /// `{v}` stands for the value tried.
    template: &'static str,
}

fn word_fields() -> Vec<WordField> {
    vec![
        WordField {
            owner: "RawEnvironment",
            field: "engine",
            words: Engine::ALL.map(Engine::as_str).to_vec(),
            case: Case::Exact,
            anchor: "    engine: dynamodb-local\n",
            template: "    engine: {v}\n",
        },
        WordField {
            owner: "RawStatement",
            field: "effect",
            words: EFFECTS.to_vec(),
            case: Case::Any,
            anchor: "      cruddur-messaging-stream-dynamodb:\n        - effect: Allow\n",
            template: "      cruddur-messaging-stream-dynamodb:\n        - effect: {v}\n",
        },
        WordField {
            owner: "RawBilling",
            field: "mode",
            words: BILLING_MODES.to_vec(),
            case: Case::Any,
            anchor: "      mode: PROVISIONED\n",
            template: "      mode: {v}\n",
        },
        WordField {
            owner: "RawIndex",
            field: "projection",
            words: PROJECTIONS.to_vec(),
            case: Case::Any,
            // `INCLUDE` needs attributes; the others' complaint about them is on the next
            // line, not at the projection.
            anchor: "        projection: ALL\n",
            template: "        projection: {v}\n        non_key_attributes: [message]\n",
        },
        WordField {
            owner: "RawTable",
            field: "stream",
            words: stream_words(),
            case: Case::Any,
            anchor: "    stream: NEW_IMAGE\n",
            template: "    stream: {v}\n",
        },
        WordField {
            owner: "RawFunction",
            field: "runtime",
            words: runtime_ids(),
            case: Case::Exact,
            anchor: "    runtime: python3.12\n",
            template: "    runtime: {v}\n",
        },
        WordField {
            owner: "RawFunction",
            field: "architecture",
            words: ARCHITECTURES.to_vec(),
            case: Case::Exact,
            anchor: "    runtime: python3.12\n",
            template: "    runtime: python3.12\n    architecture: {v}\n",
        },
        WordField {
            owner: "RawMapping",
            field: "starting_position",
            words: STARTING_POSITIONS.to_vec(),
            case: Case::Exact,
            anchor: "    starting_position: LATEST\n",
            template: "    starting_position: {v}\n",
        },
        WordField {
            owner: "RawCluster",
            field: "endpoint_encryption",
            words: ENDPOINT_ENCRYPTIONS.to_vec(),
            case: Case::Any,
            anchor: "    endpoint_encryption: TLS\n",
            template: "    endpoint_encryption: {v}\n",
        },
        WordField {
            owner: "RawEndpoint",
            field: "service",
            words: SERVICES.to_vec(),
            case: Case::Exact,
            anchor: "    service: dynamodb\n",
            template: "    service: {v}\n",
        },
    ]
}

/// Each listed spelling, in lower, upper and title case, and two misspellings of it.
fn spellings(words: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for w in words {
        let mut title = w.to_ascii_lowercase();
        title[..1].make_ascii_uppercase();
        out.extend([
            (*w).to_string(),
            w.to_ascii_lowercase(),
            w.to_ascii_uppercase(),
            title,
            format!("{w}X"),
        ]);
        if w.len() > 1 {
            out.push(w[..w.len() - 1].to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether the tool accepts `value` (YAML text) written with `template` in place of
/// `anchor` in the seed stack: no problem is reported on the line the value is on (the
/// edit may make other lines wrong, like capacity on an on-demand table).
fn tool_accepts(anchor: &str, template: &str, value: &str) -> bool {
    let text = seed();
    assert_eq!(
        text.matches(anchor).count(),
        1,
        "`{anchor}` is once in the seed stack"
    );
    let at = text.find(anchor).expect("anchor") + template.find("{v}").expect("{v}");
    let edited = text.replacen(anchor, &template.replace("{v}", value), 1);
    let line = u64::try_from(edited[..at].matches('\n').count() + 1).expect("a line number");
    match crate::stack::parse(Path::new(SEED), &edited) {
        Ok(_) => true,
        Err(e) => !e
            .diagnostics
            .iter()
            .any(|d| d.loc.is_some_and(|l| l.line == line)),
    }
}

/// For every enum-like field, the schema's pattern is built from the validator's own list
/// with the validator's case handling, and the schema and the tool agree on each listed
/// spelling, its other cases and its misspellings.
#[test]
fn the_schema_and_the_tool_accept_the_same_spellings() {
    let s = schema();
    for f in word_fields() {
        let at = format!("{}.{}", f.owner, f.field);
        let p = property(&s, f.owner, f.field);
        assert_eq!(
            p["pattern"],
            json!(words_pattern(&f.words, f.case)),
            "`{at}`'s pattern comes from the validator's list"
        );
        for w in &f.words {
            assert!(valid(&p, &json!(w)), "`{at}` accepts `{w}`");
            assert!(!valid(&p, &json!(format!("{w}X"))), "`{at}` rejects `{w}X`");
        }
        for v in spellings(&f.words) {
            let schema_says = valid(&p, &json!(v));
            let tool_says = tool_accepts(f.anchor, f.template, &v);
            assert_eq!(
                schema_says, tool_says,
                "`{at}: {v}`: the schema says {schema_says}, the tool {tool_says}"
            );
        }
    }
}

/// `attributes:` values are key types, exactly `S`, `N` or `B`.
#[test]
fn the_schema_and_the_tool_accept_the_same_key_types() {
    let s = schema();
    let values = property(&s, "RawTable", "attributes")["additionalProperties"].clone();
    let words = KEY_TYPES.map(ScalarType::as_str);
    assert_eq!(values["pattern"], json!(words_pattern(&words, Case::Exact)));
    for v in spellings(&words)
        .iter()
        .map(String::as_str)
        .chain(["string", "SS"])
    {
        let schema_says = valid(&values, &json!(v));
        let tool_says = tool_accepts("      pk: S\n", "      pk: {v}\n", v);
        assert_eq!(
            schema_says, tool_says,
            "`attributes: {{pk: {v}}}`: the schema says {schema_says}, the tool {tool_says}"
        );
    }
    assert!(valid(&values, &json!("N")) && !valid(&values, &json!("n")));
}

/// Fields that take a word or ids (`subnets: default`, `route_tables: [rtb-…]`), a word or
/// a VPC id, or one of `CloudWatch` Logs' retention periods.
#[test]
fn the_schema_and_the_tool_accept_the_same_words_and_ids() {
    let s = schema();
    let cases: [(&str, &str, &str, &str, Vec<Value>); 5] = [
        (
            "RawCluster",
            "subnets",
            "    subnets: default\n",
            "    subnets: {v}\n",
            vec![
                json!("default"),
                json!("Default"),
                json!("main"),
                json!(["subnet-1"]),
                json!(["subnet-1", "subnet-2"]),
                json!(["subnet-1", "sg-1"]),
                json!([]),
            ],
        ),
        (
            "RawCluster",
            "security_groups",
            "    security_groups: default\n",
            "    security_groups: {v}\n",
            vec![
                json!("default"),
                json!("DEFAULT"),
                json!(["sg-1"]),
                json!(["subnet-1"]),
                json!([]),
            ],
        ),
        (
            "RawEndpoint",
            "route_tables",
            "    route_tables: main\n",
            "    route_tables: {v}\n",
            vec![
                json!("main"),
                json!("all"),
                json!("Main"),
                json!("default"),
                json!(["rtb-1"]),
                json!(["vpc-1"]),
                json!([]),
            ],
        ),
        (
            "RawEndpoint",
            "vpc",
            "    vpc: default\n",
            "    vpc: {v}\n",
            vec![
                json!("default"),
                json!("Default"),
                json!("defaults"),
                json!("vpc-0abc"),
                json!("vpc"),
                json!("subnet-1"),
            ],
        ),
        (
            "RawFunction",
            "log_retention_days",
            "    timeout: 10\n",
            "    timeout: 10\n    log_retention_days: {v}\n",
            vec![
                json!(1),
                json!(14),
                json!(3653),
                json!(0),
                json!(2),
                json!(3654),
            ],
        ),
    ];
    for (owner, field, anchor, template, values) in cases {
        let p = property(&s, owner, field);
        for v in values {
            let yaml = match &v {
                Value::String(w) => w.clone(),
                Value::Array(ids) => format!(
                    "[{}]",
                    ids.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                other => other.to_string(),
            };
            let schema_says = valid(&p, &v);
            let tool_says = tool_accepts(anchor, template, &yaml);
            assert_eq!(
                schema_says, tool_says,
                "`{owner}.{field}: {yaml}`: the schema says {schema_says}, the tool {tool_says}"
            );
        }
    }
    let days = property(&s, "RawFunction", "log_retention_days");
    for d in RETENTION_DAYS {
        assert!(valid(&days, &json!(d)), "{d} days");
    }
}

/// The three mistakes the Python test shows the schema rejecting, the tool rejects too.
#[test]
fn the_tool_rejects_what_the_schema_test_rejects() {
    let text = seed();
    let mistakes = [
        ("\ntables:\n", "\ntabels:\n", "unknown field `tabels`"),
        (
            "      mode: PROVISIONED\n",
            "      mode: PROVISIONED\n      burst: 10\n",
            "unknown field `burst`",
        ),
        (
            "        projection: ALL\n",
            "        projection: ALLL\n",
            "projection `ALLL` is not one of AWS's",
        ),
    ];
    for (anchor, mistake, message) in mistakes {
        assert_eq!(
            text.matches(anchor).count(),
            1,
            "`{anchor}` is once in the seed"
        );
        let edited = text.replacen(anchor, mistake, 1);
        let out = crate::stack::parse(Path::new(SEED), &edited)
            .expect_err("the mistake is refused")
            .render(false);
        assert!(out.contains(message), "{out}");
    }
    for (anchor, spelling) in [
        ("        projection: ALL\n", "        projection: all\n"),
        ("      mode: PROVISIONED\n", "      mode: provisioned\n"),
    ] {
        let edited = text.replacen(anchor, spelling, 1);
        assert!(
            crate::stack::parse(Path::new(SEED), &edited).is_ok(),
            "`{}` is accepted",
            spelling.trim()
        );
    }
}

/// Whether `instance` is valid against `schema`, for the keywords of the stack schema's
/// leaf fields. Any other keyword fails the test rather than pass unchecked.
fn valid(schema: &Value, instance: &Value) -> bool {
    let Some(keywords) = schema.as_object() else {
        return schema
            .as_bool()
            .expect("a schema is an object or a boolean");
    };
    keywords
        .iter()
        .all(|(keyword, value)| match keyword.as_str() {
            "description" | "title" | "default" | "format" => true,
            "type" => match value {
                Value::String(t) => has_type(instance, t),
                Value::Array(ts) => ts
                    .iter()
                    .any(|t| has_type(instance, t.as_str().expect("a type name"))),
                other => panic!("`type` is {other}"),
            },
            "anyOf" => value
                .as_array()
                .expect("anyOf is a list")
                .iter()
                .any(|s| valid(s, instance)),
            "enum" => value.as_array().expect("enum is a list").contains(instance),
            "pattern" => instance
                .as_str()
                .is_none_or(|s| matches(value.as_str().expect("a pattern"), s)),
            "minItems" => instance.as_array().is_none_or(|a| {
                a.len() >= usize::try_from(value.as_u64().expect("a count")).expect("small")
            }),
            "items" => instance
                .as_array()
                .is_none_or(|a| a.iter().all(|i| valid(value, i))),
            other => panic!("the test's evaluator does not know `{other}`"),
        })
}

fn has_type(instance: &Value, ty: &str) -> bool {
    match ty {
        "string" => instance.is_string(),
        "array" => instance.is_array(),
        "null" => instance.is_null(),
        "integer" => instance.is_i64() || instance.is_u64(),
        "boolean" => instance.is_boolean(),
        "object" => instance.is_object(),
        other => panic!("the test's evaluator does not know type `{other}`"),
    }
}

/// One piece of a pattern that `stack::raw` builds.
#[derive(Debug)]
enum Piece {
    /// One character of this set.
    Char(Vec<char>),
    /// The end of the text (`$`).
    End,
    /// One of these sequences (`(a|b)`).
    Group(Vec<Vec<Piece>>),
}

/// Whether `pattern` finds a match in `text`, as ECMA-262's `RegExp.test` would, for the
/// patterns `stack::raw` builds only: `^` first, then literals, escapes, classes of
/// literal characters, groups of alternatives and `$`. The crate has no regex engine; the
/// Python test runs the committed schema through a real one.
fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    assert_eq!(p.first(), Some(&'^'), "`{pattern}` is anchored");
    let mut i = 1;
    let pieces = sequence(&p, &mut i);
    assert_eq!(i, p.len(), "`{pattern}` is read whole");
    let text: Vec<char> = text.chars().collect();
    !ends(&pieces, &text, 0).is_empty()
}

fn sequence(p: &[char], i: &mut usize) -> Vec<Piece> {
    let mut out = Vec::new();
    while let Some(&c) = p.get(*i) {
        match c {
            '|' | ')' => break,
            '[' => {
                let close = *i + p[*i..].iter().position(|&d| d == ']').expect("`]`");
                out.push(Piece::Char(p[*i + 1..close].to_vec()));
                *i = close + 1;
            }
            '\\' => {
                out.push(Piece::Char(vec![p[*i + 1]]));
                *i += 2;
            }
            '(' => {
                *i += 1;
                let mut alternatives = vec![sequence(p, i)];
                while p.get(*i) == Some(&'|') {
                    *i += 1;
                    alternatives.push(sequence(p, i));
                }
                assert_eq!(p.get(*i), Some(&')'), "a group closes");
                *i += 1;
                out.push(Piece::Group(alternatives));
            }
            '$' => {
                out.push(Piece::End);
                *i += 1;
            }
            '*' | '+' | '?' | '{' | '.' | '^' => {
                panic!("the test's matcher does not know `{c}`")
            }
            literal => {
                out.push(Piece::Char(vec![literal]));
                *i += 1;
            }
        }
    }
    out
}

/// Where a match of `pieces` starting at `at` in `text` can end.
fn ends(pieces: &[Piece], text: &[char], at: usize) -> Vec<usize> {
    pieces.iter().fold(vec![at], |starts, piece| {
        starts
            .into_iter()
            .flat_map(|s| match piece {
                Piece::Char(set) => {
                    if text.get(s).is_some_and(|c| set.contains(c)) {
                        vec![s + 1]
                    } else {
                        Vec::new()
                    }
                }
                Piece::End => {
                    if s == text.len() {
                        vec![s]
                    } else {
                        Vec::new()
                    }
                }
                Piece::Group(alternatives) => {
                    alternatives.iter().flat_map(|a| ends(a, text, s)).collect()
                }
            })
            .collect()
    })
}
