//! `data query`: the command line's `--key`, `--begins-with` and `--index` checked against
//! the live table's keys and turned into a key condition, so a wrong attribute or index is
//! a clear error before any call, not a `ValidationException`.

use super::{KeyAttr, Keys, NumberError, Plain, ScalarType, TableKeys, Usage};

/// A checked key condition: `#k0 = :k0 AND begins_with(#k1, :k1)` with its names and
/// values.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The index queried, or the table itself.
    pub index: Option<String>,
    /// The `KeyConditionExpression`.
    pub expression: String,
    /// `#k0` → attribute name.
    pub names: Vec<(String, String)>,
    /// `:k0` → value, typed as the key attribute is.
    pub values: Vec<(String, Plain)>,
}

/// Builds the condition for `--key ATTR=VALUE` and `--begins-with ATTR=PREFIX` on `index`
/// (or the table).
pub fn condition(
    keys: &TableKeys,
    index: Option<&str>,
    key: &str,
    begins_with: Option<&str>,
) -> Result<Condition, Usage> {
    let table = &keys.table;
    let on = index.map_or_else(|| format!("table `{table}`"), |i| format!("index `{i}`"));
    let schema = keys.of(index).ok_or_else(|| Usage {
        message: format!(
            "table `{table}` has no index `{}`",
            index.unwrap_or_default()
        ),
        help: if keys.indexes.is_empty() {
            "the table has no secondary indexes; leave out `--index` to query the table".into()
        } else {
            format!(
                "its indexes: {}",
                keys.indexes
                    .iter()
                    .map(|(n, _)| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    })?;
    let (attr, value) = split("--key", key)?;
    if attr != schema.hash.name {
        return Err(Usage {
            message: format!(
                "`{attr}` is not the partition key of {on}; its partition key is `{}`",
                schema.hash.name
            ),
            help: hint_for(keys, attr, &schema.hash.name),
        });
    }
    let mut names = vec![("#k0".to_string(), attr.to_string())];
    let mut values = vec![(":k0".to_string(), typed("--key", &schema.hash, value)?)];
    let mut expression = "#k0 = :k0".to_string();
    if let Some(begins) = begins_with {
        let (attr, prefix) = split("--begins-with", begins)?;
        let range = sort_key(schema, &on, attr)?;
        if range.ty != ScalarType::S {
            return Err(Usage {
                message: format!(
                    "`{attr}` is a number (N); `--begins-with` works on string sort keys only"
                ),
                help: "leave out `--begins-with`, or query a string sort key".into(),
            });
        }
        if prefix.is_empty() {
            return Err(Usage {
                message: "`--begins-with` needs a prefix after `=`".into(),
                help: format!("like `--begins-with {attr}=2023`, or leave it out"),
            });
        }
        names.push(("#k1".into(), attr.to_string()));
        values.push((":k1".into(), Plain::String(prefix.to_string())));
        expression.push_str(" AND begins_with(#k1, :k1)");
    }
    Ok(Condition {
        index: index.map(str::to_string),
        expression,
        names,
        values,
    })
}

/// Splits `ATTR=VALUE`.
fn split<'a>(flag: &str, text: &'a str) -> Result<(&'a str, &'a str), Usage> {
    match text.split_once('=') {
        Some((attr, value)) if !attr.is_empty() => Ok((attr, value)),
        _ => Err(Usage {
            message: format!("`{flag} {text}` is not `ATTR=VALUE`"),
            help: format!("like `{flag} pk=GRP#<user_uuid>`"),
        }),
    }
}

/// The sort key of `schema`, which `attr` must name.
fn sort_key<'a>(schema: &'a Keys, on: &str, attr: &str) -> Result<&'a KeyAttr, Usage> {
    match &schema.range {
        Some(range) if range.name == attr => Ok(range),
        Some(range) => Err(Usage {
            message: format!(
                "`{attr}` is not the sort key of {on}; its sort key is `{}`",
                range.name
            ),
            help: format!("like `--begins-with {}=2023`", range.name),
        }),
        None => Err(Usage {
            message: format!("{on} has no sort key, so `--begins-with` cannot apply"),
            help: "leave out `--begins-with`".into(),
        }),
    }
}

/// `value` as the key attribute's type.
fn typed(flag: &str, attr: &KeyAttr, value: &str) -> Result<Plain, Usage> {
    match attr.ty {
        ScalarType::S if !value.is_empty() => Ok(Plain::String(value.to_string())),
        ScalarType::S => Err(Usage {
            message: format!("`{flag} {}=` has no value", attr.name),
            help: format!("key values are never empty: `{flag} {}=VALUE`", attr.name),
        }),
        // In `DynamoDB`'s form, as the seed writes it: `--key id=12.50` finds `12.5`.
        ScalarType::N => match super::number(value) {
            Ok(n) => Ok(Plain::Number(n)),
            Err(NumberError::NotDecimal) => Err(Usage {
                message: format!(
                    "`{}` is a number key (N), and `{value}` is not a number",
                    attr.name
                ),
                help: format!("like `{flag} {}=42`", attr.name),
            }),
            Err(why) => Err(Usage {
                message: format!(
                    "`{}` is a number key (N), and `{value}` {why}, so no item has it",
                    attr.name
                ),
                help: format!("like `{flag} {}=42`", attr.name),
            }),
        },
        ScalarType::B => Err(Usage {
            message: format!("`{}` is a binary key (B)", attr.name),
            help: "binary keys cannot be given on the command line; use the AWS CLI".into(),
        }),
    }
}

/// What to suggest when `attr` is not the partition key asked for: an index whose
/// partition key it is, if there is one.
fn hint_for(keys: &TableKeys, attr: &str, hash: &str) -> String {
    if keys.primary.hash.name == attr {
        return format!("`{attr}` is the table's partition key: leave out `--index`");
    }
    if let Some((index, _)) = keys.indexes.iter().find(|(_, k)| k.hash.name == attr) {
        return format!("`{attr}` is the partition key of index `{index}`: add `--index {index}`");
    }
    format!("like `--key {hash}=VALUE`; `--begins-with` narrows the sort key")
}
