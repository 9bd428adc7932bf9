//! `status`: every resource of the seed stack with its live state, on a moto of its own
//! (the VPC endpoint needs a whole account), as a table and as JSON, and a table whose
//! capacity was changed out of band said to differ.

use serde_json::Value;

use crate::harness::{Run, private_emulator};
use crate::seed::seed_copy_with;

#[test]
fn status_lists_every_resource_with_its_live_state_and_says_what_differs() {
    let emulator = private_emulator();
    let copy = seed_copy_with("it-status", true);
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint-url", emulator.url.as_str()]);
        Run::new(&copy.stack, &all).run()
    };
    let before = run(&["status", "--json"]);
    assert_eq!(before.code, 0, "{before:?}");
    let doc: Value = serde_json::from_str(&before.stdout).expect("--json parses");
    let resources = doc["resources"].as_array().unwrap();
    assert!(
        resources
            .iter()
            .filter(|r| r["sync"] != "disabled")
            .all(|r| r["state"] == "missing" && r["sync"] == "missing"),
        "{doc}"
    );
    let apply = run(&["apply", "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");

    let after = run(&["status", "--json"]);
    assert_eq!(after.code, 0, "{after:?}");
    let doc: Value = serde_json::from_str(&after.stdout).expect("--json parses");
    assert_eq!(doc["environment"], "local");
    let by_address = |a: &str| -> Value {
        doc["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == a)
            .cloned()
            .unwrap_or_else(|| panic!("{a} missing from {doc}"))
    };
    for (address, state) in [
        ("table.messages", "ACTIVE"),
        ("role.messaging_stream", "exists"),
        ("function.messaging_stream", "Active"),
        ("event_source_mapping.messages_stream", "Enabled"),
        ("vpc_endpoint.dynamodb", "available"),
    ] {
        let r = by_address(address);
        assert_eq!(r["state"], state, "{r}");
        assert_eq!(r["sync"], "matches", "{r}");
    }
    let table = by_address("table.messages");
    assert_eq!(table["name"], "it-status-messages");
    assert_eq!(table["approximate_item_count"], 0);
    assert_eq!(table["stream"], "NEW_IMAGE (ENABLED)");
    for off in ["role.dax", "dax_cluster.cache"] {
        assert_eq!(by_address(off)["sync"], "disabled", "{doc}");
    }

    // Out of band: the table's read capacity changed in the console.
    crate::harness::set_capacity(&emulator.url, "it-status-messages", 7, 5);
    let drifted = run(&["status"]);
    assert_eq!(drifted.code, 0, "{drifted:?}");
    let line = drifted
        .stdout
        .lines()
        .find(|l| l.starts_with("table.messages"))
        .unwrap_or_else(|| panic!("{drifted:?}"));
    assert!(line.contains("ACTIVE"), "{line}");
    assert!(
        line.contains("differs from the file: billing.read"),
        "{line}"
    );
    for address in ["function.messaging_stream", "vpc_endpoint.dynamodb"] {
        let l = drifted
            .stdout
            .lines()
            .find(|l| l.starts_with(address))
            .unwrap();
        assert!(l.ends_with("matches the file"), "{l}");
    }
    let destroy = run(&["destroy", "--yes"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
}
