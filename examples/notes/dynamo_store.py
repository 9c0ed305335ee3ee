"""Notes in a DynamoDB table: the store the notes API uses when ``NOTES_TABLE`` is set.

The table (``template.yaml`` creates it) has a partition key ``pk`` (a string) and a sort key
``id`` (a number). Every note lives under ``pk = "note"``, so one ``Query`` reads them in id
order from any id on, which is what the API's ``?after=`` pagination needs; ids come from an
atomic counter item (``pk = "counter"``). One partition holds about 1,000 writes a second: past
that, shard the key (and give up the global order) or move pagination to opaque cursors.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html

boto3 is imported only when this store is built: ``make run`` (SQLite) needs nothing but
Python. The endpoint follows boto3's settings (``AWS_ENDPOINT_URL_DYNAMODB`` points it at a
local server, as the tests do with moto).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .store import NoteNotFound, StoreUnavailable

NOTES = {"S": "note"}
COUNTER = {"pk": {"S": "counter"}, "id": {"N": "0"}}
KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"},
              {"AttributeName": "id", "KeyType": "RANGE"}]
ATTRIBUTES = [{"AttributeName": "pk", "AttributeType": "S"},
              {"AttributeName": "id", "AttributeType": "N"}]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _item(note_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": NOTES, "id": {"N": str(note_id)}}
    item.update({name: _value(value) for name, value in fields.items()})
    return item


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {"L": [{"S": str(v)} for v in value]}
    return {"S": str(value)}


def _note(item: dict[str, Any]) -> dict[str, Any]:
    return {"id": int(item["id"]["N"]), "title": item["title"]["S"], "body": item["body"]["S"],
            "tags": [t["S"] for t in item["tags"]["L"]],
            "created_at": item["created_at"]["S"], "updated_at": item["updated_at"]["S"]}


class DynamoNoteStore:
    """The :class:`~examples.notes.store.NoteStore` interface over one DynamoDB table."""

    def __init__(self, table: str, *, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self.table = table
        self.client = client
        self._errors = (client.exceptions.ClientError,)
        try:
            from botocore.exceptions import BotoCoreError
        except ImportError:  # pragma: no cover - botocore comes with boto3
            pass
        else:
            self._errors = (*self._errors, BotoCoreError)

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One DynamoDB call; a failure of the service (throttling, no network) is a
        :class:`StoreUnavailable` (the API's 503)."""
        try:
            result: dict[str, Any] = getattr(self.client, operation)(TableName=self.table,
                                                                     **params)
        except self.client.exceptions.ConditionalCheckFailedException:
            raise
        except self._errors as exc:
            raise StoreUnavailable(f"DynamoDB {operation} failed: {exc}") from exc
        return result

    def _next_id(self) -> int:
        counter = self._call("update_item", Key=COUNTER, UpdateExpression="ADD next_id :one",
                             ExpressionAttributeValues={":one": {"N": "1"}},
                             ReturnValues="UPDATED_NEW")
        return int(counter["Attributes"]["next_id"]["N"])

    def create(self, *, title: str, body: str, tags: list[str]) -> dict[str, Any]:
        now = _now()
        note_id = self._next_id()
        fields = {"title": title, "body": body, "tags": tags, "created_at": now,
                  "updated_at": now}
        self._call("put_item", Item=_item(note_id, fields),
                   ConditionExpression="attribute_not_exists(id)")
        return {"id": note_id, **fields}

    def get(self, note_id: int) -> dict[str, Any]:
        found = self._call("get_item", Key={"pk": NOTES, "id": {"N": str(note_id)}},
                           ConsistentRead=True)
        if "Item" not in found:
            raise NoteNotFound(note_id)
        return _note(found["Item"])

    def page(self, *, limit: int, after: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` notes with ids above ``after``, and whether more follow."""
        found = self._call("query", KeyConditionExpression="pk = :pk AND id > :after",
                           ExpressionAttributeValues={":pk": NOTES, ":after": {"N": str(after)}},
                           Limit=limit + 1, ConsistentRead=True)
        items = found.get("Items", [])
        return [_note(item) for item in items[:limit]], len(items) > limit

    def update(self, note_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        fields = {**changes, "updated_at": _now()}
        names = {f"#{name}": name for name in fields}
        values = {f":{name}": _value(value) for name, value in fields.items()}
        assignments = ", ".join(f"#{name} = :{name}" for name in fields)
        try:
            updated = self._call("update_item", Key={"pk": NOTES, "id": {"N": str(note_id)}},
                                 UpdateExpression=f"SET {assignments}",
                                 ConditionExpression="attribute_exists(id)",
                                 ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                                 ReturnValues="ALL_NEW")
        except self.client.exceptions.ConditionalCheckFailedException:
            raise NoteNotFound(note_id) from None
        return _note(updated["Attributes"])

    def delete(self, note_id: int) -> None:
        try:
            self._call("delete_item", Key={"pk": NOTES, "id": {"N": str(note_id)}},
                       ConditionExpression="attribute_exists(id)")
        except self.client.exceptions.ConditionalCheckFailedException:
            raise NoteNotFound(note_id) from None


def create_table(client: Any, name: str) -> None:
    """The table as ``template.yaml`` declares it (for tests and local servers)."""
    client.create_table(TableName=name, KeySchema=KEY_SCHEMA, AttributeDefinitions=ATTRIBUTES,
                        BillingMode="PAY_PER_REQUEST")
