//! The data commands: seed files read with their places, items checked against a table's
//! keys, key conditions, printing, and at the SDK seam the batching and its retries.

use std::path::Path;

use super::aws::{Backoff, WRITE_BATCH, WriteError};
use super::seed::{self, SeedItem};
use super::{Item, KeyAttr, Keys, Plain, ScalarType, TableKeys, query, show};

fn attr(name: &str, ty: ScalarType) -> KeyAttr {
    KeyAttr {
        name: name.into(),
        ty,
    }
}

/// The seed table's keys: pk/sk strings, and the message-group index.
fn messages() -> TableKeys {
    TableKeys {
        table: "cruddur-messages".into(),
        primary: Keys {
            hash: attr("pk", ScalarType::S),
            range: Some(attr("sk", ScalarType::S)),
        },
        indexes: vec![(
            "message-group-sk-index".into(),
            Keys {
                hash: attr("message_group_uuid", ScalarType::S),
                range: Some(attr("sk", ScalarType::S)),
            },
        )],
    }
}

fn parse(text: &str) -> Vec<SeedItem> {
    seed::parse(Path::new("seed.yaml"), text).expect("parses")
}

fn check(text: &str) -> Vec<(String, Option<u64>)> {
    seed::check(&parse(text), &messages())
        .into_iter()
        .map(|d| (d.message, d.loc.map(|l| l.line)))
        .collect()
}

fn s(v: &str) -> Plain {
    Plain::String(v.into())
}

#[test]
fn the_shipped_sample_is_two_group_rows_and_a_conversation_that_checks_clean() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/data/conversation.yaml");
    let file = seed::load(&path).expect("the sample loads");
    assert!(seed::check(&file.items, &messages()).is_empty());
    let groups: Vec<&Item> = file
        .items
        .iter()
        .map(|i| &i.item)
        .filter(|i| matches!(i.get("pk"), Some(Plain::String(p)) if p.starts_with("GRP#")))
        .collect();
    assert_eq!(groups.len(), 2, "one group row per user");
    // Each user's group row names the other user.
    for g in &groups {
        let Some(Plain::String(pk)) = g.get("pk") else {
            panic!("pk")
        };
        assert_ne!(Some(&s(&pk["GRP#".len()..])), g.get("user_uuid"));
        for field in [
            "sk",
            "message_group_uuid",
            "message",
            "user_display_name",
            "user_handle",
        ] {
            assert!(g.contains_key(field), "group row lacks {field}");
        }
    }
    let messages: Vec<&Item> = file
        .items
        .iter()
        .map(|i| &i.item)
        .filter(|i| matches!(i.get("pk"), Some(Plain::String(p)) if p.starts_with("MSG#")))
        .collect();
    assert_eq!(groups.len() + messages.len(), file.items.len());
    assert!(messages.len() > WRITE_BATCH, "the sample takes two batches");
    for m in &messages {
        for field in [
            "sk",
            "message_uuid",
            "message",
            "user_uuid",
            "user_display_name",
            "user_handle",
        ] {
            assert!(m.contains_key(field), "message row lacks {field}");
        }
    }
}

#[test]
fn plain_values_keep_their_types_and_places_in_yaml_and_json() {
    let items = parse(
        "- pk: GRP#1\n  sk: '2023-01-01'\n  n: 42\n  f: 1.5\n  ok: true\n  handle: no\n  short: y\n  none: null\n  tags: [a, 1]\n  m: {x: -3}\n",
    );
    let item = &items[0].item;
    assert_eq!(item["n"], Plain::Number("42".into()));
    assert_eq!(item["f"], Plain::Number("1.5".into()));
    assert_eq!(item["ok"], Plain::Bool(true));
    // YAML 1.1's booleans are strings here, as JSON and people read them.
    assert_eq!(item["handle"], s("no"));
    assert_eq!(item["short"], s("y"));
    assert_eq!(item["none"], Plain::Null);
    assert_eq!(
        item["tags"],
        Plain::List(vec![s("a"), Plain::Number("1".into())])
    );
    assert_eq!(items[0].loc.map(|l| l.line), Some(1));
    assert_eq!(items[0].places["n"].map(|l| l.line), Some(3));
    let json = parse(
        "[\n  {\"pk\": \"a\", \"sk\": \"b\"},\n  {\"pk\": \"c\", \"sk\": \"d\", \"n\": 7}\n]\n",
    );
    assert_eq!(json.len(), 2);
    assert_eq!(json[1].loc.map(|l| l.line), Some(3));
    assert_eq!(json[1].item["n"], Plain::Number("7".into()));
}

#[test]
fn unreadable_numbers_and_shapes_are_errors_with_their_line() {
    for (text, line, words) in [
        (
            "- {pk: a, sk: b}\n- {pk: c, sk: d, n: 123456789012345678901234567890123456789}\n",
            2,
            "has 39 significant digits; DynamoDB numbers keep at most 38",
        ),
        ("- {pk: a, sk: b, n: .nan}\n", 1, "non-finite"),
        // An item that is not a mapping: the reader's own words, at the item.
        (
            "- {pk: a, sk: b}\n- just a string\n",
            2,
            "expected mapping start",
        ),
        ("- {pk: a, sk: b, pk: c}\n", 1, "appears twice"),
    ] {
        let e = seed::parse(Path::new("seed.yaml"), text).expect_err(text);
        let d = &e.diagnostics[0];
        assert_eq!(d.loc.map(|l| l.line), Some(line), "{text}: {d:?}");
        assert!(d.message.contains(words), "{text}: {d:?}");
        assert!(
            e.render(false)
                .contains("nothing was written from `seed.yaml`")
        );
    }
    let e = seed::parse(Path::new("seed.yaml"), "# nothing\n").expect_err("empty");
    assert!(e.diagnostics[0].message.contains("no items"));
    let e = seed::parse(Path::new("seed.yaml"), "[]\n").expect_err("empty list");
    assert!(e.diagnostics[0].message.contains("no items"));
}

#[test]
fn a_missing_sort_key_names_the_item_and_its_line() {
    let problems = check("- {pk: a, sk: b}\n- pk: GRP#2\n  message: hi\n");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].0.contains("item 2 has no `sk`"), "{problems:?}");
    assert!(problems[0].0.contains("sort key of `cruddur-messages`"));
    assert_eq!(problems[0].1, Some(2));
}

#[test]
fn key_values_dynamodb_refuses_are_found_at_the_value() {
    let problems = check(
        "- {pk: a, sk: b}\n- pk: a\n  sk: 5\n- {pk: '', sk: c}\n- {pk: d, sk: e, message_group_uuid: 7}\n- {pk: f, sk: g, message_group_uuid: ''}\n- {pk: [x], sk: h}\n",
    );
    let lines: Vec<Option<u64>> = problems.iter().map(|p| p.1).collect();
    assert_eq!(
        lines,
        [Some(3), Some(4), Some(5), Some(6), Some(7)],
        "{problems:?}"
    );
    assert!(problems[0].0.contains("`sk` is a number"));
    assert!(problems[1].0.contains("`pk` is an empty string"));
    assert!(problems[2].0.contains("index `message-group-sk-index`"));
    assert!(problems[3].0.contains("empty string"));
    assert!(problems[4].0.contains("`pk` is a list"));
}

#[test]
fn the_same_key_twice_is_an_error_naming_both_lines() {
    let problems = check("- {pk: a, sk: b, n: 1}\n- {pk: c, sk: b}\n- {pk: a, sk: b, n: 2}\n");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].0.contains("same key as item 1 (line 1)"),
        "{problems:?}"
    );
    assert_eq!(problems[0].1, Some(3));
}

#[test]
fn an_item_over_400_kb_is_refused() {
    let big = "x".repeat(401 * 1024);
    let problems = check(&format!("- {{pk: a, sk: b, body: {big}}}\n"));
    assert!(problems[0].0.contains("400 KB"), "{problems:?}");
}

#[test]
fn a_key_condition_on_the_table_and_on_an_index() {
    let keys = messages();
    let c = query::condition(&keys, None, "pk=GRP#1", Some("sk=2023")).unwrap();
    assert_eq!(c.expression, "#k0 = :k0 AND begins_with(#k1, :k1)");
    assert_eq!(
        c.names,
        [("#k0".into(), "pk".into()), ("#k1".into(), "sk".into())]
    );
    assert_eq!(
        c.values,
        [(":k0".into(), s("GRP#1")), (":k1".into(), s("2023"))]
    );
    assert_eq!(c.index, None);
    let c = query::condition(
        &keys,
        Some("message-group-sk-index"),
        "message_group_uuid=5ae2=x",
        None,
    )
    .unwrap();
    assert_eq!(c.expression, "#k0 = :k0");
    assert_eq!(
        c.values,
        [(":k0".into(), s("5ae2=x"))],
        "only the first `=` splits"
    );
    assert_eq!(c.index.as_deref(), Some("message-group-sk-index"));
}

#[test]
fn a_wrong_key_condition_says_which_key_to_use() {
    let keys = messages();
    let help = |index: Option<&str>, key: &str, begins: Option<&str>| {
        let e = query::condition(&keys, index, key, begins).expect_err(key);
        format!("{} / {}", e.message, e.help)
    };
    assert!(
        help(None, "message_group_uuid=1", None).contains("add `--index message-group-sk-index`")
    );
    assert!(help(Some("message-group-sk-index"), "pk=1", None).contains("leave out `--index`"));
    assert!(help(None, "sk=1", None).contains("its partition key is `pk`"));
    assert!(help(Some("nope"), "pk=1", None).contains("its indexes: `message-group-sk-index`"));
    assert!(help(None, "pk=1", Some("message=a")).contains("its sort key is `sk`"));
    assert!(help(None, "pk=", None).contains("has no value"));
    assert!(help(None, "pk", None).contains("is not `ATTR=VALUE`"));
    assert!(help(None, "pk=1", Some("sk=")).contains("needs a prefix"));
    let numbers = TableKeys {
        table: "t".into(),
        primary: Keys {
            hash: attr("id", ScalarType::N),
            range: Some(attr("at", ScalarType::N)),
        },
        indexes: vec![],
    };
    let e = query::condition(&numbers, None, "id=abc", None).expect_err("not a number");
    assert!(e.message.contains("not a number"));
    let ok = query::condition(&numbers, None, "id=12", None).unwrap();
    assert_eq!(ok.values[0].1, Plain::Number("12".into()));
    let e = query::condition(&numbers, None, "id=12", Some("at=1")).expect_err("N prefix");
    assert!(e.message.contains("string sort keys only"));
}

#[test]
fn json_lines_are_plain_values_and_tables_put_keys_first() {
    let item: Item = [
        ("sk".to_string(), s("2023-02-18")),
        ("pk".to_string(), s("MSG#1")),
        ("n".to_string(), Plain::Number("1.50".into())),
        (
            "big".to_string(),
            Plain::Number("123456789012345678901234567890".into()),
        ),
        ("ok".to_string(), Plain::Bool(true)),
        ("text".to_string(), s("two\nlines")),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        show::json_line(&item),
        r#"{"big":"123456789012345678901234567890","n":1.5,"ok":true,"pk":"MSG#1","sk":"2023-02-18","text":"two\nlines"}"#
    );
    let other: Item = [("pk".to_string(), s("GRP#1")), ("sk".to_string(), s("x"))]
        .into_iter()
        .collect();
    let table = show::table(&[item, other], &messages().primary, Some(8));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["pk", "sk", "big", "n", "ok", "text"]
    );
    assert!(lines[2].starts_with("MSG#1"), "{table}");
    assert!(lines[2].contains("2023-02…"), "cut to the width: {table}");
    assert!(lines[2].contains("two\\nli…"), "one line per item: {table}");
    assert_eq!(lines[3].trim_end(), lines[3], "no trailing blanks");
    assert_eq!(lines.len(), 4);
}

// ---- Numbers as DynamoDB keeps them ----

/// The `N` text a parsed value is sent as.
fn n_text(value: &Plain) -> String {
    match super::aws::to_attr(value) {
        AttributeValue::N(n) => n,
        other => panic!("not a number: {other:?}"),
    }
}

/// The diagnostics of a seed text that must not parse: (message, line, help).
fn refused(text: &str) -> Vec<(String, Option<u64>, String)> {
    let e = seed::parse(Path::new("seed.yaml"), text).expect_err(text);
    assert!(
        e.render(false)
            .contains("nothing was written from `seed.yaml`"),
        "{text}"
    );
    e.diagnostics
        .into_iter()
        .map(|d| (d.message, d.loc.map(|l| l.line), d.help.unwrap_or_default()))
        .collect()
}

#[test]
fn numbers_of_38_significant_digits_are_sent_exactly_as_the_file_writes_them() {
    let items = parse(
        "- pk: a\n  sk: b\n  whole: 12345678901234567890123456789012345678\n  fraction: 0.12345678901234567890123456789012345678\n  mixed: -1234567890123456789.0123456789012345678\n  nested: {deep: [1.50, 98765432109876543210987654321098765432]}\n",
    );
    let item = &items[0].item;
    assert_eq!(
        n_text(&item["whole"]),
        "12345678901234567890123456789012345678"
    );
    assert_eq!(
        n_text(&item["fraction"]),
        "0.12345678901234567890123456789012345678"
    );
    assert_eq!(
        n_text(&item["mixed"]),
        "-1234567890123456789.0123456789012345678"
    );
    let Plain::Map(nested) = &item["nested"] else {
        panic!("{item:?}")
    };
    assert_eq!(
        nested["deep"],
        Plain::List(vec![
            Plain::Number("1.5".into()),
            Plain::Number("98765432109876543210987654321098765432".into()),
        ])
    );
}

#[test]
fn a_39th_significant_digit_is_refused_naming_the_line_before_anything_is_written() {
    let problems = refused(
        "- {pk: a, sk: b, n: 1}\n- {pk: c, sk: d, n: 1.23456789012345678901234567890123456789}\n- {pk: e, sk: f, m: {x: [123456789012345678901234567890123456789]}}\n",
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(
        problems[0].0,
        "item 2: `n` is 1.23456789012345678901234567890123456789, which has 39 significant digits; DynamoDB numbers keep at most 38"
    );
    assert_eq!(problems[0].1, Some(2));
    assert!(problems[0].2.contains("round it to 38 significant digits"));
    assert!(
        problems[1].0.starts_with("item 3: `m.x[0]` is 1234567890"),
        "{problems:?}"
    );
    assert!(problems[1].0.contains("has 39 significant digits"));
    assert_eq!(problems[1].1, Some(3));
}

#[test]
fn magnitudes_outside_1e_130_to_9_99e125_are_refused_and_both_ends_accepted() {
    let problems = refused(
        "- {pk: a, sk: b, n: 5}\n- {pk: c, sk: d, n: 1E-131}\n- {pk: e, sk: f, n: 1E126}\n- {pk: g, sk: h, n: -1E126}\n",
    );
    let lines: Vec<Option<u64>> = problems.iter().map(|p| p.1).collect();
    assert_eq!(lines, [Some(2), Some(3), Some(4)], "{problems:?}");
    assert!(
        problems[0].0.contains(
            "`n` is 1E-131, which is smaller in magnitude than DynamoDB's smallest number, 1E-130"
        ),
        "{problems:?}"
    );
    assert!(
        problems[1].0.contains(
            "`n` is 1E126, which is larger in magnitude than DynamoDB's largest number, 9.9999999999999999999999999999999999999E+125"
        ),
        "{problems:?}"
    );
    assert!(problems[2].0.contains("`n` is -1E126"), "{problems:?}");
    assert!(
        problems
            .iter()
            .all(|p| p.2.contains("quote the value to keep it as a string")),
        "{problems:?}"
    );
    let items = parse(
        "- {pk: a, sk: b, lo: 1E-130, hi: 9.9999999999999999999999999999999999999E+125, neg: -1E-130}\n",
    );
    let item = &items[0].item;
    assert_eq!(
        n_text(&item["lo"]),
        format!("0.{}1", "0".repeat(129)),
        "1E-130, as DynamoDB writes it"
    );
    assert_eq!(
        n_text(&item["hi"]),
        format!("{}{}", "9".repeat(38), "0".repeat(88))
    );
    assert_eq!(n_text(&item["neg"]), format!("-0.{}1", "0".repeat(129)));
}

#[test]
fn minus_zero_is_stored_as_zero() {
    let items = parse("- {pk: a, sk: b, a: -0, b: -0.0, c: -0e5, d: 0.000}\n");
    for attr in ["a", "b", "c", "d"] {
        assert_eq!(items[0].item[attr], Plain::Number("0".into()), "{attr}");
    }
}

#[test]
fn one_number_written_two_ways_is_one_key() {
    let scores = TableKeys {
        table: "scores".into(),
        primary: Keys {
            hash: attr("id", ScalarType::N),
            range: None,
        },
        indexes: vec![],
    };
    let text = "- {id: 1}\n- {id: 1.0}\n- {id: 1e0}\n- {id: 0}\n- {id: -0.0}\n- {id: 12345678901234567890123456789012345678}\n- {id: 12345678901234567890123456789012345678.000}\n- {id: 12345678901234567890123456789012345679}\n";
    let problems: Vec<(String, Option<u64>)> = seed::check(&parse(text), &scores)
        .into_iter()
        .map(|d| (d.message, d.loc.map(|l| l.line)))
        .collect();
    assert_eq!(
        problems,
        [
            ("item 2 has the same key as item 1 (line 1): 1".to_string(), Some(2)),
            ("item 3 has the same key as item 1 (line 1): 1".to_string(), Some(3)),
            ("item 5 has the same key as item 4 (line 4): 0".to_string(), Some(5)),
            (
                "item 7 has the same key as item 6 (line 6): 12345678901234567890123456789012345678"
                    .to_string(),
                Some(7)
            ),
        ]
    );
    // Key text made elsewhere (a query, an item read back) agrees with the seed's.
    assert_eq!(
        Plain::Number("1.0".into()).key_text(),
        Plain::Number("1".into()).key_text()
    );
}

#[test]
fn number_text_takes_dynamodbs_form() {
    use super::{NumberError, number};
    for (text, form) in [
        ("1.5E2", "150"),
        ("007", "7"),
        ("+.5", "0.5"),
        ("1.50", "1.5"),
        ("-12.340e1", "-123.4"),
        ("0e1000", "0"),
        ("-0", "0"),
        ("1e-3", "0.001"),
    ] {
        assert_eq!(number(text).as_deref(), Ok(form), "{text}");
    }
    for (text, why) in [
        ("abc", NumberError::NotDecimal),
        ("1e", NumberError::NotDecimal),
        (".", NumberError::NotDecimal),
        ("1e99999999999999999999999", NumberError::TooLarge),
        ("1e-99999999999999999999999", NumberError::TooSmall),
        (
            "1234567890123456789012345678901234567890000",
            NumberError::Digits(39),
        ),
    ] {
        assert_eq!(number(text), Err(why), "{text}");
    }
}

#[test]
fn a_number_key_on_the_command_line_is_read_as_the_table_keeps_it() {
    let numbers = TableKeys {
        table: "t".into(),
        primary: Keys {
            hash: attr("id", ScalarType::N),
            range: None,
        },
        indexes: vec![],
    };
    let c = query::condition(&numbers, None, "id=12.50", None).unwrap();
    assert_eq!(c.values[0].1, Plain::Number("12.5".into()));
    let e = query::condition(&numbers, None, "id=1e126", None).expect_err("out of range");
    assert!(e.message.contains("larger in magnitude"), "{}", e.message);
}

// ---- The SDK seam ----

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemError, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemError, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::types::error::{
    ProvisionedThroughputExceededException, RequestLimitExceeded, ResourceNotFoundException,
    ThrottlingException,
};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use aws_smithy_mocks::{RuleMode, mock};

use crate::testing::{aws_of, mock_sdk_client};

fn numbered(n: usize) -> Vec<Item> {
    (0..n)
        .map(|i| {
            [
                ("pk".to_string(), s(&format!("MSG#{i}"))),
                ("sk".to_string(), s("2023")),
            ]
            .into_iter()
            .collect()
        })
        .collect()
}

fn put(item: &Item) -> WriteRequest {
    WriteRequest::builder()
        .put_request(
            PutRequest::builder()
                .set_item(Some(super::aws::to_item(item)))
                .build()
                .unwrap(),
        )
        .build()
}

fn fast() -> Backoff {
    Backoff {
        first: std::time::Duration::from_millis(1),
        max: std::time::Duration::from_millis(2),
        attempts: 4,
    }
}

/// The `pk`s a `BatchWriteItem` request carries.
fn pks(r: &aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput) -> Vec<String> {
    r.request_items()
        .and_then(|m| m.get("cruddur-messages"))
        .map(|w| {
            w.iter()
                .filter_map(|w| w.put_request())
                .filter_map(|p| p.item().get("pk"))
                .filter_map(|v| v.as_s().ok().cloned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn unprocessed_items_are_sent_again_until_written() {
    let items = numbered(30);
    let left: Vec<WriteRequest> = items[20..23].iter().map(put).collect();
    let first = mock!(Client::batch_write_item)
        .match_requests(|r| pks(r).len() == 25 && pks(r)[0] == "MSG#0")
        .then_output(move || {
            BatchWriteItemOutput::builder()
                .unprocessed_items("cruddur-messages", left.clone())
                .build()
        });
    let resend = mock!(Client::batch_write_item)
        .match_requests(|r| pks(r) == ["MSG#20", "MSG#21", "MSG#22"])
        .then_output(|| BatchWriteItemOutput::builder().build());
    let second = mock!(Client::batch_write_item)
        .match_requests(|r| pks(r).len() == 5 && pks(r)[0] == "MSG#25")
        .then_output(|| BatchWriteItemOutput::builder().build());
    let client = mock_sdk_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&first, &resend, &second]
    );
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| a.dynamodb = client);
    let written = super::aws::write(&aws, "cruddur-messages", &items, fast())
        .await
        .expect("written");
    assert_eq!((written.items, written.calls, written.resends), (30, 3, 1));
    assert_eq!(
        first.num_calls() + resend.num_calls() + second.num_calls(),
        3
    );
}

#[tokio::test]
async fn items_still_unprocessed_after_every_round_stop_the_seed_saying_how_far_it_got() {
    let items = numbered(3);
    let stuck: Vec<WriteRequest> = items[2..].iter().map(put).collect();
    let rule = mock!(Client::batch_write_item)
        .sequence()
        .output(move || {
            BatchWriteItemOutput::builder()
                .unprocessed_items("cruddur-messages", stuck.clone())
                .build()
        })
        .times(5)
        .build();
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| a.dynamodb = client);
    let e = super::aws::write(&aws, "cruddur-messages", &items, fast())
        .await
        .expect_err("gives up");
    let WriteError::Unprocessed {
        written,
        left,
        rounds,
        ..
    } = e
    else {
        panic!("{e:?}")
    };
    // The first call wrote two items; the four after it, nothing: `attempts` (4) in a row.
    assert_eq!((written.items, written.calls, left, rounds), (2, 5, 1, 4));
    assert_eq!(rule.num_calls(), 5);
}

#[tokio::test]
async fn existing_items_are_read_back_with_unprocessed_keys_retried() {
    let items = numbered(2);
    let keys = messages();
    let second_key = super::aws::to_item(&keys.key_of(&items[1]));
    let mut stored = super::aws::to_item(&items[0]);
    stored.insert("message".into(), AttributeValue::S("old".into()));
    let first = mock!(Client::batch_get_item)
        .match_requests(|r| {
            r.request_items()
                .and_then(|m| m.get("cruddur-messages"))
                .is_some_and(|k| k.keys().len() == 2 && k.consistent_read() == Some(true))
        })
        .then_output(move || {
            BatchGetItemOutput::builder()
                .responses("cruddur-messages", vec![stored.clone()])
                .unprocessed_keys(
                    "cruddur-messages",
                    KeysAndAttributes::builder()
                        .keys(second_key.clone())
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let again = mock!(Client::batch_get_item)
        .match_requests(|r| {
            r.request_items()
                .and_then(|m| m.get("cruddur-messages"))
                .is_some_and(|k| k.keys().len() == 1)
        })
        .then_output(|| BatchGetItemOutput::builder().build());
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&first, &again]);
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| a.dynamodb = client);
    let found = super::aws::existing(&aws, &keys, &items, fast())
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(
        found[0].as_ref().and_then(|i| i.get("message")),
        Some(&s("old"))
    );
    assert_eq!(found[1], None);
}

/// What a table answers a batch it can process no item of, after the SDK's own retries.
fn throughput_exceeded() -> ProvisionedThroughputExceededException {
    ProvisionedThroughputExceededException::builder()
        .message("The level of configured provisioned throughput for the table was exceeded.")
        .build()
}

#[tokio::test]
async fn a_batch_refused_for_throughput_is_sent_again_until_written() {
    let items = numbered(2);
    // Each of the three ways DynamoDB refuses a whole batch for throughput, then room.
    let rule = mock!(Client::batch_write_item)
        .sequence()
        .error(
            || BatchWriteItemError::ProvisionedThroughputExceededException(throughput_exceeded()),
        )
        .error(|| BatchWriteItemError::ThrottlingException(ThrottlingException::builder().build()))
        .error(|| {
            BatchWriteItemError::RequestLimitExceeded(RequestLimitExceeded::builder().build())
        })
        .output(|| BatchWriteItemOutput::builder().build())
        .build();
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| a.dynamodb = client);
    let written = super::aws::write_keyed(&aws, &messages(), &items, fast())
        .await
        .expect("written once the table has room");
    assert_eq!((written.items, written.calls, written.resends), (2, 4, 3));
    assert_eq!(rule.num_calls(), 4);
}

#[tokio::test]
async fn a_slow_table_that_writes_one_item_a_call_is_seeded_to_the_end() {
    let items = numbered(6);
    // Every call writes the first item it is sent and leaves the rest unprocessed: six
    // calls for one batch, more than `attempts` (4), each of them progress.
    let rule = mock!(Client::batch_write_item).then_compute_output(|r| {
        let rest: Vec<WriteRequest> = r
            .request_items()
            .and_then(|m| m.get("cruddur-messages"))
            .map(|w| w.iter().skip(1).cloned().collect())
            .unwrap_or_default();
        BatchWriteItemOutput::builder()
            .unprocessed_items("cruddur-messages", rest)
            .build()
    });
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| a.dynamodb = client);
    let written = super::aws::write_keyed(&aws, &messages(), &items, fast())
        .await
        .expect("a table that takes something every call is seeded to the end");
    assert_eq!((written.items, written.calls, written.resends), (6, 6, 5));
    assert_eq!(rule.num_calls(), 6);
}

#[tokio::test]
async fn a_seed_that_stops_progressing_names_the_items_it_wrote_and_those_it_did_not() {
    let items = numbered(4);
    let stuck: Vec<WriteRequest> = items[2..].iter().map(put).collect();
    // Two items written, then nothing: the table refuses every later call.
    let rule = mock!(Client::batch_write_item)
        .sequence()
        .output(move || {
            BatchWriteItemOutput::builder()
                .unprocessed_items("cruddur-messages", stuck.clone())
                .build()
        })
        .error(
            || BatchWriteItemError::ProvisionedThroughputExceededException(throughput_exceeded()),
        )
        .times(4)
        .build();
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| a.dynamodb = client);
    let e = super::aws::write_keyed(&aws, &messages(), &items, fast())
        .await
        .expect_err("gives up after 4 calls in a row that write nothing");
    assert_eq!(
        e.to_string(),
        "BatchWriteItem on `cruddur-messages` wrote nothing in 4 calls in a row (ProvisionedThroughputExceededException): the table's write capacity is used up
  written (2 of 4):
    pk=MSG#0 sk=2023
    pk=MSG#1 sk=2023
  not written (2 of 4):
    pk=MSG#2 sk=2023
    pk=MSG#3 sk=2023"
    );
    let written = e.written();
    assert_eq!((written.items, written.calls, written.resends), (2, 5, 4));
    assert_eq!(rule.num_calls(), 5);
}

#[tokio::test]
async fn an_error_that_waiting_does_not_cure_stops_the_seed_at_once_with_its_report() {
    let items = numbered(3);
    let rule = mock!(Client::batch_write_item).then_error(|| {
        BatchWriteItemError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Requested resource not found")
                .build(),
        )
    });
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| a.dynamodb = client);
    let e = super::aws::write_keyed(&aws, &messages(), &items, fast())
        .await
        .expect_err("not retried");
    assert!(matches!(e, WriteError::Call { .. }), "{e:?}");
    assert_eq!(rule.num_calls(), 1);
    assert!(e.report().written.is_empty());
    assert_eq!(
        e.report().unwritten,
        ["pk=MSG#0 sk=2023", "pk=MSG#1 sk=2023", "pk=MSG#2 sk=2023"]
    );
    assert!(
        e.to_string()
            .ends_with("\n  written: none of 3\n  not written (3 of 3):\n    pk=MSG#0 sk=2023\n    pk=MSG#1 sk=2023\n    pk=MSG#2 sk=2023"),
        "{e}"
    );
}

#[test]
fn a_long_report_lists_25_keys_and_counts_the_rest() {
    let items = numbered(30);
    let mut done = vec![false; 30];
    done[0] = true;
    let text = seed::Report::new(Some(&messages().primary), &items, &done).to_string();
    assert!(
        text.starts_with(
            "  written (1 of 30):\n    pk=MSG#0 sk=2023\n  not written (29 of 30):\n    pk=MSG#1 sk=2023\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("\n    pk=MSG#25 sk=2023\n    … and 4 more"),
        "{text}"
    );
    // Without the key, an item is named by its attributes.
    assert_eq!(
        seed::label(None, &items[0]),
        r#"{"pk":"MSG#0","sk":"2023"}"#
    );
}

#[tokio::test]
async fn existing_items_are_read_through_throttled_batch_gets() {
    let items = numbered(2);
    let keys = messages();
    let mut stored = super::aws::to_item(&items[0]);
    stored.insert("message".into(), AttributeValue::S("old".into()));
    let rule = mock!(Client::batch_get_item)
        .sequence()
        .error(|| BatchGetItemError::ProvisionedThroughputExceededException(throughput_exceeded()))
        .times(2)
        .error(|| BatchGetItemError::ThrottlingException(ThrottlingException::builder().build()))
        .output(move || {
            BatchGetItemOutput::builder()
                .responses("cruddur-messages", vec![stored.clone()])
                .build()
        })
        .build();
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| a.dynamodb = client);
    let found = super::aws::existing(&aws, &keys, &items, fast())
        .await
        .expect("read once the table has room");
    assert_eq!(
        found[0].as_ref().and_then(|i| i.get("message")),
        Some(&s("old"))
    );
    assert_eq!(found[1], None);
    assert_eq!(rule.num_calls(), 4);
}

#[tokio::test]
async fn a_read_that_never_progresses_gives_up_saying_nothing_was_written() {
    let items = numbered(2);
    let rule = mock!(Client::batch_get_item)
        .sequence()
        .error(|| BatchGetItemError::ProvisionedThroughputExceededException(throughput_exceeded()))
        .times(4)
        .build();
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]);
    let aws = aws_of(crate::aws::WaitPolicy::default(), |a| a.dynamodb = client);
    let e = super::aws::existing(&aws, &messages(), &items, fast())
        .await
        .expect_err("gives up");
    let text = e.to_string();
    assert!(
        text.contains("2 keys were still unread after 4 calls in a row that read nothing (ProvisionedThroughputExceededException)"),
        "{text}"
    );
    assert!(text.contains("nothing was written"), "{text}");
    assert_eq!(e.retry_class(), crate::aws::Retry::Busy);
    assert_eq!(rule.num_calls(), 4);
}

#[tokio::test]
async fn a_scan_follows_pages_and_stops_at_the_limit() {
    let items = numbered(5);
    let page = |from: usize, to: usize, more: bool| {
        let chunk: Vec<_> = items[from..to].iter().map(super::aws::to_item).collect();
        let last = super::aws::to_item(&items[to - 1]);
        mock!(Client::scan)
            .match_requests(move |r| {
                r.consistent_read() == Some(true) && r.exclusive_start_key().is_some() == (from > 0)
            })
            .then_output(move || {
                let out = ScanOutput::builder().set_items(Some(chunk.clone()));
                if more {
                    out.last_evaluated_key_from(&last).build()
                } else {
                    out.build()
                }
            })
    };
    let (a, b) = (page(0, 2, true), page(2, 4, true));
    let client = mock_sdk_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&a, &b]);
    let aws = aws_of(crate::aws::WaitPolicy::default(), |x| x.dynamodb = client);
    let mut seen = Vec::new();
    let n = super::aws::scan(&aws, "cruddur-messages", Some(4), |p| seen.extend(p))
        .await
        .unwrap();
    assert_eq!(n, 4);
    assert_eq!(seen, items[..4]);
    assert_eq!(a.num_calls() + b.num_calls(), 2, "no page past the limit");
}

/// `ScanOutput`'s builder takes the key attribute by attribute.
trait LastKey {
    fn last_evaluated_key_from(
        self,
        key: &std::collections::HashMap<String, AttributeValue>,
    ) -> Self;
}

impl LastKey for aws_sdk_dynamodb::operation::scan::builders::ScanOutputBuilder {
    fn last_evaluated_key_from(
        self,
        key: &std::collections::HashMap<String, AttributeValue>,
    ) -> Self {
        self.set_last_evaluated_key(Some(key.clone()))
    }
}

#[test]
fn a_stream_record_says_what_its_view_type_carries() {
    use super::records::{self, Record};
    let keys: Item = [
        ("pk".to_string(), s("MSG#1")),
        ("sk".to_string(), s("2023")),
    ]
    .into_iter()
    .collect();
    let insert = Record {
        time: Some("2026-11-22T10:00:00Z".into()),
        event: "INSERT".into(),
        keys: keys.clone(),
        new_image: Some(keys.clone()),
        old_image: None,
        sequence: "1".into(),
        shard: "shard-1".into(),
    };
    assert_eq!(
        records::line(&insert, "NEW_IMAGE"),
        r#"2026-11-22T10:00:00Z  INSERT  pk=MSG#1 sk=2023  new: {"pk":"MSG#1","sk":"2023"}"#
    );
    let remove = Record {
        event: "REMOVE".into(),
        new_image: None,
        ..insert.clone()
    };
    assert!(
        records::line(&remove, "NEW_IMAGE").ends_with(
            "(no image: a NEW_IMAGE stream carries none for a REMOVE; the item is gone)"
        )
    );
    assert!(
        records::line(&remove, "KEYS_ONLY")
            .ends_with("(keys only: the stream's view type is KEYS_ONLY)")
    );
    let json: serde_json::Value = serde_json::from_str(&records::json(&remove)).unwrap();
    assert_eq!(json["event"], "REMOVE");
    assert_eq!(json["keys"]["pk"], "MSG#1");
    assert_eq!(json["new_image"], serde_json::Value::Null);
    assert_eq!(json["shard"], "shard-1");
}

#[tokio::test]
async fn tail_follows_a_child_shard_from_its_start_once_its_parent_closes() {
    use aws_sdk_dynamodbstreams::Client as Streams;
    use aws_sdk_dynamodbstreams::operation::describe_stream::DescribeStreamOutput;
    use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsOutput;
    use aws_sdk_dynamodbstreams::operation::get_shard_iterator::GetShardIteratorOutput;
    use aws_sdk_dynamodbstreams::types::{
        AttributeValue as A, OperationType, Record as R, SequenceNumberRange, Shard,
        ShardIteratorType, StreamDescription, StreamRecord,
    };
    let shard = |id: &str, parent: Option<&str>, closed: bool| {
        let range = SequenceNumberRange::builder().starting_sequence_number("1");
        let range = if closed {
            range.ending_sequence_number("9")
        } else {
            range
        };
        Shard::builder()
            .shard_id(id)
            .set_parent_shard_id(parent.map(str::to_string))
            .sequence_number_range(range.build())
            .build()
    };
    let record = |pk: &str, seq: &str| {
        R::builder()
            .event_name(OperationType::Insert)
            .dynamodb(
                StreamRecord::builder()
                    .keys("pk", A::S(pk.into()))
                    .sequence_number(seq)
                    .build(),
            )
            .build()
    };
    let (a, b) = (shard("A", None, false), shard("B", Some("A"), false));
    let a_closed = shard("A", None, true);
    let rules = [
        mock!(Streams::describe_stream).then_output(move || {
            DescribeStreamOutput::builder()
                .stream_description(StreamDescription::builder().shards(a.clone()).build())
                .build()
        }),
        mock!(Streams::get_shard_iterator)
            .match_requests(|r| {
                r.shard_id() == Some("A")
                    && r.shard_iterator_type() == Some(&ShardIteratorType::Latest)
            })
            .then_output(|| {
                GetShardIteratorOutput::builder()
                    .shard_iterator("itA")
                    .build()
            }),
        // The last records of the parent; no next iterator: it is closed.
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("itA"))
            .then_output(move || {
                GetRecordsOutput::builder()
                    .records(record("in-parent", "5"))
                    .build()
            }),
        mock!(Streams::describe_stream).then_output(move || {
            DescribeStreamOutput::builder()
                .stream_description(
                    StreamDescription::builder()
                        .shards(a_closed.clone())
                        .shards(b.clone())
                        .build(),
                )
                .build()
        }),
        mock!(Streams::get_shard_iterator)
            .match_requests(|r| {
                r.shard_id() == Some("B")
                    && r.shard_iterator_type() == Some(&ShardIteratorType::TrimHorizon)
            })
            .then_output(|| {
                GetShardIteratorOutput::builder()
                    .shard_iterator("itB")
                    .build()
            }),
        mock!(Streams::get_records)
            .match_requests(|r| r.shard_iterator() == Some("itB"))
            .then_output(move || {
                GetRecordsOutput::builder()
                    .records(record("in-child", "10"))
                    .next_shard_iterator("itB2")
                    .build()
            }),
    ];
    let aws = aws_of(crate::aws::WaitPolicy::default(), |_| {});
    aws.set_client(mock_sdk_client!(
        aws_sdk_dynamodbstreams,
        RuleMode::Sequential,
        &rules
    ));
    let stream = super::aws::stream::Stream {
        arn: "arn:stream".into(),
        view: "NEW_IMAGE".into(),
        status: "ENABLED".into(),
    };
    let until = super::aws::stream::Until {
        max: Some(2),
        deadline: Some(std::time::Instant::now() + std::time::Duration::from_secs(20)),
        stop: || false,
    };
    let mut seen = Vec::new();
    let mut ready = false;
    let (count, ended) = super::aws::stream::tail(
        &aws,
        &stream,
        super::records::StartAt::Latest,
        until,
        || ready = true,
        |r| {
            seen.push((r.shard.clone(), r.keys["pk"].clone()));
            true
        },
    )
    .await
    .expect("tails");
    assert!(ready);
    assert_eq!((count, ended), (2, super::aws::stream::Ended::Max));
    assert_eq!(
        seen,
        [("A".into(), s("in-parent")), ("B".into(), s("in-child"))]
    );
    assert!(
        rules.iter().all(|r| r.num_calls() == 1),
        "each call once, in order"
    );
}
