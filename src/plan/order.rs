//! Dependency order: which changes may run together, and in which order.
//!
//! Changes are grouped into waves: everything in a wave depends only on earlier waves, so a
//! wave runs concurrently. Destroy walks the same graph backwards, because a dependent (a
//! mapping, a function) must be gone before what it uses (a function, a role, a table)
//! can be deleted.

use crate::resources::Address;

/// Groups `nodes` (each with the addresses it depends on) into waves. Dependencies on
/// addresses that are not in `nodes` are already satisfied. `reverse` flips every edge,
/// for destroy. A cycle (which validation prevents) puts the remaining nodes in one last
/// wave rather than looping.
#[must_use]
pub fn waves(nodes: &[(Address, Vec<Address>)], reverse: bool) -> Vec<Vec<usize>> {
    let n = nodes.len();
    let index = |a: &Address| nodes.iter().position(|(x, _)| x == a);
    // edges[i] = nodes that must finish before i.
    let mut before: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, (_, deps)) in nodes.iter().enumerate() {
        for d in deps.iter().filter_map(index) {
            if reverse {
                before[d].push(i);
            } else {
                before[i].push(d);
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
        let nodes = vec![
            (a.clone(), vec![]),
            (b.clone(), vec![a.clone()]),
            (c, vec![]),
        ];
        assert_eq!(waves(&nodes, false), vec![vec![0, 2], vec![1]]);
        assert_eq!(waves(&nodes, true), vec![vec![1, 2], vec![0]]);
    }

    #[test]
    fn a_cycle_terminates() {
        let a = Address::table("a");
        let b = Address::table("b");
        let nodes = vec![(a.clone(), vec![b.clone()]), (b, vec![a])];
        assert_eq!(waves(&nodes, false), vec![vec![0, 1]]);
    }
}
