//! Concurrency and "no work for nothing", proved by counting calls at the proxy: the seed
//! plan reads in at most 3 sequential rounds and at most 21 reads (one listing of log
//! groups among them), and neither `plan` nor an `apply` of a converged stack makes any
//! write call.

use std::time::Duration;

use crate::harness::proxy::{Proxy, ProxyConfig, Stats};
use crate::harness::{Run, private_emulator, start_proxy};
use crate::seed::seed_copy_with;

fn fresh(proxy: &Proxy) {
    *proxy.stats.lock().unwrap() = Stats::default();
}

#[test]
fn the_seed_plan_reads_in_three_rounds_and_a_converged_apply_writes_nothing() {
    let emulator = private_emulator();
    // Latency separates rounds clearly: a call that needs an earlier answer starts after it.
    let proxy = start_proxy(ProxyConfig {
        upstream: emulator.url.clone(),
        latency: Duration::from_millis(60),
        fault_rate: 0.0,
        lost_write_rate: 0.0,
        seed: 3,
    });
    let copy = seed_copy_with("it-speed", true);
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", proxy.url.as_str()]);
        Run::new(&copy.stack, &all).run()
    };
    assert_eq!(run(&["apply", "--yes"]).code, 0);

    fresh(&proxy);
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let stats = proxy.stats.lock().unwrap();
    let (reads, writes) = stats.reads_writes();
    let rounds = stats.rounds();
    let calls: Vec<String> = stats
        .clean()
        .map(|c| format!("{}:{}", c.service, c.op))
        .collect();
    eprintln!(
        "plan of the converged seed stack: {reads} reads, {writes} writes, {rounds} rounds: {calls:?}"
    );
    assert_eq!(writes, 0, "plan never writes: {calls:?}");
    // 15 for the five enabled resources and the strays; 4 for the disabled DAX role (IAM
    // must be asked whether it exists, to delete it if the stack owns it); 1 scan of the
    // stack's ownership records (the disabled DAX cluster and recorded strays; no DAX
    // call): 20 before the checks of issue 20. They add one listing of the stack's log
    // groups, and no read of the managed policies (the seed's are bundled).
    assert!(reads <= 21, "at most 21 reads: {reads} {calls:?}");
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == "logs:DescribeLogGroups")
            .count(),
        1,
        "one listing for every log group: {calls:?}"
    );
    assert!(
        !calls.iter().any(|c| c.starts_with("iam:GetPolicy")),
        "bundled policies are not read: {calls:?}"
    );
    assert!(rounds <= 3, "at most 3 sequential rounds: {rounds}");
    drop(stats);

    fresh(&proxy);
    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0);
    assert!(apply.stdout.contains("No changes."));
    let (_, writes) = proxy.stats.lock().unwrap().reads_writes();
    assert_eq!(
        writes, 0,
        "a converged apply makes no write call (not even the lock)"
    );
}
