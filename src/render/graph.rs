//! `graph`: the stack's resources and the order between them, as a Mermaid flowchart
//! (which GitHub renders in Markdown) or Graphviz DOT. Built from the validated stack
//! alone: no AWS call, nothing decided, only drawn.
//!
//! An arrow goes from a resource to one that refers to it (`${table.messages.arn}` in a
//! role's policy, a function's `role:`, a mapping's `table:`), and from a function's log
//! group to the function: apply never makes a resource before one that points at it,
//! though it makes both at once when the value referred to is known before either exists
//! (an ARN AWS builds from a name). Destroy follows the arrows backwards. A resource the
//! environment turns off is drawn dashed, with the arrows that touch it.

use std::fmt::Write as _;

use crate::resources::{self, Address, Kind};
use crate::stack::Stack;

/// One resource in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its address, like `table.messages`.
    pub address: Address,
    /// Its name in AWS, for kinds that have one (a mapping and an endpoint have none).
    pub name: Option<String>,
    /// Whether the environment turns it on.
    pub enabled: bool,
}

/// The stack's resources in one environment and the order between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    /// The stack's name.
    pub stack: String,
    /// The environment it was selected for.
    pub environment: String,
    /// Every declared resource in registry then file order, each function's log group
    /// right after it.
    pub nodes: Vec<Node>,
    /// `(first, then)`: `then` refers to `first` (or is the function of the log group
    /// `first`), so apply never makes it earlier. Once each, in the order of `first` then
    /// `then` among the nodes.
    pub edges: Vec<(Address, Address)>,
}

impl Graph {
    /// The graph of `stack` as selected for `environment` (`Stack::select`): its
    /// declarations and the references recorded at validation (`Stack::uses`).
    #[must_use]
    pub fn of(stack: &Stack, environment: &str) -> Self {
        let groups = resources::log_group_names(stack);
        let mut nodes = Vec::new();
        for (address, enabled, _) in resources::declared_resources(stack) {
            let name = resources::aws_name(stack, &address).map(str::to_string);
            // A function's log group is `log_group.<function>` (`Address::owner`), and of
            // the stack's log groups, the one named after the function (Lambda's
            // `/aws/lambda/<name>`; function names have no `/`).
            let group = name
                .as_deref()
                .filter(|_| address.kind == Kind::Function)
                .and_then(|n| {
                    groups
                        .iter()
                        .find(|g| g.strip_suffix(n).is_some_and(|rest| rest.ends_with('/')))
                })
                .map(|g| Node {
                    address: Address::new(Kind::LogGroup, &address.name),
                    name: Some(g.clone()),
                    enabled,
                });
            nodes.push(Node {
                address,
                name,
                enabled,
            });
            nodes.extend(group);
        }
        let position = |a: &Address| nodes.iter().position(|n| &n.address == a);
        // A reference to what this environment does not serve (DynamoDB Local has no
        // roles) has no node, and no arrow.
        let mut edges: Vec<(usize, usize)> = stack
            .uses
            .iter()
            .filter_map(|u| Some((position(&u.to)?, position(&u.from)?)))
            .collect();
        // The log group goes first: the tool makes it with the function's retention before
        // the function, so that Lambda never makes one that keeps logs forever.
        for (i, n) in nodes.iter().enumerate() {
            if n.address.kind == Kind::LogGroup
                && let Some(function) = position(&n.address.owner())
            {
                edges.push((i, function));
            }
        }
        edges.sort_unstable();
        edges.dedup();
        let edges = edges
            .into_iter()
            .map(|(a, b)| (nodes[a].address.clone(), nodes[b].address.clone()))
            .collect();
        Self {
            stack: stack.name.clone(),
            environment: environment.to_string(),
            nodes,
            edges,
        }
    }

    /// Whether the resource at `address` is turned on (an address with no node is).
    fn enabled(&self, address: &Address) -> bool {
        self.nodes
            .iter()
            .find(|n| &n.address == address)
            .is_none_or(|n| n.enabled)
    }

    /// A node's lines: its address, its AWS name, and `(disabled)` when it is off.
    fn label(node: &Node) -> Vec<String> {
        let mut lines = vec![node.address.to_string()];
        lines.extend(node.name.clone());
        if !node.enabled {
            lines.push("(disabled)".into());
        }
        lines
    }
}

/// Mermaid ids for the nodes, in their order: the address with every character Mermaid
/// would read as syntax (`.`, `-`) as `_`, then `_2`, `_3`, … where two addresses would
/// read the same (`table.a-b`, `table.a_b`).
fn mermaid_ids(graph: &Graph) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for node in &graph.nodes {
        let base: String = node
            .address
            .to_string()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let mut id = base.clone();
        let mut n = 1;
        while ids.contains(&id) {
            n += 1;
            id = format!("{base}_{n}");
        }
        ids.push(id);
    }
    ids
}

/// The graph as a Mermaid flowchart, left to right in apply order. A disabled resource
/// is in the `disabled` class (a dashed border) and says `(disabled)`; an arrow touching
/// one is dotted.
#[must_use]
pub fn mermaid(graph: &Graph) -> String {
    let ids = mermaid_ids(graph);
    let id_of = |a: &Address| {
        graph
            .nodes
            .iter()
            .position(|n| &n.address == a)
            .map_or("", |i| ids[i].as_str())
    };
    let mut out = String::from("flowchart LR\n");
    let _ = writeln!(
        out,
        "    %% stack `{}`, environment `{}`: arrows point in apply order",
        graph.stack, graph.environment
    );
    for (node, id) in graph.nodes.iter().zip(&ids) {
        // Inside a quoted label only `"` is syntax; Mermaid's entity for it is `#quot;`.
        let label = Graph::label(node).join("<br/>").replace('"', "#quot;");
        let _ = writeln!(out, "    {id}[\"{label}\"]");
    }
    for (from, to) in &graph.edges {
        let arrow = if graph.enabled(from) && graph.enabled(to) {
            "-->"
        } else {
            "-.->"
        };
        let _ = writeln!(out, "    {} {arrow} {}", id_of(from), id_of(to));
    }
    let disabled: Vec<&str> = graph
        .nodes
        .iter()
        .zip(&ids)
        .filter(|(n, _)| !n.enabled)
        .map(|(_, id)| id.as_str())
        .collect();
    if !disabled.is_empty() {
        out.push_str("    classDef disabled stroke-dasharray: 5 5\n");
        let _ = writeln!(out, "    class {} disabled", disabled.join(","));
    }
    out
}

/// `text` as a DOT string literal: quoted, with `\` and `"` escaped.
fn dot_quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The graph as Graphviz DOT, left to right in apply order; a disabled resource and the
/// arrows touching it are `style=dashed`.
#[must_use]
pub fn dot(graph: &Graph) -> String {
    let mut out = format!("digraph {} {{\n", dot_quoted(&graph.stack));
    let _ = writeln!(
        out,
        "    // environment `{}`: arrows point in apply order",
        graph.environment
    );
    out.push_str("    rankdir=LR;\n    node [shape=box];\n");
    for node in &graph.nodes {
        // Each line escaped on its own, then joined with DOT's `\n` (a line break in a label).
        let label: Vec<String> = Graph::label(node)
            .iter()
            .map(|l| l.replace('\\', "\\\\").replace('"', "\\\""))
            .collect();
        let style = if node.enabled { "" } else { ", style=dashed" };
        let _ = writeln!(
            out,
            "    {} [label=\"{}\"{style}];",
            dot_quoted(&node.address.to_string()),
            label.join("\\n")
        );
    }
    for (from, to) in &graph.edges {
        let style = if graph.enabled(from) && graph.enabled(to) {
            ""
        } else {
            " [style=dashed]"
        };
        let _ = writeln!(
            out,
            "    {} -> {}{style};",
            dot_quoted(&from.to_string()),
            dot_quoted(&to.to_string())
        );
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
