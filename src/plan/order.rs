//! Dependency order: which changes may run together, and in which order.
//!
//! Changes are grouped into waves: everything in a wave depends only on earlier waves, so a
//! wave runs concurrently. Destroy walks the same graph backwards, because a dependent (a
//! mapping, a function) must be gone before what it uses (a function, a role, a table)
//! can be deleted.

use crate::resources::Address;

/// One change as ordering sees it: its address, what it depends on, and whether it
/// deletes (a deletion runs before the deletions of what it depends on).
pub type Node = (Address, Vec<Address>, bool);

/// Whether `a` must finish before `b` starts. A change runs after what it depends on,
/// except that a deletion runs before: a dependent (a mapping, a function) must be gone
/// before what it uses (a function, a role, a table) can be deleted. In `destroy` every
/// change is a deletion, so every edge is reversed; in `apply` only the deletions of
/// disabled resources are. A deletion that depends on a change that is no deletion waits
/// for it (a stray role goes only once the functions moved off it).
#[must_use]
pub fn runs_before(a: &Node, b: &Node) -> bool {
    if b.2 {
        (a.1.contains(&b.0) && a.2) || (b.1.contains(&a.0) && !a.2)
    } else {
        b.1.contains(&a.0)
    }
}

/// Groups `nodes` into waves (`runs_before` gives the edges). Dependencies on addresses
/// that are not in `nodes` are already satisfied. A cycle (which validation prevents)
/// puts the remaining nodes in one last wave rather than looping.
#[must_use]
pub fn waves(nodes: &[Node]) -> Vec<Vec<usize>> {
    let n = nodes.len();
    // before[i] = nodes that must finish before i.
    let mut before: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, b) in nodes.iter().enumerate() {
        for (j, a) in nodes.iter().enumerate() {
            if i != j && runs_before(a, b) {
                before[i].push(j);
            }
        }
    }
    let mut done = vec![false; n];
    let mut out = Vec::new();
    while done.iter().any(|d| !d) {
        let wave: Vec<usize> = (0..n)
            .filter(|&i| !done[i] && before[i].iter().all(|&d| done[d]))
            .collect();
        let wave = if wave.is_empty() {
            (0..n).filter(|&i| !done[i]).collect()
        } else {
            wave
        };
        for &i in &wave {
            done[i] = true;
        }
        out.push(wave);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Address;

    #[test]
    fn independent_nodes_share_one_wave_and_destroy_reverses_edges() {
        let a = Address::table("a");
        let b = Address::table("b");
        let c = Address::table("c");
        let nodes = |delete: bool| {
            vec![
                (a.clone(), vec![], delete),
                (b.clone(), vec![a.clone()], delete),
                (c.clone(), vec![], delete),
            ]
        };
        assert_eq!(waves(&nodes(false)), vec![vec![0, 2], vec![1]]);
        assert_eq!(waves(&nodes(true)), vec![vec![1, 2], vec![0]]);
    }

    #[test]
    fn in_one_plan_deletions_are_reversed_and_the_rest_is_not() {
        // A disabled cluster and its role are deleted (cluster first), while an enabled
        // function is created after its role.
        let role = Address::new(crate::resources::Kind::Role, "dax");
        let cluster = Address::new(crate::resources::Kind::Function, "cache");
        let fn_role = Address::new(crate::resources::Kind::Role, "fn");
        let function = Address::new(crate::resources::Kind::Function, "f");
        let nodes = vec![
            (role.clone(), vec![], true),
            (cluster, vec![role], true),
            (fn_role.clone(), vec![], false),
            (function, vec![fn_role], false),
        ];
        assert_eq!(waves(&nodes), vec![vec![1, 2], vec![0, 3]]);
    }

    #[test]
    fn a_stray_role_is_deleted_after_the_function_moved_off_it() {
        // The role was renamed: the function moves to the new role (an update), and the
        // old one, a stray, waits for that before it goes.
        let old = Address::new(crate::resources::Kind::Role, "old");
        let new = Address::new(crate::resources::Kind::Role, "new");
        let function = Address::new(crate::resources::Kind::Function, "f");
        let nodes = vec![
            (old, vec![new.clone(), function.clone()], true),
            (new.clone(), vec![], false),
            (function, vec![new], false),
        ];
        assert_eq!(waves(&nodes), vec![vec![1], vec![2], vec![0]]);
    }

    #[test]
    fn a_cycle_terminates() {
        let a = Address::table("a");
        let b = Address::table("b");
        let nodes = vec![(a.clone(), vec![b.clone()], false), (b, vec![a], false)];
        assert_eq!(waves(&nodes), vec![vec![0, 1]]);
    }
}
