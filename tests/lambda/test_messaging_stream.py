"""Tests of the messaging stream handler against moto's in-process DynamoDB."""

import importlib.util
import os
import pathlib

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

HANDLER = pathlib.Path(__file__).resolve().parents[2] / "lambda-artifacts/cruddur-messaging-stream/lambda_function.py"
GROUP = "5ae290ed-55d1-47a0-bc6d-fe2bc2700399"


def load_handler():
    spec = importlib.util.spec_from_file_location("lambda_function", HANDLER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def table(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ca-central-1")
    monkeypatch.setenv("TABLE_NAME", "cruddur-messages")
    monkeypatch.setenv("INDEX_NAME", "message-group-sk-index")
    monkeypatch.delenv("DYNAMODB_ENDPOINT_URL", raising=False)
    with mock_aws():
        ddb = boto3.resource("dynamodb", region_name="ca-central-1")
        t = ddb.create_table(
            TableName="cruddur-messages",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "message_group_uuid", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "message-group-sk-index",
                    "KeySchema": [
                        {"AttributeName": "message_group_uuid", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                    "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
                }
            ],
            ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        )
        # One group between two users: a row for each side.
        for me, other in (("andrew", "bayko"), ("bayko", "andrew")):
            t.put_item(
                Item={
                    "pk": f"GRP#{me}",
                    "sk": "2026-11-01T00:00:00",
                    "message_group_uuid": GROUP,
                    "message": "old message",
                    "user_handle": other,
                    "user_display_name": other.title(),
                    "user_uuid": f"uuid-{other}",
                }
            )
        yield t


def record(event_name, pk, sk, message="hello", image=True):
    body = {"Keys": {"pk": {"S": pk}, "sk": {"S": sk}}}
    if image:
        body["NewImage"] = {"pk": {"S": pk}, "sk": {"S": sk}, "message": {"S": message}}
    return {"eventName": event_name, "dynamodb": body}


def group_rows(table):
    return sorted(
        (i for i in table.scan()["Items"] if i["pk"].startswith("GRP#")),
        key=lambda i: i["pk"],
    )


def test_insert_rewrites_every_group_row_with_the_new_sort_key_and_message(table):
    result = load_handler().lambda_handler({"Records": [record("INSERT", f"MSG#{GROUP}", "2026-11-21T10:00:00", "hi!")]}, None)
    assert result == {"handled": 1, "ignored": 0, "rewritten": 2}
    rows = group_rows(table)
    assert [(r["pk"], r["sk"], r["message"]) for r in rows] == [
        ("GRP#andrew", "2026-11-21T10:00:00", "hi!"),
        ("GRP#bayko", "2026-11-21T10:00:00", "hi!"),
    ]
    # Everything else on the row is kept.
    assert rows[0]["user_handle"] == "bayko" and rows[0]["user_uuid"] == "uuid-bayko"


def test_remove_and_modify_events_are_ignored_not_crashes(table):
    handler = load_handler()
    event = {
        "Records": [
            record("REMOVE", f"MSG#{GROUP}", "2026-11-21T10:00:00", image=False),
            record("MODIFY", f"MSG#{GROUP}", "2026-11-21T10:00:00", "edited"),
        ]
    }
    assert handler.lambda_handler(event, None) == {"handled": 0, "ignored": 2, "rewritten": 0}
    assert {r["message"] for r in group_rows(table)} == {"old message"}


def test_every_record_of_a_batch_is_handled(table):
    handler = load_handler()
    event = {
        "Records": [
            record("REMOVE", f"MSG#{GROUP}", "x", image=False),
            record("INSERT", f"MSG#{GROUP}", "2026-11-21T10:00:00", "first"),
            record("INSERT", "GRP#andrew", "2026-11-21T10:00:01", "not a message"),
            record("INSERT", f"MSG#{GROUP}", "2026-11-21T10:00:02", "second"),
        ]
    }
    assert handler.lambda_handler(event, None) == {"handled": 2, "ignored": 2, "rewritten": 4}
    rows = group_rows(table)
    assert [(r["sk"], r["message"]) for r in rows] == [("2026-11-21T10:00:02", "second")] * 2


def test_nothing_is_hard_coded(table):
    source = HANDLER.read_text()
    assert "ca-central-1" not in source
    assert "amazonaws.com" not in source
    assert os.environ["TABLE_NAME"] == "cruddur-messages"


def rows_per_user(table):
    """How many group rows each user has."""
    counts = {}
    for row in group_rows(table):
        counts[row["pk"]] = counts.get(row["pk"], 0) + 1
    return counts


def fail_writes(monkeypatch, fail):
    """Makes every DynamoDB write for which `fail(operation, number)` is true raise the
    throttling error AWS sends (`number` counts writes from 1); returns the list of writes
    attempted."""
    real = botocore.client.BaseClient._make_api_call
    writes = []

    def call(self, operation, params):
        if operation in ("PutItem", "DeleteItem", "UpdateItem", "TransactWriteItems", "BatchWriteItem"):
            writes.append(operation)
            if fail(operation, len(writes)):
                raise ClientError(
                    {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}},
                    operation,
                )
        return real(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)
    return writes


def test_a_failed_write_leaves_each_user_one_row_the_old_one(table, monkeypatch):
    writes = fail_writes(monkeypatch, lambda operation, number: True)
    with pytest.raises(ClientError):
        load_handler().lambda_handler({"Records": [record("INSERT", f"MSG#{GROUP}", "2026-11-21T10:00:00", "hi!")]}, None)
    # Never a separate delete that could land without its put.
    assert writes == ["TransactWriteItems"]
    assert rows_per_user(table) == {"GRP#andrew": 1, "GRP#bayko": 1}
    assert {r["message"] for r in group_rows(table)} == {"old message"}


def test_a_failure_partway_leaves_one_row_per_user_old_or_new_and_a_retry_finishes(table, monkeypatch):
    # The first row's replacement lands, the second's is throttled.
    writes = fail_writes(monkeypatch, lambda operation, number: number == 2)
    event = {"Records": [record("INSERT", f"MSG#{GROUP}", "2026-11-21T10:00:00", "hi!")]}
    with pytest.raises(ClientError):
        load_handler().lambda_handler(event, None)
    assert writes == ["TransactWriteItems", "TransactWriteItems"]
    assert rows_per_user(table) == {"GRP#andrew": 1, "GRP#bayko": 1}
    assert sorted(r["message"] for r in group_rows(table)) == ["hi!", "old message"]
    # Lambda retries the batch: the row already rewritten is not touched again.
    assert load_handler().lambda_handler(event, None)["rewritten"] == 2
    assert rows_per_user(table) == {"GRP#andrew": 1, "GRP#bayko": 1}
    assert {(r["sk"], r["message"]) for r in group_rows(table)} == {("2026-11-21T10:00:00", "hi!")}


def test_an_older_message_does_not_move_a_row_back(table):
    handler = load_handler()
    handler.lambda_handler({"Records": [record("INSERT", f"MSG#{GROUP}", "2026-11-21T10:00:02", "new")]}, None)
    result = handler.lambda_handler({"Records": [record("INSERT", f"MSG#{GROUP}", "2026-11-21T10:00:01", "late")]}, None)
    assert result["rewritten"] == 0
    assert {(r["sk"], r["message"]) for r in group_rows(table)} == {("2026-11-21T10:00:02", "new")}
