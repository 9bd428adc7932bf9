//! `status`: what `list-tables` was for, across every kind: each declared resource with its
//! AWS name, the state AWS reports, whether it matches the file (from the same refresh and
//! plan as `plan`), and facts worth a glance: a table's approximate item count and its
//! stream's status from the Streams API, a DAX cluster's endpoint. Makes no write call.

use std::io::{self, Write};

use super::{CommandError, open, refresh};
use crate::cli::{GlobalArgs, StatusArgs};
use crate::plan::{self, Action, Mode};
use crate::render::human;
use crate::render::status::{self, Row, Sync};
use crate::resources::{self, Kind};

/// Runs `status`.
pub async fn run(global: &GlobalArgs, args: &StatusArgs) -> Result<(), CommandError> {
    let mut session = open(global, &args.env).await?;
    let live = refresh(&mut session, Mode::Converge).await?;
    // A plan that refuses (a same-named table made by hand, say) still lists what exists;
    // its errors follow the list and the exit code is 1.
    let planned = plan::plan(&session.stack, &live, &session.ctx, Mode::Converge);
    let changes = planned.as_ref().map(|p| p.changes.as_slice()).ok();
    let mut rows = Vec::new();
    for (address, enabled, _) in resources::declared_resources(&session.stack) {
        // Mappings and endpoints have no name of their own; their facts carry their ids.
        let name = resources::aws_name(&session.stack, &address)
            .unwrap_or("-")
            .to_string();
        let mut facts = resources::live_facts(&live, &address);
        let state = if facts.first().is_some_and(|(k, _)| *k == "state") {
            facts.remove(0).1
        } else {
            "missing".to_string()
        };
        let change = changes.and_then(|c| c.iter().find(|c| c.address == address && !c.stray));
        let sync = match (enabled, change.map(|c| &c.action)) {
            (true, _) if changes.is_none() => Sync::Unknown,
            (false, _) => Sync::Disabled {
                exists: state != "missing",
            },
            (true, Some(Action::Create)) => Sync::Missing,
            (true, Some(Action::Update | Action::Replace { .. })) => Sync::Differs(
                change
                    .map(|c| c.diffs.iter().map(|d| d.path.clone()).collect())
                    .unwrap_or_default(),
            ),
            (true, _) => Sync::Matches,
        };
        // The stream's own status comes from the Streams API: ENABLING right after a
        // view-type change, ENABLED once a mapping can read it.
        if address.kind == Kind::Table
            && state != "missing"
            && let Some(stream) = crate::data::aws::stream::current(&session.aws, &name).await?
            && let Some(fact) = facts.iter_mut().find(|(k, _)| *k == "stream")
        {
            fact.1 = format!("{} ({})", stream.view, stream.status);
        }
        rows.push(Row {
            address: address.to_string(),
            name,
            state,
            sync,
            facts,
        });
    }
    let mut out = io::stdout().lock();
    if args.json {
        writeln!(
            out,
            "{}",
            status::json(&session.header.stack, &session.header.environment, &rows)
        )?;
    } else {
        human::header(&mut out, &session.header, session.out)?;
        out.write_all(status::text(&rows).as_bytes())?;
    }
    planned.map(|_| ()).map_err(CommandError::Plan)
}
