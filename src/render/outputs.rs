//! `outputs`: the values people copy into an application's settings, resource by resource,
//! as a table for people or one JSON document for tools. The values come from
//! `Resource::outputs`; this module only lays them out, and decides nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What `outputs` knows of one declared resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// It exists: its outputs, `(attribute, value)`, in the kind's order.
    Exists(Vec<(&'static str, String)>),
    /// It is enabled but does not exist (yet): `apply` creates it.
    Missing,
    /// The environment turns it off, so it has no outputs there.
    Disabled,
}

/// One declared resource and its outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Its address, like `table.messages`.
    pub address: String,
    /// Whether it exists, and what it exports if so.
    pub presence: Presence,
}

/// The blocks as a table: address, attribute, value, the address on its resource's first
/// line only, so that each resource reads as one group. A missing or disabled resource is
/// one line that says so, and what to do for a missing one.
#[must_use]
pub fn text(environment: &str, blocks: &[Block]) -> String {
    let values = || {
        blocks.iter().flat_map(|b| match &b.presence {
            Presence::Exists(values) => values.as_slice(),
            Presence::Missing | Presence::Disabled => &[],
        })
    };
    let aw = blocks
        .iter()
        .map(|b| b.address.chars().count())
        .chain(["RESOURCE".len()])
        .max()
        .unwrap_or(0);
    let kw = values()
        .map(|(k, _)| k.chars().count())
        .chain(["ATTRIBUTE".len()])
        .max()
        .unwrap_or(0);
    let mut out = format!("{:<aw$}  {:<kw$}  VALUE\n", "RESOURCE", "ATTRIBUTE");
    for b in blocks {
        match &b.presence {
            Presence::Exists(values) => {
                for (i, (key, value)) in values.iter().enumerate() {
                    let address = if i == 0 { b.address.as_str() } else { "" };
                    let _ = writeln!(out, "{address:<aw$}  {key:<kw$}  {value}");
                }
            }
            Presence::Missing => {
                let _ = writeln!(
                    out,
                    "{:<aw$}  (missing: `cruddur-infra apply {environment}` creates it)",
                    b.address
                );
            }
            Presence::Disabled => {
                let _ = writeln!(out, "{:<aw$}  (disabled in `{environment}`)", b.address);
            }
        }
    }
    out
}

/// `outputs --json`: field order is the document's key order, whatever `serde_json`'s
/// features; the maps sort their keys.
#[derive(serde::Serialize)]
struct Document<'a> {
    /// The stack's name.
    stack: &'a str,
    /// The environment read.
    environment: &'a str,
    /// Each existing resource's outputs, by address then attribute.
    outputs: BTreeMap<&'a str, BTreeMap<&'static str, &'a str>>,
    /// Enabled resources that do not exist yet, in declaration order.
    missing: Vec<&'a str>,
    /// Resources the environment turns off, in declaration order.
    disabled: Vec<&'a str>,
}

/// The blocks as one JSON document: `{"stack", "environment", "outputs": {"table.messages":
/// {"arn": …, "stream_arn": …}}, "missing": [...], "disabled": [...]}`, keys sorted, every
/// value a string.
#[must_use]
pub fn json(stack: &str, environment: &str, blocks: &[Block]) -> String {
    let mut doc = Document {
        stack,
        environment,
        outputs: BTreeMap::new(),
        missing: Vec::new(),
        disabled: Vec::new(),
    };
    for b in blocks {
        match &b.presence {
            Presence::Exists(values) => {
                let values = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
                doc.outputs.insert(b.address.as_str(), values);
            }
            Presence::Missing => doc.missing.push(&b.address),
            Presence::Disabled => doc.disabled.push(&b.address),
        }
    }
    // Strings and maps of strings only: serializing cannot fail.
    serde_json::to_string(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks() -> Vec<Block> {
        vec![
            Block {
                address: "table.messages".into(),
                presence: Presence::Exists(vec![
                    ("name", "cruddur-messages".into()),
                    (
                        "arn",
                        "arn:aws:dynamodb:ca-central-1:1:table/cruddur-messages".into(),
                    ),
                    (
                        "stream_arn",
                        "arn:aws:dynamodb:ca-central-1:1:table/cruddur-messages/stream/2026".into(),
                    ),
                    ("indexes", "message-group-sk-index".into()),
                ]),
            },
            Block {
                address: "role.dax".into(),
                presence: Presence::Disabled,
            },
            Block {
                address: "function.messaging_stream".into(),
                presence: Presence::Missing,
            },
        ]
    }

    #[test]
    fn text_groups_each_resource_and_says_what_is_missing_or_disabled() {
        insta::assert_snapshot!(text("local", &blocks()), @r"
        RESOURCE                   ATTRIBUTE   VALUE
        table.messages             name        cruddur-messages
                                   arn         arn:aws:dynamodb:ca-central-1:1:table/cruddur-messages
                                   stream_arn  arn:aws:dynamodb:ca-central-1:1:table/cruddur-messages/stream/2026
                                   indexes     message-group-sk-index
        role.dax                   (disabled in `local`)
        function.messaging_stream  (missing: `cruddur-infra apply local` creates it)
        ");
    }

    #[test]
    fn json_keys_are_sorted_and_absent_resources_are_listed_apart() {
        let doc: serde_json::Value =
            serde_json::from_str(&json("cruddur", "local", &blocks())).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({
                "stack": "cruddur",
                "environment": "local",
                "outputs": {
                    "table.messages": {
                        "name": "cruddur-messages",
                        "arn": "arn:aws:dynamodb:ca-central-1:1:table/cruddur-messages",
                        "stream_arn": "arn:aws:dynamodb:ca-central-1:1:table/cruddur-messages/stream/2026",
                        "indexes": "message-group-sk-index",
                    },
                },
                "missing": ["function.messaging_stream"],
                "disabled": ["role.dax"],
            })
        );
        // The text itself: the document's fields in order, each map's keys sorted.
        let text = json("cruddur", "local", &blocks());
        assert!(
            text.starts_with(
                r#"{"stack":"cruddur","environment":"local","outputs":{"table.messages":{"arn":"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#""indexes":"message-group-sk-index","name":"cruddur-messages","stream_arn":"#
            ),
            "{text}"
        );
    }
}
