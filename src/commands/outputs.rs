//! `outputs [ENV] [ADDRESS.ATTR] [--json]`: what people copy into their application's
//! settings (table and stream ARNs, index names, function and role ARNs, the endpoint id,
//! the DAX endpoint), from the same refresh as `status`, through each kind's
//! `Resource::outputs`. With `ADDRESS.ATTR` (`table.messages.stream_arn`) it prints that
//! one value bare, for scripts: `export DDB_STREAM=$(cruddur-infra outputs prod
//! table.messages.stream_arn)`. Makes no write call.
//!
//! Attribute names are the ones `${…}` references use where both exist (`arn`, `name`,
//! `stream_arn`, `endpoint`), so a script and the stack file ask for one value by one name.

use std::io::{self, Write};

use super::{CommandError, open, refresh};
use crate::cli::{GlobalArgs, OutputsArgs};
use crate::data::Usage;
use crate::plan::Mode;
use crate::render::human;
use crate::render::outputs::{self, Block, Presence};
use crate::resources;

/// What the command line asks for, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The environment to read.
    pub env: String,
    /// One value to print bare; `None`: every output.
    pub value: Option<Wanted>,
    /// Every output as one JSON document.
    pub json: bool,
}

/// One value asked for by `ADDRESS.ATTR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The resource's address, like `table.messages`.
    pub address: String,
    /// The attribute, like `stream_arn`.
    pub attr: String,
}

/// Reads `[ENV] [ADDRESS.ATTR]` and `--json`. One argument is the value when it holds a
/// `.` (environment names never do: they are logical names, letters, digits, `_` and `-`),
/// the environment otherwise; with none, the environment is `local`.
pub fn request(target: &[String], json: bool) -> Result<Request, Usage> {
    let (env, value) = match target {
        [] => ("local", None),
        [one] if one.contains('.') => ("local", Some(one.as_str())),
        [env] => (env.as_str(), None),
        [env, value, ..] => (env.as_str(), Some(value.as_str())),
    };
    if env.contains('.') {
        return Err(Usage {
            message: format!("`{env}` is not an environment"),
            help: format!(
                "the environment comes first: `cruddur-infra outputs <ENV> {env}`, like `outputs prod {env}`"
            ),
        });
    }
    let value = value.map(wanted).transpose()?;
    if json && let Some(w) = &value {
        return Err(Usage {
            message: format!(
                "`--json` prints every output, and `{}.{}` asks for one",
                w.address, w.attr
            ),
            help: "drop `--json` to print the one value bare, or the value to print all of them as JSON".into(),
        });
    }
    Ok(Request {
        env: env.to_string(),
        value,
        json,
    })
}

/// `kind.name.attr`, split into address and attribute.
fn wanted(text: &str) -> Result<Wanted, Usage> {
    let split = text.rsplit_once('.').filter(|(address, attr)| {
        !attr.is_empty()
            && address.split_once('.').is_some_and(|(kind, name)| {
                !kind.is_empty() && !name.is_empty() && !name.contains('.')
            })
    });
    let Some((address, attr)) = split else {
        return Err(Usage {
            message: format!("`{text}` is not an `ADDRESS.ATTR`"),
            help:
                "name a resource's address and one of its outputs, like `table.messages.stream_arn`"
                    .into(),
        });
    };
    Ok(Wanted {
        address: address.to_string(),
        attr: attr.to_string(),
    })
}

/// Checks that `address` is declared and enabled in `env`, before any AWS call: `declared`
/// are every declared address with whether it is enabled.
fn check_declared(declared: &[(String, bool)], address: &str, env: &str) -> Result<(), Usage> {
    match declared.iter().find(|(a, _)| a == address) {
        None => {
            let list: Vec<&str> = declared.iter().map(|(a, _)| a.as_str()).collect();
            Err(Usage {
                message: format!("the stack declares no `{address}`"),
                help: if list.is_empty() {
                    format!("the stack declares no resources in environment `{env}`")
                } else {
                    format!("its resources: {}", list.join(", "))
                },
            })
        }
        Some((_, false)) => Err(Usage {
            message: format!(
                "{address} is disabled in environment `{env}`, so it has no outputs there"
            ),
            help: format!("enable it there with `enable: [{address}]`"),
        }),
        Some((_, true)) => Ok(()),
    }
}

/// The value `w` asks for, from what refresh read.
fn value<'b>(blocks: &'b [Block], w: &Wanted, env: &str) -> Result<&'b str, Usage> {
    let declared: Vec<(String, bool)> = blocks
        .iter()
        .map(|b| (b.address.clone(), b.presence != Presence::Disabled))
        .collect();
    check_declared(&declared, &w.address, env)?;
    let presence = blocks
        .iter()
        .find(|b| b.address == w.address)
        .map_or(&Presence::Missing, |b| &b.presence);
    let Presence::Exists(values) = presence else {
        return Err(Usage {
            message: format!("{} does not exist yet in environment `{env}`", w.address),
            help: format!("run `cruddur-infra apply {env}` first"),
        });
    };
    values
        .iter()
        .find(|(k, _)| *k == w.attr)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| {
            let names: Vec<&str> = values.iter().map(|(k, _)| *k).collect();
            Usage {
                message: format!("{} has no output `{}`", w.address, w.attr),
                help: format!("its outputs: {}", names.join(", ")),
            }
        })
}

/// Runs `outputs`.
pub async fn run(global: &GlobalArgs, args: &OutputsArgs) -> Result<(), CommandError> {
    let request = request(&args.target, args.json)?;
    let mut session = open(global, &request.env).await?;
    let declared = resources::declared_resources(&session.stack);
    if let Some(w) = &request.value {
        // A mistyped address is reported before any AWS call.
        let names: Vec<(String, bool)> = declared
            .iter()
            .map(|(a, enabled, _)| (a.to_string(), *enabled))
            .collect();
        check_declared(&names, &w.address, &request.env)?;
    }
    let live = refresh(&mut session, Mode::Converge).await?;
    let blocks: Vec<Block> = declared
        .iter()
        .map(|(address, enabled, _)| {
            let values = resources::live_outputs(&live, address);
            let presence = match (*enabled, values.is_empty()) {
                (false, _) => Presence::Disabled,
                (true, true) => Presence::Missing,
                (true, false) => Presence::Exists(values),
            };
            Block {
                address: address.to_string(),
                presence,
            }
        })
        .collect();
    let mut out = io::stdout().lock();
    if let Some(w) = &request.value {
        // Only the value and a newline: `$(…)` takes it as it is.
        writeln!(out, "{}", value(&blocks, w, &request.env)?)?;
    } else if request.json {
        writeln!(
            out,
            "{}",
            outputs::json(&session.header.stack, &session.header.environment, &blocks)
        )?;
    } else {
        human::header(&mut out, &session.header, session.out)?;
        out.write_all(outputs::text(&request.env, &blocks).as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::resources::dynamodb_table::tests::{live, seed};
    use crate::resources::{Address, LiveState};

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn one_argument_with_a_dot_is_a_value_in_local_and_without_one_an_environment() {
        assert_eq!(
            request(&args(&[]), false).unwrap(),
            Request {
                env: "local".into(),
                value: None,
                json: false
            }
        );
        assert_eq!(request(&args(&["prod"]), true).unwrap().env, "prod");
        let one = request(&args(&["table.messages.stream_arn"]), false).unwrap();
        assert_eq!(one.env, "local");
        assert_eq!(
            one.value,
            Some(Wanted {
                address: "table.messages".into(),
                attr: "stream_arn".into()
            })
        );
        let two = request(&args(&["prod", "role.messaging_stream.arn"]), false).unwrap();
        assert_eq!(two.env, "prod");
        assert_eq!(two.value.unwrap().address, "role.messaging_stream");
    }

    #[test]
    fn the_command_line_takes_up_to_two_positionals_and_json() {
        use clap::Parser as _;
        let parse = |line: &[&str]| {
            let cli = crate::cli::Cli::try_parse_from(line).expect("parses");
            let crate::cli::Command::Outputs(a) = cli.command else {
                panic!("not outputs: {cli:?}")
            };
            request(&a.target, a.json)
        };
        let all = parse(&["cruddur-infra", "outputs", "prod", "--json"]).unwrap();
        assert_eq!((all.env.as_str(), all.json), ("prod", true));
        let one = parse(&["cruddur-infra", "outputs", "table.messages.stream_arn"]).unwrap();
        assert_eq!(one.env, "local");
        assert_eq!(one.value.unwrap().attr, "stream_arn");
        assert!(
            crate::cli::Cli::try_parse_from(["cruddur-infra", "outputs", "a", "b", "c"]).is_err()
        );
    }

    #[test]
    fn misplaced_or_malformed_values_and_json_with_a_value_are_refused() {
        let e = request(&args(&["table.messages.arn", "prod"]), false).unwrap_err();
        assert!(e.help.contains("the environment comes first"), "{e}");
        for bad in [
            "table.messages",
            "table.messages.",
            ".messages.arn",
            "a.b.c.d",
        ] {
            let e = request(&args(&[bad]), false).unwrap_err();
            assert!(e.message.contains("is not an `ADDRESS.ATTR`"), "{bad}: {e}");
        }
        let e = request(&args(&["table.messages.arn"]), true).unwrap_err();
        assert!(e.message.contains("`--json` prints every output"), "{e}");
    }

    fn blocks() -> Vec<Block> {
        vec![
            Block {
                address: "table.messages".into(),
                presence: Presence::Exists(vec![
                    ("arn", "arn:t".into()),
                    ("stream_arn", "arn:s".into()),
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

    fn wanted(address: &str, attr: &str) -> Wanted {
        Wanted {
            address: address.into(),
            attr: attr.into(),
        }
    }

    #[test]
    fn a_value_is_found_or_the_error_says_what_there_is() {
        let b = blocks();
        assert_eq!(
            value(&b, &wanted("table.messages", "stream_arn"), "local"),
            Ok("arn:s")
        );
        let e = value(&b, &wanted("table.nope", "arn"), "local").unwrap_err();
        assert_eq!(e.message, "the stack declares no `table.nope`");
        assert_eq!(
            e.help,
            "its resources: table.messages, role.dax, function.messaging_stream"
        );
        let e = value(&b, &wanted("table.messages", "endpoint"), "local").unwrap_err();
        assert_eq!(e.message, "table.messages has no output `endpoint`");
        assert_eq!(e.help, "its outputs: arn, stream_arn");
        let e = value(&b, &wanted("function.messaging_stream", "arn"), "prod").unwrap_err();
        assert_eq!(e.help, "run `cruddur-infra apply prod` first");
        let e = value(&b, &wanted("role.dax", "arn"), "local").unwrap_err();
        assert!(
            e.message.contains("is disabled in environment `local`"),
            "{e}"
        );
    }

    #[test]
    fn a_tables_outputs_use_the_reference_names_and_list_its_indexes() {
        let address = Address::table("messages");
        let mut state = LiveState {
            tables: BTreeMap::from([(address.clone(), Some(live(seed())))]),
            ..LiveState::default()
        };
        assert_eq!(
            resources::live_outputs(&state, &address),
            vec![
                ("name", "cruddur-messages".to_string()),
                (
                    "arn",
                    "arn:aws:dynamodb:ca-central-1:123456789012:table/cruddur-messages".to_string()
                ),
                ("stream_arn", "arn:stream/1".to_string()),
                ("indexes", "message-group-sk-index".to_string()),
            ]
        );
        // No table: no outputs, which `outputs` shows as missing.
        state.tables.insert(address.clone(), None);
        assert!(resources::live_outputs(&state, &address).is_empty());
        // Not read at all (another kind's address): none either.
        assert!(resources::live_outputs(&state, &Address::table("other")).is_empty());
    }
}
