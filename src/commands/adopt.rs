//! `adopt [ENV] ADDRESS`: take over a resource made outside the tool (the table made by
//! hand in week 5). Shows what the next `apply` would change once it is owned, asks, then
//! adds the ownership tag (or, where nothing can be tagged, writes the ownership record).
//! Never takes a resource owned by another stack.

use std::io::{self, Write};

use super::{CommandError, StderrEvents, confirm, open, refresh};
use crate::aws::Api;
use crate::cli::{AdoptArgs, GlobalArgs};
use crate::plan::{self, Mode, Plan};
use crate::render::human;
use crate::resources::{Address, Adoption, Kind, OWNER_TAG};

/// The address `kind.name`, for a kind that addresses name.
fn parse_address(text: &str) -> Option<Address> {
    let (kind, name) = text.split_once('.')?;
    Some(Address::new(Kind::from_address(kind)?, name))
}

/// Runs `adopt`.
pub async fn run(global: &GlobalArgs, args: &AdoptArgs) -> Result<(), CommandError> {
    let (env, text) = args.env_and_address();
    let address = parse_address(text).ok_or_else(|| {
        CommandError::Refused(format!(
            "`{text}` is not an address that can be adopted\n  help: use the address the stack file declares, `<kind>.<name>`, like `table.messages` (mappings and log groups belong to their function)"
        ))
    })?;
    let mut session = open(global, env).await?;
    // A disabled resource is one the stack owns and does not want in this environment: the
    // next apply deletes it. Adopting a hand-made one would hand it to that deletion.
    if crate::resources::declared_resources(&session.stack)
        .iter()
        .any(|(a, enabled, _)| *a == address && !enabled)
    {
        return Err(CommandError::Refused(format!(
            "{address} is disabled in environment `{env}`, so adopting it would let the next `apply` delete it; nothing was changed\n  help: enable it for `{env}` first (`enabled: true`, or `enable: [{address}]` under the environment), then adopt it"
        )));
    }
    let mut live = refresh(&mut session, Mode::Converge).await?;
    let mut out = io::stdout().lock();
    human::header(&mut out, &session.header, session.out)?;
    let stack = session.stack.name.clone();
    let missing = || {
        CommandError::Refused(format!(
            "{address} is not declared in the stack file\n  help: declare it first, with the name the existing resource has"
        ))
    };
    // Who owns it now, and its identity for tagging.
    let (owner, target) = match crate::resources::adopt(&mut live, &address, &stack) {
        None => return Err(missing()),
        Some(Adoption::Found { owner, target }) => (owner, target),
        Some(Adoption::Missing) => {
            return Err(CommandError::Refused(format!(
                "{address} does not exist in AWS: `apply` creates it"
            )));
        }
        Some(Adoption::NotAdoptable) => {
            return Err(CommandError::Refused(format!(
                "{address} belongs to its function and cannot be adopted on its own"
            )));
        }
    };
    match owner.as_deref() {
        // A kind whose strays are found from ownership records (roles) may be owned by
        // its tag alone, from before records were kept: write the record, so that it is
        // found once it is no longer declared. Both writes are idempotent.
        Some(o) if o == stack && crate::resources::record_stray_kinds().contains(&address.kind) => {
            let sink = StderrEvents(session.err);
            let api = Api::new(&session.aws, &address, &sink);
            crate::resources::tag_owned(api, address.kind, &target, &stack).await?;
            writeln!(
                out,
                "\n{address} is already owned by stack `{stack}`; its ownership record in `{}` is written.",
                crate::lock::TABLE
            )?;
            return Ok(());
        }
        Some(o) if o == stack => {
            writeln!(
                out,
                "\n{address} is already owned by stack `{stack}`; nothing to do."
            )?;
            return Ok(());
        }
        Some(other) => {
            return Err(CommandError::Refused(format!(
                "{address} is owned by stack `{other}`; a resource owned by another stack is never taken over\n  help: destroy it from that stack, or remove it from that stack's file and adopt it after untagging it by hand"
            )));
        }
        None => {}
    }
    let plan = plan::plan(&session.stack, &live, &session.ctx, Mode::Converge)
        .map_err(CommandError::Plan)?;
    let own = Plan {
        changes: plan
            .changes
            .into_iter()
            .filter(|c| c.address == address)
            .collect(),
        ..plan
    };
    writeln!(
        out,
        "\n{address} exists and no stack owns it. Once adopted, the next `apply` will:"
    )?;
    human::plan(&mut out, &own, session.out)?;
    out.flush()?;
    // Where nothing can be tagged, the ownership record stands in for the tag.
    let how = if session.aws.engine.can_tag() {
        format!("adds the tag `{OWNER_TAG}={stack}`")
    } else {
        format!(
            "{} cannot tag: writes an ownership record in `{}`",
            session.aws.engine.display_name(),
            crate::lock::TABLE
        )
    };
    confirm(
        args.yes,
        &format!("Adopt {address} into stack `{stack}` ({how})?"),
    )?;
    let sink = StderrEvents(session.err);
    let api = Api::new(&session.aws, &address, &sink);
    crate::resources::tag_owned(api, address.kind, &target, &stack).await?;
    api.reporter.step(if session.aws.engine.can_tag() {
        "tagged"
    } else {
        "ownership record written"
    });
    writeln!(
        out,
        "\nAdopted {address}: it is now owned by stack `{stack}` ({how})."
    )?;
    Ok(())
}
