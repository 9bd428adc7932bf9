//! IAM policy documents: built from the stack's statements, and normalized so that a
//! document compares equal to what IAM returns (URL-encoded, strings where one-element
//! arrays were sent, statements and values in any order); evaluated (`eval`) against what
//! the stack makes a role do; and the AWS-managed policies bundled for that (`managed`).

pub mod eval;
pub mod managed;

use serde_json::{Map, Value};

/// The policy language version every document uses.
pub const VERSION: &str = "2012-10-17";

/// One statement as the stack declares it (references already substituted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Optional statement id.
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub allow: bool,
    /// Principal (endpoint and trust policies only).
    pub principal: Option<Value>,
    /// Actions, like `dynamodb:Query`.
    pub actions: Vec<String>,
    /// Resource ARNs (or `*`).
    pub resources: Vec<String>,
    /// Condition block, as written.
    pub conditions: Option<Value>,
}

/// The JSON document for `statements`.
#[must_use]
pub fn document(statements: &[Statement]) -> Value {
    let statements: Vec<Value> = statements
        .iter()
        .map(|s| {
            let mut m = Map::new();
            if let Some(sid) = &s.sid {
                m.insert("Sid".into(), Value::String(sid.clone()));
            }
            m.insert(
                "Effect".into(),
                Value::String(if s.allow { "Allow" } else { "Deny" }.into()),
            );
            if let Some(p) = &s.principal {
                m.insert("Principal".into(), p.clone());
            }
            m.insert("Action".into(), strings(&s.actions));
            m.insert("Resource".into(), strings(&s.resources));
            if let Some(c) = &s.conditions {
                m.insert("Condition".into(), c.clone());
            }
            Value::Object(m)
        })
        .collect();
    serde_json::json!({ "Version": VERSION, "Statement": statements })
}

/// A trust policy letting `services` assume the role.
#[must_use]
pub fn trust_document(services: &[String]) -> Value {
    serde_json::json!({
        "Version": VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": services },
            "Action": "sts:AssumeRole",
        }],
    })
}

/// A list of strings as a JSON array.
fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

/// Sorted, de-duplicated array form of a string-or-array value.
fn as_set(v: &Value) -> Value {
    let mut items: Vec<Value> = match v {
        Value::Array(a) => a.iter().map(normalize_value).collect(),
        other => vec![normalize_value(other)],
    };
    items.sort_by_key(ToString::to_string);
    items.dedup();
    Value::Array(items)
}

/// A policy value with every nested object rebuilt field by field (fields IAM treats as
/// sets are handled by `normalize_statement`; key order is settled by `sort_keys`).
fn normalize_value(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), normalize_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One statement in canonical shape: actions, resources, principals and condition values
/// as sets (a single string and a one-element list mean the same to IAM, and their order
/// carries no meaning).
fn normalize_statement(s: &Value) -> Value {
    let Value::Object(m) = s else {
        return s.clone();
    };
    let mut out = Map::new();
    for (k, v) in m {
        let nv = match k.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => as_set(v),
            // `{"Service": "x"}` and `{"Service": ["x"]}` mean the same; `"*"` stays as is.
            "Principal" | "NotPrincipal" => match v {
                Value::Object(p) => {
                    Value::Object(p.iter().map(|(k, v)| (k.clone(), as_set(v))).collect())
                }
                other => other.clone(),
            },
            "Condition" => match v {
                Value::Object(ops) => Value::Object(
                    ops.iter()
                        .map(|(op, kv)| {
                            let kv = match kv {
                                Value::Object(kv) => Value::Object(
                                    kv.iter().map(|(k, v)| (k.clone(), as_set(v))).collect(),
                                ),
                                other => other.clone(),
                            };
                            (op.clone(), kv)
                        })
                        .collect(),
                ),
                other => other.clone(),
            },
            _ => normalize_value(v),
        };
        out.insert(k.clone(), nv);
    }
    Value::Object(out)
}

/// The same value with every object's keys in sorted order. `serde_json` keeps insertion
/// order when another crate enables `preserve_order`, and key order must never show up as
/// a diff.
fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// The canonical form: `Statement` always an array, sorted (statement order carries no
/// meaning in IAM), set-valued fields sorted arrays, object keys sorted.
#[must_use]
pub fn normalize(doc: &Value) -> Value {
    let Value::Object(m) = doc else {
        return doc.clone();
    };
    let mut out = Map::new();
    for (k, v) in m {
        if k == "Statement" {
            let mut statements: Vec<Value> = match v {
                Value::Array(a) => a.iter().map(normalize_statement).collect(),
                other => vec![normalize_statement(other)],
            };
            statements.sort_by_key(ToString::to_string);
            out.insert(k.clone(), Value::Array(statements));
        } else {
            out.insert(k.clone(), normalize_value(v));
        }
    }
    sort_keys(&Value::Object(out))
}

/// Pretty, canonical text of a document: what plans show and compare.
#[must_use]
pub fn pretty(doc: &Value) -> String {
    serde_json::to_string_pretty(&normalize(doc)).unwrap_or_else(|_| doc.to_string())
}

/// Parses a document as IAM returns it: URL-encoded JSON (`%7B%22Version…`).
pub fn decode(encoded: &str) -> Result<Value, String> {
    let text = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .map_err(|e| format!("policy document is not UTF-8 after URL-decoding: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("policy document is not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_single_values_equal_the_arrays_we_send() {
        let ours = document(&[Statement {
            sid: None,
            allow: true,
            principal: None,
            actions: vec!["dynamodb:Query".into(), "dynamodb:PutItem".into()],
            resources: vec!["arn:t".into()],
            conditions: None,
        }]);
        let iam = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Resource%22%3A%22arn%3At%22%2C%22Action%22%3A%5B%22dynamodb%3APutItem%22%2C%22dynamodb%3AQuery%22%5D%7D%7D";
        assert_eq!(normalize(&decode(iam).unwrap()), normalize(&ours));
        assert_eq!(pretty(&decode(iam).unwrap()), pretty(&ours));
    }

    #[test]
    fn statement_order_and_principal_shape_do_not_matter_but_effect_does() {
        let a = serde_json::json!({"Version": VERSION, "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "Action": ["s3:*"], "Resource": "*"}]});
        let b = serde_json::json!({"Version": VERSION, "Statement": [
            {"Effect": "Deny", "Action": "s3:*", "Resource": ["*"]},
            {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}]});
        assert_eq!(normalize(&a), normalize(&b));
        let c = serde_json::json!({"Version": VERSION, "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
        let d = serde_json::json!({"Version": VERSION, "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]});
        assert_ne!(normalize(&c), normalize(&d));
        let trust_only =
            serde_json::json!({"Version": VERSION, "Statement": [a["Statement"][0].clone()]});
        assert_eq!(
            pretty(&trust_document(&["lambda.amazonaws.com".into()])),
            pretty(&trust_only)
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode("%7Bnot json").is_err());
        assert!(decode("%FF%FE").is_err());
    }
}
