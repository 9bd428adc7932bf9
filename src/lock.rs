//! The apply lock: one apply or destroy per stack and environment at a time, held in
//! `DynamoDB` itself with a lease, so a crashed run never needs a manual unlock.
//!
//! The lock is a conditional `PutItem` into `cruddur-infra-locks` (created on first use,
//! never tagged as part of a stack, so plans ignore it): it succeeds when no item exists or
//! the existing lease has lapsed. The holder renews the lease while it works and deletes the
//! item when done.
//!
//! The item also names the holder's process (host, boot, pid and the pid's start time). A
//! run that finds the lock held by a process of this host that is gone (SIGKILL, a crash, a
//! closed terminal) takes it over at once instead of waiting out the lease: nothing can
//! still be working under it. A holder on another host keeps the lease rule, since its
//! liveness cannot be seen from here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, Tag,
};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::aws::AwsError;

/// The lock table's name.
pub const TABLE: &str = "cruddur-infra-locks";

/// A lease: how long a lock lives without renewal. `CRUDDUR_INFRA_LOCK_LEASE_SECONDS`
/// shortens it (tests of crashed holders).
#[must_use]
pub fn lease() -> Duration {
    std::env::var("CRUDDUR_INFRA_LOCK_LEASE_SECONDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(Duration::from_mins(1), Duration::from_secs)
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds it.
    #[error("stack `{id}` is locked by {holder} (lease ends in {}s)\n  help: wait for that run to finish, or pass --lock-timeout 120s to wait for it; a crashed run's lock lapses by itself", expires_in.as_secs())]
    Held {
        /// `stack/env`.
        id: String,
        /// Who holds it.
        holder: String,
        /// Time left on the lease.
        expires_in: Duration,
    },
    /// AWS failed.
    #[error("{0}")]
    Aws(#[from] AwsError),
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map_or_else(|_| "this machine".into(), |h| h.trim().to_string())
}

fn me() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".into());
    format!("{user}@{} (pid {})", host(), std::process::id())
}

/// Which running process holds a lock: the host, the boot (`/proc/sys/kernel/random/boot_id`,
/// so a reboot is told apart), the PID namespace (`/proc/self/ns/pid`, so a container sharing
/// the host's name and kernel is told apart), the pid, and the pid's start time (field 22 of
/// `/proc/<pid>/stat`, clock ticks since boot, so a reused pid is told apart). Known on Linux
/// only; elsewhere a holder is never presumed dead and the lease rule alone applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// `/etc/hostname`.
    pub host: String,
    /// The kernel's boot id and the PID namespace, `<boot>/<pid:[ns]>`.
    pub boot: String,
    /// The process id.
    pub pid: u32,
    /// The process's start time, in clock ticks since boot.
    pub started: u64,
}

impl Process {
    /// This process, when `/proc` can say.
    #[must_use]
    pub fn current() -> Option<Self> {
        let pid = std::process::id();
        Some(Self {
            host: host(),
            boot: boot_id()?,
            pid,
            started: start_time(pid)?,
        })
    }

    /// Whether this holder is certainly gone: it ran on this host, in this boot and PID
    /// namespace, and its pid no longer exists or now belongs to a process started at
    /// another time. A pid whose `/proc` entry exists but cannot be read (`hidepid`) is
    /// presumed alive.
    #[must_use]
    pub fn is_gone_here(&self) -> bool {
        let Some(here) = Self::current() else {
            return false;
        };
        if self.host != here.host || self.boot != here.boot {
            return false;
        }
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
            Ok(stat) => parse_start_time(&stat).is_some_and(|t| t != self.started),
        }
    }
}

/// The boot id and the PID namespace: a pid means one process only within both.
fn boot_id() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())?;
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{boot}/{}", ns.display()))
}

/// Field 22 of `/proc/<pid>/stat`; the command name (field 2) may hold spaces and
/// parentheses, so fields are counted after its last `)`.
fn start_time(pid: u32) -> Option<u64> {
    parse_start_time(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn parse_start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The holder's process, from the lock item's attributes (absent on items written by
/// earlier versions: such a holder is never presumed dead).
fn process_of(item: &std::collections::HashMap<String, AttributeValue>) -> Option<Process> {
    let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let n = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
    };
    Some(Process {
        host: s("host")?,
        boot: s("boot")?,
        pid: u32::try_from(n("pid")?).ok()?,
        started: n("started")?,
    })
}

/// Creates the lock table if it does not exist, and waits until it is ACTIVE. Ownership
/// records (`crate::ownership`) live in it too, so their first write creates it as well.
pub(crate) async fn ensure_table(client: &Client) -> Result<(), AwsError> {
    match client.describe_table().table_name(TABLE).send().await {
        Ok(out)
            if out
                .table()
                .and_then(|t| t.table_status())
                .is_some_and(|s| s.as_str() == "ACTIVE") =>
        {
            return Ok(());
        }
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(aws_sdk_dynamodb::operation::describe_table::DescribeTableError::is_resource_not_found_exception) =>
        {
            let built = |e: aws_sdk_dynamodb::error::BuildError| AwsError::Unexpected {
                op: "CreateTable",
                address: TABLE.into(),
                message: e.to_string(),
            };
            let created = client
                .create_table()
                .table_name(TABLE)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name("pk")
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(built)?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("pk")
                        .key_type(KeyType::Hash)
                        .build()
                        .map_err(built)?,
                )
                .billing_mode(BillingMode::PayPerRequest)
                .tags(
                    Tag::builder()
                        .key("cruddur-infra:purpose")
                        .value("lock")
                        .build()
                        .map_err(built)?,
                )
                .send()
                .await;
            match created {
                Ok(_) => {}
                // Another run created it at the same moment.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(aws_sdk_dynamodb::operation::create_table::CreateTableError::is_resource_in_use_exception) => {}
                Err(e) => return Err(AwsError::call("CreateTable", TABLE, &e, false)),
            }
        }
        Err(e) => return Err(AwsError::call("DescribeTable", TABLE, &e, false)),
    }
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let active = match client.describe_table().table_name(TABLE).send().await {
            Ok(out) => out
                .table()
                .and_then(|t| t.table_status())
                .is_some_and(|s| s.as_str() == "ACTIVE"),
            // Right after CreateTable, DescribeTable may not know the table yet: pending.
            Err(e)
                if e.as_service_error()
                    .is_some_and(aws_sdk_dynamodb::operation::describe_table::DescribeTableError::is_resource_not_found_exception) =>
            {
                false
            }
            Err(e) => return Err(AwsError::call("DescribeTable", TABLE, &e, false)),
        };
        if active {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(AwsError::Timeout {
                address: TABLE.into(),
                what: "creating the lock table".into(),
                state: "CREATING".into(),
                waited: Duration::from_mins(2),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A held lock; renewed in the background until released.
pub struct Guard {
    client: Client,
    id: String,
    holder: String,
    renewal: JoinHandle<()>,
    /// The holder whose lock this run took over because its process is gone.
    pub took_over: Option<String>,
}

/// Why a put did not take the lock: who holds it, until when, and their process.
struct Busy {
    holder: String,
    expires: u64,
    process: Option<Process>,
}

/// One conditional put of the lock item: it succeeds when there is no item, the lease has
/// lapsed, or the item is `dead`'s (a holder on this host whose process is gone).
async fn try_put(
    client: &Client,
    id: &str,
    holder: &str,
    lease: Duration,
    dead: Option<&Busy>,
) -> Result<Result<(), Busy>, AwsError> {
    let t = now();
    let mut put = client
        .put_item()
        .table_name(TABLE)
        .item("pk", AttributeValue::S(id.into()))
        .item("holder", AttributeValue::S(holder.into()))
        .item(
            "expires_at",
            AttributeValue::N((t + lease.as_secs()).to_string()),
        )
        .expression_attribute_values(":now", AttributeValue::N(t.to_string()));
    if let Some(p) = Process::current() {
        put = put
            .item("host", AttributeValue::S(p.host))
            .item("boot", AttributeValue::S(p.boot))
            .item("pid", AttributeValue::N(p.pid.to_string()))
            .item("started", AttributeValue::N(p.started.to_string()));
    }
    put = match dead {
        // Only that holder's item is replaced: if anyone else took the lock meanwhile, the
        // condition fails and the usual wait applies.
        // The dead process exactly: a new holder with a reused pid has another start time.
        Some(Busy {
            holder: dead,
            process: Some(p),
            ..
        }) => put
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at < :now OR (holder = :dead AND started = :started AND boot = :boot)",
            )
            .expression_attribute_values(":dead", AttributeValue::S(dead.clone()))
            .expression_attribute_values(":started", AttributeValue::N(p.started.to_string()))
            .expression_attribute_values(":boot", AttributeValue::S(p.boot.clone())),
        Some(_) | None => put.condition_expression("attribute_not_exists(pk) OR expires_at < :now"),
    };
    let put = put.send().await;
    match put {
        Ok(_) => Ok(Ok(())),
        Err(e)
            if e.as_service_error()
                .is_some_and(aws_sdk_dynamodb::operation::put_item::PutItemError::is_conditional_check_failed_exception) =>
        {
            let item = client
                .get_item()
                .table_name(TABLE)
                .key("pk", AttributeValue::S(id.into()))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| AwsError::call("GetItem", TABLE, &e, false))?;
            let item = item.item.unwrap_or_default();
            let other = item
                .get("holder")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_else(|| "another run".into());
            let expires = item
                .get("expires_at")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(t);
            // A retried put whose first answer was lost finds our own lock: the same holder
            // and, where /proc tells, the same process (not a reused pid's).
            let process = process_of(&item);
            if other == holder
                && (process.is_none() || process == Process::current())
            {
                return Ok(Ok(()));
            }
            Ok(Err(Busy {
                holder: other,
                expires,
                process,
            }))
        }
        Err(e) => Err(AwsError::call("PutItem", TABLE, &e, true)),
    }
}

/// Takes the lock for `stack/env`, waiting up to `wait` for its holder. A holder on this
/// host whose process is gone (crashed, killed) is taken over at once, with a note in
/// `Guard::took_over`; a holder elsewhere keeps its lease.
pub async fn acquire(
    client: &Client,
    stack: &str,
    env: &str,
    wait: Duration,
) -> Result<Guard, LockError> {
    let id = format!("{stack}/{env}");
    let holder = me();
    let lease = lease();
    let deadline = Instant::now() + wait;
    // Put first: the table exists on every run but the first, which creates it.
    let first = match try_put(client, &id, &holder, lease, None).await {
        Err(AwsError::Call {
            code: Some(code), ..
        }) if code == "ResourceNotFoundException" => {
            ensure_table(client).await?;
            try_put(client, &id, &holder, lease, None).await?
        }
        other => other?,
    };
    let mut attempt = Some(first);
    let mut took_over = None;
    loop {
        let result = match attempt.take() {
            Some(r) => r,
            None => try_put(client, &id, &holder, lease, None).await?,
        };
        match result {
            Ok(()) => break,
            Err(busy) if busy.process.as_ref().is_some_and(Process::is_gone_here) => {
                match try_put(client, &id, &holder, lease, Some(&busy)).await? {
                    Ok(()) => {
                        took_over = Some(busy.holder);
                        break;
                    }
                    // Someone else took it first: wait for them as usual.
                    Err(other) => attempt = Some(Err(other)),
                }
            }
            Err(busy) if Instant::now() >= deadline => {
                return Err(LockError::Held {
                    id,
                    holder: busy.holder,
                    expires_in: Duration::from_secs(busy.expires.saturating_sub(now())),
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
    let (c, i, h) = (client.clone(), id.clone(), holder.clone());
    let renewal = tokio::spawn(async move {
        loop {
            tokio::time::sleep(lease / 3).await;
            // Renewal is best effort; a failure shows up as a lapsed lease for others.
            let _ = c
                .update_item()
                .table_name(TABLE)
                .key("pk", AttributeValue::S(i.clone()))
                .update_expression("SET expires_at = :e")
                .condition_expression("holder = :me")
                .expression_attribute_values(
                    ":e",
                    AttributeValue::N((now() + lease.as_secs()).to_string()),
                )
                .expression_attribute_values(":me", AttributeValue::S(h.clone()))
                .send()
                .await;
        }
    });
    Ok(Guard {
        client: client.clone(),
        id,
        holder,
        renewal,
        took_over,
    })
}

impl Guard {
    /// Releases the lock (only if still ours).
    pub async fn release(self) {
        self.renewal.abort();
        let _ = self
            .client
            .delete_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(self.id.clone()))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", AttributeValue::S(self.holder.clone()))
            .send()
            .await;
    }
}

/// Parses `--lock-timeout`: `90`, `90s`, `2m`.
pub fn parse_wait(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.trim().split_at(
        s.trim()
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(s.trim().len()),
    );
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like `90s` or `2m`"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("`{s}` is not a duration like `90s` or `2m`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_or_reused_pid_is_gone() {
        let me = Process::current().expect("/proc is readable on Linux");
        assert!(!me.is_gone_here(), "this process is running");
        let reused = Process {
            started: me.started + 1,
            ..me.clone()
        };
        assert!(
            reused.is_gone_here(),
            "same pid, another start time: a reused pid"
        );
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let pid = child.id();
        let started = start_time(pid);
        child.wait().expect("wait");
        if let Some(started) = started {
            let dead = Process {
                pid,
                started,
                ..me.clone()
            };
            assert!(dead.is_gone_here(), "an exited child is gone");
        }
        let elsewhere = Process {
            host: format!("{}-elsewhere", me.host),
            started: me.started + 1,
            ..me.clone()
        };
        assert!(
            !elsewhere.is_gone_here(),
            "another host keeps the lease rule"
        );
        let other_boot = Process {
            boot: "another-boot".into(),
            started: me.started + 1,
            ..me
        };
        assert!(!other_boot.is_gone_here());
    }

    #[test]
    fn lock_timeouts_parse() {
        assert_eq!(parse_wait("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_wait("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_wait("2m").unwrap(), Duration::from_mins(2));
        assert!(parse_wait("soon").is_err());
        assert!(parse_wait("5h").is_err());
    }

    #[tokio::test]
    async fn the_lock_tables_first_use_waits_out_not_found_right_after_create() {
        // Guards issue 8.10: DescribeTable right after CreateTable may answer
        // ResourceNotFound; the first run in an account failed on it.
        use aws_sdk_dynamodb::operation::create_table::CreateTableOutput;
        use aws_sdk_dynamodb::operation::describe_table::{
            DescribeTableError, DescribeTableOutput,
        };
        use aws_sdk_dynamodb::types::error::ResourceNotFoundException;
        use aws_sdk_dynamodb::types::{TableDescription, TableStatus};
        use aws_smithy_mocks::{RuleMode, mock};
        let not_found = || {
            DescribeTableError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("Requested resource not found: Table: cruddur-infra-locks not found")
                    .build(),
            )
        };
        let rules = [
            mock!(Client::describe_table).then_error(not_found),
            mock!(Client::create_table)
                .match_requests(|r| r.table_name() == Some(TABLE))
                .then_output(|| CreateTableOutput::builder().build()),
            mock!(Client::describe_table).then_error(not_found),
            mock!(Client::describe_table).then_output(|| {
                DescribeTableOutput::builder()
                    .table(
                        TableDescription::builder()
                            .table_name(TABLE)
                            .table_status(TableStatus::Active)
                            .build(),
                    )
                    .build()
            }),
        ];
        let client =
            crate::testing::mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, &rules);
        ensure_table(&client)
            .await
            .expect("the lock table is ready");
        assert!(rules.iter().all(|r| r.num_calls() == 1));
    }
}
