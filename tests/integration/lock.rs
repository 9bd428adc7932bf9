//! The apply lock across machines: no wall clock decides who holds it. Holders are watched
//! on the waiter's own monotonic clock (a version unchanged for a whole lease), so holders
//! whose clocks are 90 s apart never hold it at once, a crashed holder elsewhere is taken
//! over after one lease, and a holder that lost the lock (it slept, its renewals failed)
//! starts no further change. The lock's conditions run on AWS's own DynamoDB Local; the
//! runs of the binary on moto.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use cruddur_infra::lock::{Holder, LockError, Takeover, acquire_as};

use crate::harness::proxy::ProxyConfig;
use crate::harness::{
    StackFile, block_on, dynamodb, dynamodb_local_client, emulator, one_table_stack, start_proxy,
};
use crate::safety::ON_DEMAND;

fn holder(name: &str, lease: Duration) -> Holder {
    Holder {
        name: name.into(),
        run: format!("{name}-{}", std::process::id()),
        lease,
        process: None,
    }
}

#[test]
fn two_holders_never_hold_the_lock_at_once_and_a_silent_one_is_taken_over_after_a_lease() {
    let client = dynamodb_local_client();
    let lease = Duration::from_secs(2);
    block_on(async {
        let id = format!("it-lock/{}", std::process::id());
        let a = acquire_as(&client, &id, holder("a", lease), Duration::ZERO)
            .await
            .expect("a takes the free lock");
        a.fence().await.expect("a holds it");
        // b watches a for one lease plus its one second of --lock-timeout; a renews meanwhile
        // (every lease/3), so b never takes it.
        let start = Instant::now();
        let refused = acquire_as(&client, &id, holder("b", lease), Duration::from_secs(1)).await;
        let waited = start.elapsed();
        assert!(
            matches!(&refused, Err(LockError::Held { holder, .. }) if holder == "a"),
            "{:?}",
            refused.as_ref().err()
        );
        assert!(waited >= lease + Duration::from_secs(1), "{waited:?}");
        a.fence().await.expect("a still holds it after b gave up");
        // a stops renewing (a laptop asleep, a crash): b takes over after one lease unchanged.
        a.abandon();
        let start = Instant::now();
        let b = acquire_as(&client, &id, holder("b", lease), Duration::from_secs(30))
            .await
            .expect("b takes over a silent holder");
        let waited = start.elapsed();
        assert!(waited >= lease, "not before a whole lease: {waited:?}");
        assert!(waited < lease * 4, "soon after it: {waited:?}");
        assert_eq!(
            b.took_over,
            Some(("a".to_string(), Takeover::Lapsed(lease)))
        );
        // a wakes up: its fence fails before its next change, and b's holds.
        let lost = a.fence().await.expect_err("a lost the lock");
        assert!(lost.0.contains("b took the lock over"), "{lost}");
        b.fence().await.expect("b holds it");
        b.release().await;
        let c = acquire_as(&client, &id, holder("c", lease), Duration::ZERO)
            .await
            .expect("released: free at once");
        assert_eq!(c.took_over, None);
        c.release().await;
    });
}

/// A lock item as a run on another machine writes it: `expires_at` from that machine's
/// clock, `skew` seconds off ours (what earlier versions compared), and the version it
/// renews.
async fn put_foreign_item(id: &str, skew: i64, version: u32) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .cast_signed();
    dynamodb()
        .put_item()
        .table_name("cruddur-infra-locks")
        .item("pk", AttributeValue::S(id.into()))
        .item(
            "holder",
            AttributeValue::S("someone@elsewhere (pid 1)".into()),
        )
        .item("run", AttributeValue::S("elsewhere-run".into()))
        .item("version", AttributeValue::S(format!("v{version}")))
        .item("lease_ms", AttributeValue::N("3000".into()))
        .item(
            "expires_at",
            AttributeValue::N((now + skew + 3).to_string()),
        )
        .item("host", AttributeValue::S("elsewhere".into()))
        .item("boot", AttributeValue::S("another-boot".into()))
        .item("pid", AttributeValue::N("1".into()))
        .item("started", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
}

#[test]
fn holders_on_machines_whose_clocks_are_90s_off_are_judged_by_their_renewals_alone() {
    let name = "it-skew-messages";
    let file = StackFile::new(&one_table_stack("skew", name, ON_DEMAND));
    assert_eq!(
        file.run(&["apply", "--yes"]).code,
        0,
        "creates the lock table"
    );
    file.rewrite(&one_table_stack(
        "skew",
        name,
        &format!("{ON_DEMAND}    tags: {{after: skew}}\n"),
    ));
    // A live holder whose clock is 90 s behind: by its clock its lease ended a minute ago.
    // It renews every second, as a live run does.
    let stop = Arc::new(AtomicBool::new(false));
    let renewer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            block_on(async {
                let mut v = 0;
                while !stop.load(Ordering::SeqCst) {
                    put_foreign_item("skew/local", -90, v).await;
                    v += 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let held = file.run(&["apply", "--yes", "--lock-timeout", "2s"]);
    let waited = start.elapsed();
    stop.store(true, Ordering::SeqCst);
    renewer.join().unwrap();
    assert_eq!(held.code, 1, "{held:?}");
    assert!(
        held.stderr
            .contains("is locked by someone@elsewhere (pid 1), which renewed it"),
        "{}",
        held.stderr
    );
    assert!(
        waited >= Duration::from_secs(5),
        "watched a lease (3 s) plus --lock-timeout (2 s): {waited:?}"
    );
    // A crashed holder whose clock is 90 s ahead: by its clock the lease has 93 s left.
    // Unrenewed for one lease of ours, it is taken over without any --lock-timeout.
    block_on(put_foreign_item("skew/local", 90, 0));
    let start = Instant::now();
    let taken = file.run(&["apply", "--yes"]);
    let waited = start.elapsed();
    assert_eq!(taken.code, 0, "{taken:?}");
    assert!(
        taken.stderr.contains(
            "note: took over the lock of someone@elsewhere (pid 1): it was not renewed for a whole lease (3s)"
        ),
        "{}",
        taken.stderr
    );
    assert!(waited >= Duration::from_secs(3), "{waited:?}");
    assert!(waited < Duration::from_mins(1), "{waited:?}");
    assert_eq!(file.run(&["plan", "--detailed-exitcode"]).code, 0);
    assert_eq!(file.run(&["destroy", "--yes"]).code, 0);
}

#[test]
fn a_run_that_lost_the_lock_starts_no_further_change_and_says_what_it_did() {
    let copy = crate::seed::seed_copy("it-fence");
    // Slow calls, so the run is still working when its lock is taken.
    let proxy = start_proxy(ProxyConfig {
        upstream: emulator().url.clone(),
        latency: Duration::from_millis(150),
        fault_rate: 0.0,
        lost_write_rate: 0.0,
        seed: 3,
    });
    let child = crate::harness::Run::new(
        &copy.stack,
        &["apply", "--yes", "--endpoint-url", proxy.url.as_str()],
    )
    .env("CRUDDUR_INFRA_LOCK_LEASE_SECONDS", "600")
    .spawn();
    // Once the stack's table is being created, another run takes the lock over.
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let creating = proxy.stats.lock().unwrap().calls.iter().any(|c| {
            c.op == "CreateTable" && !c.excerpt.contains("cruddur-infra-locks") && c.fault.is_none()
        });
        if creating {
            break;
        }
        assert!(Instant::now() < deadline, "the run never created its table");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stolen_at = Instant::now();
    block_on(put_foreign_item("it-fence/local", 0, 0));
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("this run no longer holds the lock of `it-fence/local`: someone@elsewhere (pid 1) took the lock over"),
        "{stderr}"
    );
    assert!(
        stdout.contains("Done before the lock was lost: "),
        "{stdout}"
    );
    assert!(stdout.contains("Not started: "), "{stdout}");
    assert!(
        stdout.contains("mapping."),
        "the mapping waits on the table, so it never started: {stdout}"
    );
    // No write of the stack began after the lock was taken (each had to pass the fence).
    let stats = proxy.stats.lock().unwrap();
    let late: Vec<&str> = stats
        .calls
        .iter()
        .filter(|c| {
            c.write
                && c.start > stolen_at + Duration::from_millis(200)
                && !c.excerpt.contains("cruddur-infra-locks")
                && matches!(
                    c.op.as_str(),
                    // Changes that wait on the table or the role: none had started.
                    "CreateFunction" | "CreateLogGroup" | "CreateEventSourceMapping"
                )
        })
        .map(|c| c.op.as_str())
        .collect();
    assert!(late.is_empty(), "creates after the takeover: {late:?}");
    drop(stats);
    // The other run finishes (releases); the next apply converges.
    block_on(async {
        dynamodb()
            .delete_item()
            .table_name("cruddur-infra-locks")
            .key("pk", AttributeValue::S("it-fence/local".into()))
            .send()
            .await
            .unwrap()
    });
    let url = emulator().url.clone();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", url.as_str()]);
        crate::harness::Run::new(&copy.stack, &all).run()
    };
    assert_eq!(run(&["apply", "--yes"]).code, 0);
    assert_eq!(run(&["plan", "--detailed-exitcode"]).code, 0);
    assert_eq!(run(&["destroy", "--yes", "--allow-data-loss"]).code, 0);
}
