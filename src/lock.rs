//! The apply lock: one apply or destroy per stack and environment at a time, held in
//! `DynamoDB` itself with a lease, so a crashed run never needs a manual unlock.
//!
//! The lock is an item in `cruddur-infra-locks` (created on first use, never tagged as part
//! of a stack, so plans ignore it), put only where none exists. Like AWS's own `DynamoDB`
//! lock client, the lease involves no wall clock: the holder changes the item's `version`
//! every third of a lease, and a waiter takes the lock over only after it has seen the same
//! version, unchanged, for a whole lease, timed on its own monotonic clock. Machines whose
//! clocks disagree by minutes therefore never hold the lock at once, and a crashed holder
//! elsewhere is taken over after one lease, without a manual unlock.
//!
//! A holder cannot tell from a timer that it lost the lock (a monotonic clock stops while a
//! laptop sleeps), so before each change it proves it still holds it: a fence, the same
//! conditional write as a renewal, on its run id and the version it last wrote. If that
//! fails, it starts nothing more.
//!
//! The item also names the holder's process (host, boot, pid and the pid's start time). A
//! run that finds the lock held by a process of this host that is gone (SIGKILL, a crash, a
//! closed terminal) takes it over at once instead of watching it for a lease: nothing can
//! still be working under it. Whether it is gone is asked of the kernel (`kill(pid, 0)`),
//! not read from `/proc`, which `hidepid` hides for other users' live processes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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

/// A lease: how long a holder may go without renewing before a waiter takes the lock
/// over. `CRUDDUR_INFRA_LOCK_LEASE_SECONDS` shortens it (tests of crashed holders).
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
    /// Someone else holds it, and renewed it while this run watched.
    #[error("stack `{id}` is locked by {holder}, which renewed it while this run waited {}s\n  help: wait for that run to finish, or pass --lock-timeout 120s to wait longer; a crashed run's lock is taken over after one lease ({}s) unrenewed", waited.as_secs(), lease.as_secs())]
    Held {
        /// `stack/env`.
        id: String,
        /// Who holds it.
        holder: String,
        /// How long this run watched it.
        waited: Duration,
        /// The holder's lease.
        lease: Duration,
    },
    /// AWS failed.
    #[error("{0}")]
    Aws(#[from] AwsError),
}

/// Why a holder stopped: it could not prove it still holds the lock.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Lost(pub String);

/// How this run came to hold a lock someone else held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Takeover {
    /// The holder ran on this host and its process is gone.
    Gone,
    /// The holder did not renew its lease for a whole lease.
    Lapsed(Duration),
}

impl std::fmt::Display for Takeover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Takeover::Gone => f.write_str("that process is no longer running on this host"),
            Takeover::Lapsed(lease) => write!(
                f,
                "it was not renewed for a whole lease ({}s): that run crashed or lost its connection",
                lease.as_secs()
            ),
        }
    }
}

fn host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map_or_else(|_| "this machine".into(), |h| h.trim().to_string())
}

fn me() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".into());
    format!("{user}@{} (pid {})", host(), std::process::id())
}

/// A token no other run has: the run id, and each version the holder writes.
fn token() -> String {
    format!("{:016x}", fastrand::u64(..))
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

/// What the kernel says of a pid: whether a process has it (`kill(pid, 0)`, which is
/// `ESRCH` only when none has; `EPERM`, another user's live process, is alive), and its
/// `/proc/<pid>/stat` (hidden for other users' processes under `hidepid`).
pub trait Kernel {
    /// Whether some process has this pid.
    fn exists(&self, pid: u32) -> bool;
    /// The text of `/proc/<pid>/stat`.
    fn stat(&self, pid: u32) -> std::io::Result<String>;
}

/// The running kernel.
pub struct Host;

impl Kernel for Host {
    fn exists(&self, pid: u32) -> bool {
        let Ok(pid) = i32::try_from(pid) else {
            return true;
        };
        !matches!(
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
            Err(nix::errno::Errno::ESRCH)
        )
    }

    fn stat(&self, pid: u32) -> std::io::Result<String> {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
    }
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
    /// another time.
    #[must_use]
    pub fn is_gone_here(&self) -> bool {
        Self::current().is_some_and(|here| self.is_gone(&here, &Host))
    }

    /// `is_gone_here`, seen from `here` through `kernel`. Only the kernel's `ESRCH` says a
    /// pid is free: a `/proc` entry that cannot be read or is missing (`hidepid=2` hides
    /// other users' processes) says nothing, and the holder is presumed alive.
    #[must_use]
    pub fn is_gone(&self, here: &Process, kernel: &dyn Kernel) -> bool {
        if self.host != here.host || self.boot != here.boot {
            return false;
        }
        if !kernel.exists(self.pid) {
            return true;
        }
        // Some process has the pid: gone only if it is provably another one (a reused pid)
        // or a zombie (killed, not yet reaped by its parent).
        kernel.stat(self.pid).ok().is_some_and(|stat| {
            parse_start_time(&stat).is_some_and(|t| t != self.started)
                || matches!(parse_state(&stat), Some('Z' | 'X'))
        })
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

/// Field 3 of `/proc/<pid>/stat`: the process state (`Z` for a zombie).
fn parse_state(stat: &str) -> Option<char> {
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

fn parse_start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The holder's process, from the lock item's attributes (absent on items written by
/// earlier versions: such a holder is never presumed dead).
fn process_of(item: &HashMap<String, AttributeValue>) -> Option<Process> {
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

/// Who a lock item says holds it, and the version it last wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    /// The holder, for people (`user@host (pid N)`).
    holder: String,
    /// The holder's run id (absent on items of earlier versions).
    run: String,
    /// The version the holder last wrote (absent on items of earlier versions).
    version: String,
    /// The holder's lease (ours, when the item does not say).
    lease: Duration,
    /// The holder's process, where it was known.
    process: Option<Process>,
}

impl Seen {
    fn of(item: &HashMap<String, AttributeValue>, lease: Duration) -> Self {
        let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        Self {
            holder: s("holder").unwrap_or_else(|| "another run".into()),
            run: s("run").unwrap_or_default(),
            // Items of earlier versions have no version: their holder renews by rewriting
            // `expires_at`, so that is what changes while it lives.
            version: s("version")
                .or_else(|| item.get("expires_at").and_then(|v| v.as_n().ok()).cloned())
                .unwrap_or_default(),
            lease: item
                .get("lease_ms")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u64>().ok())
                .filter(|ms| *ms > 0)
                .map_or(lease, Duration::from_millis),
            process: process_of(item),
        }
    }
}

/// This run as a lock holder: who it is, its run id, and the lease it promises to renew
/// within.
#[derive(Debug, Clone)]
pub struct Holder {
    /// For people: `user@host (pid N)`.
    pub name: String,
    /// Unique to this run (two runs of one process are two holders).
    pub run: String,
    /// The lease.
    pub lease: Duration,
    /// This process, where `/proc` tells.
    pub process: Option<Process>,
}

impl Holder {
    /// This process, with the configured lease.
    #[must_use]
    pub fn this_process() -> Self {
        Self {
            name: me(),
            run: token(),
            lease: lease(),
            process: Process::current(),
        }
    }
}

/// The state renewals and fences share: the version this run last wrote, and whether the
/// lock is known lost.
struct Shared {
    version: tokio::sync::Mutex<String>,
    lost: AtomicBool,
    /// When the last write that proved the lock ours was sent (a renewal or a fence).
    proved: std::sync::Mutex<Option<std::time::Instant>>,
    /// The lease: a renewal or fence call without an answer within a third of it has
    /// failed (a half-open connection after sleep must not hold the turn for minutes).
    lease: Duration,
}

/// A held lock; renewed in the background until released.
pub struct Guard {
    client: Client,
    id: String,
    run: String,
    shared: Arc<Shared>,
    renewal: JoinHandle<()>,
    /// The holder whose lock this run took over, and why that was safe.
    pub took_over: Option<(String, Takeover)>,
}

fn is_conditional_put(e: &aws_sdk_dynamodb::operation::put_item::PutItemError) -> bool {
    e.is_conditional_check_failed_exception()
}

/// One conditional put of the lock item: it succeeds when there is no item or, to take a
/// lock over, when the item is still exactly `replacing` (its run and version, and for a
/// gone process its start time), so that a holder that renewed meanwhile keeps it. Returns
/// the item found when the put was refused.
async fn try_put(
    client: &Client,
    id: &str,
    me: &Holder,
    version: &str,
    replacing: Option<&Seen>,
) -> Result<Result<(), Seen>, AwsError> {
    let mut put = client
        .put_item()
        .table_name(TABLE)
        .item("pk", AttributeValue::S(id.into()))
        .item("holder", AttributeValue::S(me.name.clone()))
        .item("run", AttributeValue::S(me.run.clone()))
        .item("version", AttributeValue::S(version.into()))
        .item(
            "lease_ms",
            AttributeValue::N(me.lease.as_millis().to_string()),
        );
    if let Some(p) = &me.process {
        put = put
            .item("host", AttributeValue::S(p.host.clone()))
            .item("boot", AttributeValue::S(p.boot.clone()))
            .item("pid", AttributeValue::N(p.pid.to_string()))
            .item("started", AttributeValue::N(p.started.to_string()));
    }
    put = match replacing {
        None => put.condition_expression("attribute_not_exists(pk)"),
        // Items of earlier versions have no run or version: the holder name and the
        // `expires_at` it renews stand in, so a live earlier-version holder keeps its lock.
        Some(seen) if seen.run.is_empty() && !seen.version.is_empty() => put
            .condition_expression(
                "holder = :holder AND attribute_not_exists(run) AND expires_at = :expires",
            )
            .expression_attribute_values(":holder", AttributeValue::S(seen.holder.clone()))
            .expression_attribute_values(":expires", AttributeValue::N(seen.version.clone())),
        Some(seen) if seen.run.is_empty() => put
            .condition_expression(
                "holder = :holder AND attribute_not_exists(run) AND attribute_not_exists(expires_at)",
            )
            .expression_attribute_values(":holder", AttributeValue::S(seen.holder.clone())),
        Some(seen) => put
            .condition_expression("run = :run AND version = :version")
            .expression_attribute_values(":run", AttributeValue::S(seen.run.clone()))
            .expression_attribute_values(":version", AttributeValue::S(seen.version.clone())),
    };
    match put.send().await {
        Ok(_) => Ok(Ok(())),
        Err(e) if e.as_service_error().is_some_and(is_conditional_put) => {
            let Some(item) = read(client, id).await? else {
                // Released between the put and the read: try again.
                return Ok(Err(Seen {
                    holder: String::new(),
                    run: String::new(),
                    version: String::new(),
                    lease: me.lease,
                    process: None,
                }));
            };
            let seen = Seen::of(&item, me.lease);
            // A retried put whose first answer was lost finds our own item.
            if seen.run == me.run && seen.version == version {
                return Ok(Ok(()));
            }
            Ok(Err(seen))
        }
        Err(e) => Err(AwsError::call("PutItem", TABLE, &e, true)),
    }
}

/// The lock item, read consistently.
async fn read(
    client: &Client,
    id: &str,
) -> Result<Option<HashMap<String, AttributeValue>>, AwsError> {
    let out = client
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(id.into()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::call("GetItem", TABLE, &e, false))?;
    Ok(out.item)
}

/// Takes the lock for `stack/env` as this process. See `acquire_as`.
pub async fn acquire(
    client: &Client,
    stack: &str,
    env: &str,
    wait: Duration,
) -> Result<Guard, LockError> {
    acquire_as(
        client,
        &format!("{stack}/{env}"),
        Holder::this_process(),
        wait,
    )
    .await
}

/// Takes the lock `id` as `me`. A holder on this host whose process is gone is taken over
/// at once; any other holder is watched on this run's monotonic clock, and taken over once
/// its version has stayed the same for a whole lease. A holder that keeps renewing is
/// waited for one lease plus `wait`, then reported.
pub async fn acquire_as(
    client: &Client,
    id: &str,
    me: Holder,
    wait: Duration,
) -> Result<Guard, LockError> {
    let mut version = token();
    // Put first: the table exists on every run but the first, which creates it.
    let first = match try_put(client, id, &me, &version, None).await {
        Err(AwsError::Call {
            code: Some(code), ..
        }) if code == "ResourceNotFoundException" => {
            ensure_table(client).await?;
            try_put(client, id, &me, &version, None).await?
        }
        other => other?,
    };
    let mut attempt = Some(first);
    let mut took_over = None;
    // The holder's run and version as last seen, and since when (on our clock).
    let mut watched: Option<(Seen, Instant)> = None;
    // When a holder was first seen: the wait is counted from there, on the same clock as
    // the watch, so a holder silent since then is taken over before the wait runs out.
    let mut start: Option<Instant> = None;
    loop {
        let result = match attempt.take() {
            Some(r) => r,
            None => try_put(client, id, &me, &version, None).await?,
        };
        let seen = match result {
            Ok(()) => break,
            // Released between our put and our read: put again, after a breath, and never
            // past the wait (other runs may keep taking and releasing it).
            Err(seen) if seen.holder.is_empty() => {
                if start.is_some_and(|s| s.elapsed() >= wait + me.lease) {
                    return Err(LockError::Held {
                        id: id.to_string(),
                        holder: "other runs, one after another".into(),
                        waited: start.map_or(Duration::ZERO, |s| s.elapsed()),
                        lease: me.lease,
                    });
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(seen) => seen,
        };
        let now = Instant::now();
        let start = *start.get_or_insert(now);
        let unchanged = match &watched {
            Some((w, since))
                if w.run == seen.run && w.version == seen.version && w.holder == seen.holder =>
            {
                now.duration_since(*since)
            }
            _ => {
                watched = Some((seen.clone(), now));
                Duration::ZERO
            }
        };
        let why = if seen.process.as_ref().is_some_and(Process::is_gone_here) {
            Some(Takeover::Gone)
        } else if unchanged >= seen.lease {
            Some(Takeover::Lapsed(seen.lease))
        } else {
            None
        };
        if let Some(why) = why {
            // A fresh version for the new item: the old holder's fence must fail.
            version = token();
            match try_put(client, id, &me, &version, Some(&seen)).await? {
                Ok(()) => {
                    took_over = Some((seen.holder, why));
                    break;
                }
                // Someone else took it first, or the holder renewed: watch again.
                Err(other) => {
                    attempt = Some(Err(other));
                    continue;
                }
            }
        }
        // Measured at the same instant as `unchanged`: a holder silent since it was first
        // seen was taken over above, so only one that renewed is reported.
        if now.duration_since(start) >= wait + seen.lease {
            return Err(LockError::Held {
                id: id.to_string(),
                holder: seen.holder,
                waited: start.elapsed(),
                lease: seen.lease,
            });
        }
        tokio::time::sleep(Duration::from_secs(1).min(seen.lease / 4)).await;
    }
    let shared = Arc::new(Shared {
        version: tokio::sync::Mutex::new(version),
        lost: AtomicBool::new(false),
        proved: std::sync::Mutex::new(None),
        lease: me.lease,
    });
    let (c, i, r, sh, lease) = (
        client.clone(),
        id.to_string(),
        me.run.clone(),
        shared.clone(),
        me.lease,
    );
    let renewal = tokio::spawn(async move {
        let mut pause = lease / 3;
        loop {
            tokio::time::sleep(pause).await;
            pause = match renew(&c, &i, &r, &sh, None).await {
                // Taken over: the fence before the next change will say so.
                Err(Renewal::Lost(_)) => return,
                Ok(()) => lease / 3,
                // A failed call is tried again soon, not a third of a lease later: two
                // failures in a row must not let a waiter take over a working run. If it
                // keeps failing, waiters see the lease lapse and the fence stops this run.
                Err(Renewal::Failed(_)) => lease / 12,
            };
        }
    });
    Ok(Guard {
        client: client.clone(),
        id: id.to_string(),
        run: me.run,
        shared,
        renewal,
        took_over,
    })
}

/// Why a renewal did not go through.
enum Renewal {
    /// The item is no longer this run's: the lock was taken over.
    Lost(String),
    /// The call failed; whether the lock is still held is unknown.
    Failed(AwsError),
}

/// Writes a new version, on the condition that the item is still this run's at the version
/// it last wrote. Renewals and fences share it, one at a time.
///
/// `asked`: when a fence was asked for. A write sent after that moment (another change's
/// fence, or a renewal, that held the turn meanwhile) proves the lock ours just as well, so
/// changes starting together share one write.
async fn renew(
    client: &Client,
    id: &str,
    run: &str,
    shared: &Shared,
    asked: Option<std::time::Instant>,
) -> Result<(), Renewal> {
    let mut current = shared.version.lock().await;
    if shared.lost.load(Ordering::SeqCst) {
        return Err(Renewal::Lost("the lock was taken over".into()));
    }
    let proved = || shared.proved.lock().map_or(None, |p| *p);
    if let (Some(asked), Some(proved)) = (asked, proved())
        && proved >= asked
    {
        return Ok(());
    }
    let sent_at = std::time::Instant::now();
    let prove = |at| {
        if let Ok(mut p) = shared.proved.lock() {
            *p = Some(at);
        }
    };
    let next = token();
    // The run id decides: only this run writes it, and a takeover replaces it. The version
    // is what waiters watch change.
    let call = client
        .update_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(id.into()))
        .update_expression("SET version = :next")
        .condition_expression("run = :run AND version = :current")
        .expression_attribute_values(":next", AttributeValue::S(next.clone()))
        .expression_attribute_values(":run", AttributeValue::S(run.into()))
        .expression_attribute_values(":current", AttributeValue::S(current.clone()))
        .send();
    let Ok(sent) = tokio::time::timeout(shared.lease / 3, call).await else {
        return Err(Renewal::Failed(AwsError::Unexpected {
            op: "UpdateItem",
            address: TABLE.into(),
            message: format!(
                "no answer within {}s to the lock's renewal",
                (shared.lease / 3).as_secs()
            ),
        }));
    };
    match sent {
        Ok(_) => {
            *current = next;
            prove(sent_at);
            Ok(())
        }
        Err(e)
            if e.as_service_error().is_some_and(
                aws_sdk_dynamodb::operation::update_item::UpdateItemError::is_conditional_check_failed_exception,
            ) =>
        {
            // Still this run's item at another version: an earlier renewal went through
            // though its answer was lost (the SDK retried it, or it failed here). Only this
            // run writes its run id, so the lock is still ours; carry on from that version.
            let item = read(client, id).await.map_err(Renewal::Failed)?;
            let seen = item.as_ref().map(|i| Seen::of(i, Duration::ZERO));
            match seen {
                Some(s) if s.run == run => {
                    *current = s.version;
                    prove(sent_at);
                    Ok(())
                }
                other => {
                    shared.lost.store(true, Ordering::SeqCst);
                    Err(Renewal::Lost(other.map_or_else(
                        || "the lock item was deleted by another run".to_string(),
                        |s| format!("{} took the lock over", s.holder),
                    )))
                }
            }
        }
        Err(e) => Err(Renewal::Failed(AwsError::call("UpdateItem", TABLE, &e, true))),
    }
}

impl Guard {
    /// Proves this run still holds the lock, right before a change: a conditional write on
    /// its run id and the version it last wrote. Fails when another run took the lock over
    /// (this one slept, or its renewals failed for a lease), or when the proof cannot be
    /// written at all.
    pub async fn fence(&self) -> Result<(), Lost> {
        let asked = std::time::Instant::now();
        let mut last = None;
        for attempt in 0..3u32 {
            match renew(&self.client, &self.id, &self.run, &self.shared, Some(asked)).await {
                Ok(()) => return Ok(()),
                Err(Renewal::Lost(why)) => {
                    return Err(Lost(format!(
                        "this run no longer holds the lock of `{}`: {why}",
                        self.id
                    )));
                }
                Err(Renewal::Failed(e)) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(200) * 2u32.pow(attempt)).await;
        }
        Err(Lost(format!(
            "cannot confirm that this run still holds the lock of `{}`: {}",
            self.id,
            last.map_or_else(String::new, |e| e.to_string())
        )))
    }

    /// Stops renewing without releasing, as a crash or a sleeping laptop would: the item
    /// stays until a waiter has seen it unchanged for a lease and takes it over. Tests of
    /// takeover and of the fence use it; a fence after it still says whether the lock is
    /// ours.
    pub fn abandon(&self) {
        self.renewal.abort();
    }

    /// Releases the lock (only if still ours).
    pub async fn release(self) {
        self.renewal.abort();
        let _ = self
            .client
            .delete_item()
            .table_name(TABLE)
            .key("pk", AttributeValue::S(self.id.clone()))
            .condition_expression("run = :run")
            .expression_attribute_values(":run", AttributeValue::S(self.run.clone()))
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
        // Killed and not yet reaped: the pid still exists, as a zombie.
        let zombie = std::process::Command::new("true").spawn().expect("spawn");
        let zpid = zombie.id();
        let zstarted = start_time(zpid);
        std::thread::sleep(std::time::Duration::from_millis(200));
        if let Some(started) = zstarted {
            let z = Process {
                pid: zpid,
                started,
                ..me.clone()
            };
            assert!(z.is_gone_here(), "a zombie is gone");
        }
        drop(zombie);
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

    /// A kernel as another user sees it under `hidepid=2`: every pid in `alive` exists,
    /// but no `/proc/<pid>` entry is visible.
    struct Hidden {
        alive: Vec<u32>,
    }

    impl Kernel for Hidden {
        fn exists(&self, pid: u32) -> bool {
            self.alive.contains(&pid)
        }
        fn stat(&self, _pid: u32) -> std::io::Result<String> {
            Err(std::io::ErrorKind::NotFound.into())
        }
    }

    #[test]
    fn a_live_process_of_another_user_hidden_by_hidepid_is_never_taken_over() {
        // Guards issue 21: a missing `/proc/<pid>` was read as "gone", and `hidepid=2`
        // hides other users' processes, so a second user took over a live run's lock.
        let here = Process {
            host: "h".into(),
            boot: "b/pid:[1]".into(),
            pid: 10,
            started: 5,
        };
        let holder = Process {
            pid: 4242,
            started: 77,
            ..here.clone()
        };
        let kernel = Hidden { alive: vec![4242] };
        assert!(!holder.is_gone(&here, &kernel), "alive per kill(pid, 0)");
        let kernel = Hidden { alive: vec![] };
        assert!(holder.is_gone(&here, &kernel), "ESRCH: gone");
        // The real kernel: pid 1 always exists, and this process's own start time is read.
        let me = Process::current().expect("/proc is readable on Linux");
        assert!(Host.exists(1) && Host.exists(me.pid));
        assert!(
            !Process {
                pid: 1,
                started: start_time(1).unwrap_or(0),
                ..me.clone()
            }
            .is_gone(&me, &Host)
        );
    }

    /// A fence whose `UpdateItem` is refused, then the item `GetItem` finds.
    async fn fence_against(found: &'static str) -> Result<(), Lost> {
        use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
        use aws_smithy_mocks::{RuleMode, mock};
        let refused = mock!(Client::update_item)
            .match_requests(|r| {
                r.condition_expression() == Some("run = :run AND version = :current")
            })
            .then_error(|| {
                UpdateItemError::ConditionalCheckFailedException(
                    ConditionalCheckFailedException::builder().build(),
                )
            });
        let item = mock!(Client::get_item).then_output(move || {
            GetItemOutput::builder()
                .item("holder", AttributeValue::S(format!("{found}@host (pid 1)")))
                .item("run", AttributeValue::S(found.into()))
                .item("version", AttributeValue::S("v-written-earlier".into()))
                .build()
        });
        let client = crate::testing::mock_sdk_client!(
            aws_sdk_dynamodb,
            RuleMode::Sequential,
            &[&refused, &item]
        );
        let guard = Guard {
            client: client.clone(),
            id: "s/prod".into(),
            run: "mine".into(),
            shared: Arc::new(Shared {
                version: tokio::sync::Mutex::new("v-before".into()),
                lost: AtomicBool::new(false),
                proved: std::sync::Mutex::new(None),
                lease: Duration::from_mins(1),
            }),
            renewal: tokio::spawn(async {}),
            took_over: None,
        };
        let result = guard.fence().await;
        if result.is_ok() {
            assert_eq!(*guard.shared.version.lock().await, "v-written-earlier");
        }
        result
    }

    #[tokio::test]
    async fn a_fence_after_a_lost_renewal_answer_holds_and_after_a_takeover_fails() {
        // A renewal that went through but whose answer was lost leaves this run's item at a
        // version it wrote: still ours. Another run's id means the lock was taken over.
        fence_against("mine").await.expect("still ours");
        let lost = fence_against("theirs").await.expect_err("taken over");
        assert_eq!(
            lost.0,
            "this run no longer holds the lock of `s/prod`: theirs@host (pid 1) took the lock over"
        );
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
