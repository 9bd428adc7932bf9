//! Tests of `graph`: kept beside it, in a file of their own, since they name kinds.

use super::*;

/// The seed stack, selected for `env`.
fn seed(env: &str) -> Graph {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/cruddur.yaml"));
    let mut stack = crate::stack::load(path).expect("seed stack loads");
    stack.select(env).expect("environment selects");
    Graph::of(&stack, env)
}

fn address(text: &str) -> Address {
    let (kind, name) = text.split_once('.').unwrap();
    Address::new(Kind::from_address(kind).unwrap(), name)
}

fn edges(graph: &Graph) -> Vec<String> {
    graph
        .edges
        .iter()
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect()
}

#[test]
fn references_point_from_what_is_made_first_and_the_log_group_precedes_its_function() {
    let graph = seed("local");
    assert_eq!(
        edges(&graph),
        [
            "table.messages -> role.messaging_stream",
            "table.messages -> role.dax",
            "table.messages -> function.messaging_stream",
            "table.messages -> event_source_mapping.messages_stream",
            "role.messaging_stream -> function.messaging_stream",
            "role.dax -> dax_cluster.cache",
            "function.messaging_stream -> event_source_mapping.messages_stream",
            "log_group.messaging_stream -> function.messaging_stream",
        ]
    );
    let group = &graph.nodes[5];
    assert_eq!(group.address.to_string(), "log_group.messaging_stream");
    assert_eq!(
        group.name.as_deref(),
        Some("/aws/lambda/cruddur-messaging-stream")
    );
    // Off in the file, so off here; everything else is on.
    let off: Vec<String> = graph
        .nodes
        .iter()
        .filter(|n| !n.enabled)
        .map(|n| n.address.to_string())
        .collect();
    assert_eq!(off, ["role.dax", "dax_cluster.cache"]);
}

#[test]
fn an_environment_that_serves_tables_only_draws_them_alone() {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/cruddur.yaml"));
    let mut stack = crate::stack::load(path).unwrap();
    resources::fit_to_engine(&mut stack, crate::engine::Engine::DynamodbLocal);
    stack.select("dynamodb-local").unwrap();
    let graph = Graph::of(&stack, "dynamodb-local");
    assert_eq!(graph.nodes.len(), 1, "{graph:?}");
    assert!(graph.edges.is_empty(), "{graph:?}");
    assert!(mermaid(&graph).contains("table_messages[\"table.messages<br/>cruddur-messages\"]"));
}

#[test]
fn seed_stack_as_mermaid() {
    insta::assert_snapshot!(mermaid(&seed("local")));
}

#[test]
fn the_readme_shows_what_graph_prints_for_the_seed_stack() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = format!("```mermaid\n{}```", mermaid(&seed("local")));
    assert!(readme.contains(&block), "README.md should show:\n{block}");
}

#[test]
fn seed_stack_as_dot() {
    insta::assert_snapshot!(dot(&seed("local")));
}

#[test]
fn ids_that_would_collide_get_a_suffix_and_quotes_are_escaped() {
    let node = |text: &str, name: Option<&str>, enabled| Node {
        address: address(text),
        name: name.map(str::to_string),
        enabled,
    };
    let graph = Graph {
        stack: "s\"1".into(),
        environment: "local".into(),
        nodes: vec![
            node("table.a-b", Some("say \"hi\""), true),
            node("table.a_b", None, false),
        ],
        edges: vec![(address("table.a-b"), address("table.a_b"))],
    };
    insta::assert_snapshot!(mermaid(&graph), @r#"
    flowchart LR
        %% stack `s"1`, environment `local`: arrows point in apply order
        table_a_b["table.a-b<br/>say #quot;hi#quot;"]
        table_a_b_2["table.a_b<br/>(disabled)"]
        table_a_b -.-> table_a_b_2
        classDef disabled stroke-dasharray: 5 5
        class table_a_b_2 disabled
    "#);
    insta::assert_snapshot!(dot(&graph), @r#"
    digraph "s\"1" {
        // environment `local`: arrows point in apply order
        rankdir=LR;
        node [shape=box];
        "table.a-b" [label="table.a-b\nsay \"hi\""];
        "table.a_b" [label="table.a_b\n(disabled)", style=dashed];
        "table.a-b" -> "table.a_b" [style=dashed];
    }
    "#);
}
