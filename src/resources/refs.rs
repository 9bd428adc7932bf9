//! References between resources inside strings: `${table.messages.arn}`,
//! `${table.messages.stream_arn}`, `${role.stream.arn}`, `${function.x.name}`,
//! `${account}`, `${region}`. Parsed at validation, substituted at plan time when known
//! and at apply time otherwise.

use std::collections::BTreeMap;
use std::fmt;

use super::{Address, Kind};

/// An attribute of a resource that can be referenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attr {
    /// Its ARN.
    Arn,
    /// Its name in AWS.
    Name,
    /// A table's latest stream ARN (changes when the stream is re-enabled).
    StreamArn,
    /// A cache cluster's discovery endpoint URL (known once it is available).
    Endpoint,
}

impl Attr {
    /// Parses an attribute name as references write it (`arn`, `name`, `stream_arn`).
    fn parse(s: &str) -> Option<Self> {
        match s {
            "arn" => Some(Attr::Arn),
            "name" => Some(Attr::Name),
            "stream_arn" => Some(Attr::StreamArn),
            "endpoint" => Some(Attr::Endpoint),
            _ => None,
        }
    }

    /// The attribute name as references write it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Attr::Arn => "arn",
            Attr::Name => "name",
            Attr::StreamArn => "stream_arn",
            Attr::Endpoint => "endpoint",
        }
    }
}

/// One reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ref {
    /// `${account}`: the account id from STS.
    Account,
    /// `${region}`.
    Region,
    /// `${kind.name.attr}`.
    Attribute(Address, Attr),
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Account => f.write_str("account"),
            Ref::Region => f.write_str("region"),
            Ref::Attribute(a, attr) => write!(f, "{a}.{}", attr.as_str()),
        }
    }
}

/// Every reference in `text`, or what is wrong with one.
pub fn parse(text: &str) -> Result<Vec<Ref>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`${{` without a closing `}}` in `{text}`"))?;
        let inner = &after[..end];
        let parsed = match inner.split('.').collect::<Vec<_>>().as_slice() {
            ["account"] => Ref::Account,
            ["region"] => Ref::Region,
            [kind, name, attr] => {
                let kind = Kind::parse(kind).ok_or_else(|| {
                    let kinds: Vec<&str> = Kind::ALL
                        .iter()
                        .filter(|k| **k != Kind::LogGroup)
                        .map(|k| k.as_str())
                        .collect();
                    format!(
                        "`{kind}` in `${{{inner}}}` is not a resource kind (use {})",
                        kinds.join(", ")
                    )
                })?;
                let attr = Attr::parse(attr)
                    .ok_or_else(|| format!("`{attr}` in `${{{inner}}}` is not an attribute (use arn, name, stream_arn or endpoint)"))?;
                Ref::Attribute(
                    Address {
                        kind,
                        name: (*name).to_string(),
                    },
                    attr,
                )
            }
            _ => {
                return Err(format!(
                    "`${{{inner}}}` is not a reference: write `${{kind.name.attr}}`, `${{account}}` or `${{region}}`"
                ));
            }
        };
        out.push(parsed);
        rest = &after[end + 1..];
    }
    Ok(out)
}

/// Values known so far, by reference.
pub type Known = BTreeMap<Ref, String>;

/// The rendering of a value not known until apply.
pub const UNKNOWN: &str = "(known after apply)";

/// Substitutes every reference in `text`. Unknown ones are listed and rendered as
/// `(known after apply)`; the result is complete only when the list is empty.
#[must_use]
pub fn substitute(text: &str, known: &Known) -> (String, Vec<Ref>) {
    let mut out = String::new();
    let mut missing = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return (out, missing);
        };
        let inner = &rest[start..=(start + 2 + end)];
        match parse(inner).ok().and_then(|r| r.into_iter().next()) {
            Some(r) => {
                if let Some(v) = known.get(&r) {
                    out.push_str(v);
                } else {
                    out.push_str(UNKNOWN);
                    missing.push(r);
                }
            }
            None => out.push_str(inner),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    (out, missing)
}

/// Substitutes references in every string of a JSON value.
#[must_use]
pub fn substitute_json(value: &serde_json::Value, known: &Known) -> (serde_json::Value, Vec<Ref>) {
    use serde_json::Value;
    let mut missing = Vec::new();
    let out = match value {
        Value::String(s) => {
            let (v, m) = substitute(s, known);
            missing.extend(m);
            Value::String(v)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| {
                    let (v, m) = substitute_json(i, known);
                    missing.extend(m);
                    v
                })
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, i)| {
                    let (v, m) = substitute_json(i, known);
                    missing.extend(m);
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    };
    (out, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_substitute() {
        let text = "${table.messages.arn}/index/message-group-sk-index";
        let refs = parse(text).unwrap();
        assert_eq!(
            refs,
            vec![Ref::Attribute(Address::table("messages"), Attr::Arn)]
        );
        let known = Known::from([(refs[0].clone(), "arn:aws:dynamodb:r:1:table/t".to_string())]);
        assert_eq!(
            substitute(text, &known),
            (
                "arn:aws:dynamodb:r:1:table/t/index/message-group-sk-index".into(),
                vec![]
            )
        );
        let (shown, missing) = substitute("${table.messages.stream_arn}", &known);
        assert_eq!(shown, UNKNOWN);
        assert_eq!(missing.len(), 1);
    }

    #[test]
    fn bad_references_say_how_to_write_them() {
        assert!(
            parse("${tables.x.arn}")
                .unwrap_err()
                .contains("not a resource kind")
        );
        assert!(
            parse("${table.x.id}")
                .unwrap_err()
                .contains("not an attribute")
        );
        assert!(
            parse("${table.x}")
                .unwrap_err()
                .contains("${kind.name.attr}")
        );
        assert!(parse("${table.x.arn").unwrap_err().contains("closing"));
        assert_eq!(parse("arn:aws:iam::aws:policy/X").unwrap(), vec![]);
    }
}
