//! Pure tests of the table diff and of the step sequencing AWS requires.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::resources::Effect;

/// The seed table of the bootcamp notes, as the stack declares it.
pub(crate) fn seed() -> TableSpec {
    TableSpec {
        name: "cruddur-messages".into(),
        attributes: BTreeMap::from([
            ("pk".into(), ScalarType::S),
            ("sk".into(), ScalarType::S),
            ("message_group_uuid".into(), ScalarType::S),
        ]),
        key: KeySchema {
            hash: "pk".into(),
            range: Some("sk".into()),
        },
        billing: Billing::Provisioned(Throughput { read: 5, write: 5 }),
        indexes: vec![IndexSpec {
            name: "message-group-sk-index".into(),
            key: KeySchema {
                hash: "message_group_uuid".into(),
                range: Some("sk".into()),
            },
            projection: Projection::All,
            throughput: Some(Throughput { read: 5, write: 5 }),
        }],
        stream: Some(StreamView::NewImage),
        deletion_protection: false,
        ttl_attribute: None,
        point_in_time_recovery: false,
        tags: BTreeMap::new(),
    }
}

/// A live table whose configuration is `config`, owned by `cruddur`.
pub(crate) fn live(config: TableSpec) -> TableLive {
    TableLive {
        arn: format!(
            "arn:aws:dynamodb:ca-central-1:123456789012:table/{}",
            config.name
        ),
        stream_arn: config.stream.map(|_| "arn:stream/1".to_string()),
        config,
        owner: Some("cruddur".into()),
        state: TableState::Active,
        item_count: 0,
        ttl_transition: None,
    }
}

#[test]
fn identical_configuration_has_no_diff() {
    assert_eq!(diff(&seed(), &live(seed())), vec![]);
    assert_eq!(update_steps(&seed(), &live(seed())), vec![]);
}

#[test]
fn non_key_attributes_compare_as_a_set() {
    let mut wanted = seed();
    wanted.indexes[0].projection = Projection::Include(BTreeSet::from(["b".into(), "a".into()]));
    let mut have = seed();
    have.indexes[0].projection = Projection::Include(BTreeSet::from(["a".into(), "b".into()]));
    assert_eq!(diff(&wanted, &live(have)), vec![]);
}

#[test]
fn indexes_are_matched_by_name_not_position() {
    let mut wanted = seed();
    let mut second = wanted.indexes[0].clone();
    second.name = "another-index".into();
    wanted.indexes.push(second.clone());
    let mut have = seed();
    have.indexes.insert(0, second);
    assert_eq!(diff(&wanted, &live(have)), vec![]);
}

#[test]
fn read_capacity_drift_is_one_in_place_field() {
    let mut have = seed();
    have.billing = Billing::Provisioned(Throughput { read: 10, write: 5 });
    let diffs = diff(&seed(), &live(have.clone()));
    assert_eq!(
        diffs,
        vec![FieldDiff {
            path: "billing.read".into(),
            old: Some(Val::Int(10)),
            new: Some(Val::Int(5)),
            effect: Effect::InPlace,
        }]
    );
    assert_eq!(
        update_steps(&seed(), &live(have)),
        vec![TableStep::Update {
            billing: Some(Billing::Provisioned(Throughput { read: 5, write: 5 })),
            index_throughput: vec![],
            deletion_protection: None,
        }]
    );
}

#[test]
fn sort_key_change_forces_replacement() {
    let mut wanted = seed();
    wanted.attributes.insert("created_at".into(), ScalarType::S);
    wanted.key.range = Some("created_at".into());
    let diffs = diff(&wanted, &live(seed()));
    let key = diffs
        .iter()
        .find(|d| d.path == "key.range")
        .expect("key.range differs");
    assert!(key.forces_replacement());
    assert_eq!(key.old, Some(Val::Str("sk (S)".into())));
    assert_eq!(key.new, Some(Val::Str("created_at (S)".into())));
}

#[test]
fn removing_the_sort_key_also_forces_replacement() {
    let mut wanted = seed();
    wanted.key.range = None;
    let diffs = diff(&wanted, &live(seed()));
    assert!(
        diffs
            .iter()
            .any(|d| d.path == "key.range" && d.new.is_none() && d.forces_replacement())
    );
}

#[test]
fn projection_change_replaces_only_that_index() {
    let mut wanted = seed();
    wanted.indexes[0].projection = Projection::KeysOnly;
    let diffs = diff(&wanted, &live(seed()));
    assert_eq!(diffs.len(), 1);
    assert!(
        matches!(&diffs[0].effect, Effect::ReplacesPart(why) if why.contains("message-group-sk-index"))
    );
    assert!(!diffs[0].forces_replacement());
    let steps = update_steps(&wanted, &live(seed()));
    assert_eq!(steps.len(), 2);
    assert_eq!(
        steps[0],
        TableStep::DeleteIndex("message-group-sk-index".into())
    );
    assert!(
        matches!(&steps[1], TableStep::CreateIndex { index, .. } if index.projection == Projection::KeysOnly)
    );
}

#[test]
fn index_deletes_come_first_then_capacity_then_one_create_per_step() {
    let mut wanted = seed();
    wanted.billing = Billing::Provisioned(Throughput { read: 7, write: 5 });
    wanted.attributes.insert("user_uuid".into(), ScalarType::S);
    wanted.attributes.insert("created_at".into(), ScalarType::N);
    wanted.indexes.push(IndexSpec {
        name: "by-user".into(),
        key: KeySchema {
            hash: "user_uuid".into(),
            range: None,
        },
        projection: Projection::KeysOnly,
        throughput: Some(Throughput { read: 1, write: 1 }),
    });
    wanted.indexes.push(IndexSpec {
        name: "by-date".into(),
        key: KeySchema {
            hash: "created_at".into(),
            range: None,
        },
        projection: Projection::All,
        throughput: Some(Throughput { read: 1, write: 1 }),
    });
    let mut have = seed();
    have.attributes.insert("old".into(), ScalarType::S);
    have.indexes.push(IndexSpec {
        name: "old-index".into(),
        key: KeySchema {
            hash: "old".into(),
            range: None,
        },
        projection: Projection::All,
        throughput: Some(Throughput { read: 1, write: 1 }),
    });
    let steps = update_steps(&wanted, &live(have));
    let names: Vec<String> = steps
        .iter()
        .map(|s| match s {
            TableStep::DeleteIndex(n) => format!("delete {n}"),
            TableStep::Update { .. } => "update".into(),
            TableStep::CreateIndex { index, attributes } => {
                let attrs: Vec<&str> = attributes.iter().map(|(a, _)| a.as_str()).collect();
                format!("create {} with {}", index.name, attrs.join(","))
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        vec![
            "delete old-index",
            "update",
            // Each create sends the definitions of every key that exists once it does,
            // and none of a deleted index (AWS rejects unused definitions).
            "create by-date with created_at,message_group_uuid,pk,sk",
            "create by-user with created_at,message_group_uuid,pk,sk,user_uuid",
        ]
    );
}

#[test]
fn switching_to_provisioned_names_every_kept_index_capacity() {
    let mut have = seed();
    have.billing = Billing::PayPerRequest;
    have.indexes[0].throughput = None;
    let steps = update_steps(&seed(), &live(have));
    assert_eq!(
        steps,
        vec![TableStep::Update {
            billing: Some(Billing::Provisioned(Throughput { read: 5, write: 5 })),
            index_throughput: vec![(
                "message-group-sk-index".into(),
                Throughput { read: 5, write: 5 }
            )],
            deletion_protection: None,
        }]
    );
}

#[test]
fn stream_view_change_is_disable_then_enable_with_a_note() {
    let mut wanted = seed();
    wanted.stream = Some(StreamView::NewAndOldImages);
    let diffs = diff(&wanted, &live(seed()));
    assert!(matches!(&diffs[0].effect, Effect::Note(n) if n.contains("new ARN")));
    assert_eq!(
        update_steps(&wanted, &live(seed())),
        vec![
            TableStep::DisableStream,
            TableStep::EnableStream(StreamView::NewAndOldImages)
        ]
    );
}

#[test]
fn turning_the_stream_off_is_a_single_disable() {
    let mut wanted = seed();
    wanted.stream = None;
    assert_eq!(
        update_steps(&wanted, &live(seed())),
        vec![TableStep::DisableStream]
    );
}

#[test]
fn a_ttl_move_disables_now_and_leaves_the_enable_to_a_later_apply() {
    // Guards issue 8.3: AWS allows about one TTL change per hour; disabling and enabling
    // in one apply stopped halfway with TTL off and failed re-plans for an hour.
    let mut wanted = seed();
    wanted.ttl_attribute = Some("expires_at".into());
    let mut have = seed();
    have.ttl_attribute = Some("ttl".into());
    let l = live(have);
    assert_eq!(
        update_steps(&wanted, &l),
        vec![TableStep::SetTtl {
            attribute: "ttl".into(),
            enabled: false
        }]
    );
    let note = ttl_note(&wanted, &l).expect("the reader is told");
    assert!(note.contains("two applies"), "{note}");
    assert!(note.contains("about an hour"), "{note}");
    let d = diff(&wanted, &l);
    assert!(
        matches!(&d[0].effect, Effect::Note(n) if n.contains("later apply")),
        "{d:?}"
    );
    // The later apply, once AWS reports TTL disabled: one enable.
    let mut off = seed();
    off.ttl_attribute = None;
    assert_eq!(
        update_steps(&wanted, &live(off)),
        vec![TableStep::SetTtl {
            attribute: "expires_at".into(),
            enabled: true
        }]
    );
}

#[test]
fn no_ttl_step_while_aws_is_enabling_or_disabling() {
    // Guards issue 8.3: AWS refuses any TTL change during a transition.
    let mut wanted = seed();
    wanted.ttl_attribute = Some("expires_at".into());
    for transition in [TtlTransition::Enabling, TtlTransition::Disabling] {
        let mut l = live(seed());
        l.ttl_transition = Some(transition);
        assert_eq!(update_steps(&wanted, &l), vec![], "{transition}");
        let note = ttl_note(&wanted, &l).expect("explained");
        assert!(note.contains(&transition.to_string()), "{note}");
    }
}

#[test]
fn tags_are_a_map_added_changed_and_removed() {
    let mut wanted = seed();
    wanted.tags = BTreeMap::from([
        ("app".into(), "cruddur".into()),
        ("env".into(), "prod".into()),
    ]);
    let mut have = seed();
    have.tags = BTreeMap::from([
        ("app".into(), "cruddur".into()),
        ("env".into(), "dev".into()),
        ("old".into(), "x".into()),
    ]);
    assert_eq!(
        update_steps(&wanted, &live(have)),
        vec![
            TableStep::Tag(BTreeMap::from([("env".into(), "prod".into())])),
            TableStep::Untag(vec!["old".into()]),
        ]
    );
}

#[test]
fn index_key_type_change_rebuilds_the_index() {
    let mut wanted = seed();
    wanted
        .attributes
        .insert("message_group_uuid".into(), ScalarType::N);
    let steps = update_steps(&wanted, &live(seed()));
    assert_eq!(
        steps[0],
        TableStep::DeleteIndex("message-group-sk-index".into())
    );
    assert!(
        matches!(&steps[1], TableStep::CreateIndex { attributes, .. }
        if attributes.contains(&("message_group_uuid".to_string(), ScalarType::N)))
    );
}

mod properties {
    //! For generated pairs of a wanted and a live table that differ only in what AWS changes
    //! in place, the diff is empty exactly when the update steps are empty: no field is
    //! compared without being applied, or applied without being compared.

    use proptest::prelude::*;

    use super::*;

    fn throughput() -> impl Strategy<Value = Throughput> {
        (1..4i64, 1..4i64).prop_map(|(read, write)| Throughput { read, write })
    }

    fn table() -> impl Strategy<Value = TableSpec> {
        let index = |name: &'static str| {
            (
                prop::sample::select(vec!["a", "b"]),
                prop::option::of(Just("sk")),
                prop_oneof![
                    Just(Projection::All),
                    Just(Projection::KeysOnly),
                    prop::collection::btree_set(prop::sample::select(vec!["x", "y"]), 1..3)
                        .prop_map(|s| Projection::Include(
                            s.into_iter().map(String::from).collect()
                        )),
                ],
                throughput(),
            )
                .prop_map(move |(hash, range, projection, t)| IndexSpec {
                    name: name.into(),
                    key: KeySchema {
                        hash: hash.into(),
                        range: range.map(String::from),
                    },
                    projection,
                    throughput: Some(t),
                })
        };
        (
            prop::option::of(throughput()),
            prop::option::of(index("i1")),
            prop::option::of(index("i2")),
            prop::option::of(prop::sample::select(StreamView::ALL.to_vec())),
            any::<bool>(),
            prop::option::of(prop::sample::select(vec!["ttl", "expires_at"])),
            any::<bool>(),
            prop::collection::btree_map(
                prop::sample::select(vec!["app", "team"]),
                prop::sample::select(vec!["1", "2"]),
                0..3,
            ),
        )
            .prop_map(|(billing, i1, i2, stream, dp, ttl, pitr, tags)| {
                let on_demand = billing.is_none();
                let mut indexes: Vec<IndexSpec> = i1.into_iter().chain(i2).collect();
                for i in &mut indexes {
                    if on_demand {
                        i.throughput = None;
                    }
                }
                TableSpec {
                    name: "t".into(),
                    attributes: ["pk", "sk", "a", "b"]
                        .into_iter()
                        .map(|n| (n.to_string(), ScalarType::S))
                        .collect(),
                    key: KeySchema {
                        hash: "pk".into(),
                        range: Some("sk".into()),
                    },
                    billing: billing.map_or(Billing::PayPerRequest, Billing::Provisioned),
                    indexes,
                    stream,
                    deletion_protection: dp,
                    ttl_attribute: ttl.map(String::from),
                    point_in_time_recovery: pitr,
                    tags: tags
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                }
            })
    }

    /// `a` with field group `k` (1–7) taken from `b`; 0 leaves `a` as it is. One field at a
    /// time, so a field compared but never applied (or the reverse) shows up.
    fn mix(a: &TableSpec, b: &TableSpec, k: u8) -> TableSpec {
        let mut w = a.clone();
        match k {
            1 => w.billing = b.billing,
            2 => w.indexes.clone_from(&b.indexes),
            3 => w.stream = b.stream,
            4 => w.deletion_protection = b.deletion_protection,
            5 => w.ttl_attribute.clone_from(&b.ttl_attribute),
            6 => w.point_in_time_recovery = b.point_in_time_recovery,
            7 => w.tags.clone_from(&b.tags),
            _ => {}
        }
        // Index capacity exists exactly under provisioned billing.
        for i in &mut w.indexes {
            i.throughput = match w.billing {
                Billing::PayPerRequest => None,
                Billing::Provisioned(_) => i.throughput.or(Some(Throughput { read: 1, write: 1 })),
            };
        }
        w
    }

    proptest! {
        #[test]
        fn the_diff_is_empty_exactly_when_the_update_steps_are(
            have in table(),
            other in table(),
            k in 0..8u8,
        ) {
            let wanted = mix(&have, &other, k);
            let l = live(have);
            prop_assert_eq!(
                diff(&wanted, &l).is_empty(),
                update_steps(&wanted, &l).is_empty(),
                "diff {:?}\nsteps {:?}",
                diff(&wanted, &l),
                update_steps(&wanted, &l)
            );
        }
    }
}
