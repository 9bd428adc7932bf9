//! Concurrency and "no work for nothing", proved by counting calls at the proxy: the seed
//! plan reads in 2 sequential rounds and at most 17 reads (one listing of log groups among
//! them; the disabled DAX role costs one `GetRole`); a 40 tables / 40 functions / 40
//! mappings plan in at most 170 reads (one listing of mappings, the tables' tags from the
//! Tagging API's listing); a changing `apply` re-reads under the lock only what it changes
//! and what that depends on; neither `plan` nor an `apply` of a converged stack makes any
//! write call or takes the lock.

use std::time::Duration;

use crate::harness::proxy::{Proxy, ProxyConfig, Stats};
use crate::harness::{Run, private_emulator, start_proxy};
use crate::seed::seed_copy_with;

fn fresh(proxy: &Proxy) {
    *proxy.stats.lock().unwrap() = Stats::default();
}

#[test]
fn the_seed_plan_reads_in_two_rounds_a_converged_apply_writes_nothing_and_a_changing_one_rereads_only_its_change()
 {
    let emulator = private_emulator();
    // Latency separates rounds clearly: a call that needs an earlier answer starts after it,
    // and a call of the first round that starts late on a busy machine still starts before
    // any answer came back.
    let proxy = start_proxy(ProxyConfig {
        upstream: emulator.url.clone(),
        latency: Duration::from_millis(150),
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
    // 16 for the five enabled resources, the strays and the account, plus the one listing
    // of the stack's log groups; the disabled DAX role is one `GetRole` (it exists or not,
    // and whom its tag names), the disabled cluster a line in the records' scan.
    assert!(reads <= 17, "at most 17 reads: {reads} {calls:?}");
    assert_eq!(
        calls.iter().filter(|c| *c == "iam:GetRole").count(),
        2,
        "one GetRole per role: {calls:?}"
    );
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == "iam:ListRolePolicies")
            .count(),
        1,
        "the disabled role's policies are not listed: {calls:?}"
    );
    assert!(
        !calls.iter().any(|c| c == "dynamodb:ListTagsOfResource"),
        "the table's tags come from the stack's Tagging API listing: {calls:?}"
    );
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
    assert!(rounds <= 2, "at most 2 sequential rounds: {rounds}");
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

    // A changing apply: one field of the table. Under the lock (after its first write,
    // before the first change) it reads the table again, and nothing else.
    let text = std::fs::read_to_string(&copy.stack).unwrap();
    std::fs::write(
        &copy.stack,
        text.replacen(
            "      read: 5
",
            "      read: 6
",
            1,
        ),
    )
    .unwrap();
    fresh(&proxy);
    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let stats = proxy.stats.lock().unwrap();
    let calls: Vec<&crate::harness::proxy::Call> = stats.clean().collect();
    let on_lock = |c: &crate::harness::proxy::Call| c.excerpt.contains("cruddur-infra-locks");
    let locked_at = calls
        .iter()
        .position(|c| c.write && on_lock(c))
        .expect("a changing apply takes the lock");
    // The next write after taking the lock is the fence before the first change.
    let fenced_at = locked_at
        + 1
        + calls[locked_at + 1..]
            .iter()
            .position(|c| c.write)
            .expect("the change is made");
    assert!(on_lock(calls[fenced_at]), "the change is fenced first");
    let reread: Vec<String> = calls[locked_at..fenced_at]
        .iter()
        .filter(|c| !c.write)
        .map(|c| format!("{}:{}", c.service, c.op))
        .collect();
    eprintln!("re-read under the lock: {reread:?}");
    assert!(
        reread.iter().all(|c| [
            "dynamodb:DescribeTable",
            "dynamodb:DescribeTimeToLive",
            "dynamodb:DescribeContinuousBackups",
            // Its owner proven by its own tags before the write, not by the listing.
            "dynamodb:ListTagsOfResource",
        ]
        .contains(&c.as_str())),
        "only the table is read again: {reread:?}"
    );
    assert!(
        reread.iter().any(|c| c == "dynamodb:ListTagsOfResource") && reread.len() <= 4,
        "{reread:?}"
    );
}

/// A generated stack of `n` tables (an index and a stream each), one role, `n` functions
/// and `n` mappings, as the benchmark's.
fn big_stack(dir: &std::path::Path, tag: &str, n: usize) -> std::path::PathBuf {
    use std::fmt::Write as _;
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("lambda-artifacts/cruddur-messaging-stream");
    let mut y = format!("name: {tag}\nenvironments:\n  local: {{region: ca-central-1}}\ntables:\n");
    for i in 0..n {
        let _ = write!(
            y,
            "  t{i}:\n    name: {tag}-table-{i}\n    attributes: {{pk: S, sk: S, g: S}}\n    key: {{hash: pk, range: sk}}\n    billing: {{mode: PAY_PER_REQUEST}}\n    global_secondary_indexes:\n      - {{name: by-g, key: {{hash: g, range: sk}}, projection: ALL}}\n    stream: NEW_IMAGE\n"
        );
    }
    let _ = write!(
        y,
        "roles:\n  r:\n    name: {tag}-role\n    trust: [lambda.amazonaws.com]\n    managed_policies: [arn:aws:iam::aws:policy/AWSLambdaInvocation-DynamoDB]\nfunctions:\n"
    );
    for i in 0..n {
        let _ = write!(
            y,
            "  f{i}:\n    name: {tag}-fn-{i}\n    runtime: python3.12\n    handler: lambda_function.lambda_handler\n    source: {}\n    role: r\n    environment: {{TABLE_NAME: \"${{table.t{i}.name}}\"}}\n",
            source.display()
        );
    }
    y.push_str("event_source_mappings:\n");
    for i in 0..n {
        let _ = writeln!(y, "  m{i}: {{table: t{i}, function: f{i}, batch_size: 1}}");
    }
    let path = dir.join("stack.yaml");
    std::fs::write(&path, y).unwrap();
    path
}

#[test]
fn a_plan_of_40_tables_functions_and_mappings_reads_at_most_170_times() {
    let emulator = private_emulator();
    let proxy = start_proxy(crate::harness::passthrough(&emulator.url));
    let dir = tempfile::tempdir().unwrap();
    let stack = big_stack(dir.path(), "it-big", 40);
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", proxy.url.as_str()]);
        Run::new(&stack, &all).run()
    };
    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    fresh(&proxy);
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let stats = proxy.stats.lock().unwrap();
    let (reads, writes) = stats.reads_writes();
    let count = |op: &str| stats.clean().filter(|c| c.op == op).count();
    eprintln!(
        "plan of the converged 40/40/40 stack: {reads} reads, {} rounds",
        stats.rounds()
    );
    assert_eq!(writes, 0);
    assert!(reads <= 170, "at most 170 reads: {reads}");
    assert_eq!(
        count("ListEventSourceMappings"),
        1,
        "one listing for 40 mappings"
    );
    assert_eq!(count("ListTagsOfResource"), 0, "tags from the Tagging API");
    assert_eq!(count("GetResources"), 1);
    drop(stats);
    assert_eq!(run(&["destroy", "--yes"]).code, 0);
}
