"""Cruddur messaging stream handler.

Triggered by the `cruddur-messages` table's stream (NEW_IMAGE). When a message is
inserted (an item whose pk is `MSG#<message_group_uuid>`), every message-group row of that
group (found through the `message-group-sk-index` GSI) is rewritten with the new message
as its last message and the message's sort key, so group listings sort by latest activity.

Differences from the bootcamp notes' version:
- table, index and endpoint come from environment variables the stack sets; the region is
  Lambda's own `AWS_REGION` (nothing is hard-coded);
- every record of a batch is handled, not just the first;
- REMOVE and MODIFY events (and non-message rows) are ignored instead of crashing on a
  missing `NewImage`;
- group rows keep all their attributes; only `sk` and `message` change;
- a row whose sort key changes is replaced in one TransactWriteItems (Delete the old key,
  Put the new one), so a throttled or failed write leaves the old row, never none and
  never two: the conversation never drops out of a user's listing. It needs only the
  PutItem and DeleteItem the role grants. A failure is raised, so Lambda retries the batch;
- a message older than the row's last one (a retried or late batch) does not move the row
  back in time.
"""

import logging
import os

import boto3
from boto3.dynamodb.conditions import Key

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

MESSAGE_PREFIX = "MSG#"


def _table():
    resource = boto3.resource(
        "dynamodb",
        # Unset on AWS; lets tests and emulators point elsewhere.
        endpoint_url=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
    )
    return resource.Table(os.environ["TABLE_NAME"])


def _string(image, name):
    value = image.get(name, {})
    return value.get("S") if isinstance(value, dict) else None


def _message_insert(record):
    """Returns (group_uuid, sk, message) for an inserted message, else None."""
    if record.get("eventName") != "INSERT":
        return None
    image = record.get("dynamodb", {}).get("NewImage") or {}
    pk = _string(image, "pk")
    sk = _string(image, "sk")
    message = _string(image, "message")
    if not pk or not pk.startswith(MESSAGE_PREFIX) or sk is None or message is None:
        return None
    return pk[len(MESSAGE_PREFIX):], sk, message


def _replace(table, row, updated):
    """Deletes `row` and puts `updated` (another sort key) as one transaction: both or
    neither. The resource's client takes plain Python values, as the Table does."""
    table.meta.client.transact_write_items(
        TransactItems=[
            {"Delete": {"TableName": table.name, "Key": {"pk": row["pk"], "sk": row["sk"]}}},
            {"Put": {"TableName": table.name, "Item": updated}},
        ]
    )


def _group_rows(table, index_name, group_uuid):
    query = {
        "IndexName": index_name,
        "KeyConditionExpression": Key("message_group_uuid").eq(group_uuid),
    }
    while True:
        page = table.query(**query)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def lambda_handler(event, context):
    """Entry point; returns counts for logs and tests."""
    table = None
    index_name = os.environ.get("INDEX_NAME", "message-group-sk-index")
    handled = ignored = rewritten = 0
    for record in event.get("Records", []):
        insert = _message_insert(record)
        if insert is None:
            ignored += 1
            continue
        handled += 1
        group_uuid, sk, message = insert
        table = table or _table()
        for row in list(_group_rows(table, index_name, group_uuid)):
            if row["pk"].startswith(MESSAGE_PREFIX):
                continue
            if row["sk"] > sk:
                # The row already shows a later message.
                continue
            updated = dict(row, sk=sk, message=message)
            if row["sk"] == sk:
                table.put_item(Item=updated)
            else:
                # The sort key is part of the primary key: the row is replaced, atomically.
                _replace(table, row, updated)
            rewritten += 1
        LOG.info("group %s: rewrote rows for new message", group_uuid)
    return {"handled": handled, "ignored": ignored, "rewritten": rewritten}
