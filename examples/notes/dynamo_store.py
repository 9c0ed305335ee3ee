"""Notes in a DynamoDB table: the store the notes API uses when ``NOTES_TABLE`` is set.

The table (``template.yaml`` creates it) has a partition key ``pk`` (a string) and a sort key
``id`` (a number). Every note lives under ``pk = "note"``, so one ``Query`` reads them in id
order from any id on, which is what the API's ``?after=`` pagination needs; ids come from an
atomic counter item (``pk = "counter"``). An attachment is a record under
``pk = "note#<id>#attachments"`` plus its content in chunks of at most 300 KB under
``pk = "attachment#<id>"`` (a DynamoDB item holds at most 400 KB; a large file belongs in S3,
but the example keeps one table). One partition holds about 1,000 writes a second: past
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


CHUNK = 300 * 1024  # below DynamoDB's 400 KB item limit, with room for the key
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items


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
        for record in self._query_all(_records_key(note_id)):
            chunks = int(record["chunks"]["N"])
            self._delete_keys([{"pk": _chunks_key(int(record["id"]["N"])), "id": {"N": str(i)}}
                               for i in range(chunks)]
                              + [{"pk": record["pk"], "id": record["id"]}])

    def attach(self, note_id: int, *, filename: str, content_type: str,
               content: bytes) -> dict[str, Any]:
        """Store a file for note ``note_id``; its record, without the content."""
        self.get(note_id)  # NoteNotFound first
        attachment_id = self._next_id()
        parts = [content[i:i + CHUNK] for i in range(0, len(content), CHUNK)] or [b""]
        for index, part in enumerate(parts):  # the content first: a record never lacks it
            self._call("put_item", Item={"pk": _chunks_key(attachment_id),
                                         "id": {"N": str(index)}, "data": {"B": part}})
        record = {"id": attachment_id, "note_id": note_id, "filename": filename,
                  "content_type": content_type, "size": len(content), "created_at": _now()}
        self._call("put_item", Item={
            "pk": _records_key(note_id), "id": {"N": str(attachment_id)},
            "filename": {"S": filename}, "content_type": {"S": content_type},
            "size": {"N": str(len(content))}, "created_at": {"S": record["created_at"]},
            "chunks": {"N": str(len(parts))}})
        return record

    def attachment(self, note_id: int, attachment_id: int) -> dict[str, Any] | None:
        """The attachment with its content, or ``None``."""
        found = self._call("get_item", Key={"pk": _records_key(note_id),
                                            "id": {"N": str(attachment_id)}},
                           ConsistentRead=True)
        item = found.get("Item")
        if item is None:
            return None
        chunks = self._query_all(_chunks_key(attachment_id))
        return {"id": attachment_id, "note_id": note_id, "filename": item["filename"]["S"],
                "content_type": item["content_type"]["S"], "size": int(item["size"]["N"]),
                "created_at": item["created_at"]["S"],
                "content": b"".join(bytes(chunk["data"]["B"]) for chunk in chunks)}

    def _query_all(self, pk: dict[str, str]) -> list[dict[str, Any]]:
        """Every item under partition key ``pk``, in id order (pages followed)."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"KeyConditionExpression": "pk = :pk",
                                  "ExpressionAttributeValues": {":pk": pk},
                                  "ConsistentRead": True}
        while True:
            found = self._call("query", **params)
            items.extend(found.get("Items", []))
            if "LastEvaluatedKey" not in found:
                return items
            params["ExclusiveStartKey"] = found["LastEvaluatedKey"]

    def _delete_keys(self, keys: list[dict[str, Any]]) -> None:
        for key in keys:
            self._call("delete_item", Key=key)


def _records_key(note_id: int) -> dict[str, str]:
    return {"S": f"note#{note_id}#attachments"}


def _chunks_key(attachment_id: int) -> dict[str, str]:
    return {"S": f"attachment#{attachment_id}"}


def create_table(client: Any, name: str) -> None:
    """The table as ``template.yaml`` declares it (for tests and local servers)."""
    client.create_table(TableName=name, KeySchema=KEY_SCHEMA, AttributeDefinitions=ATTRIBUTES,
                        BillingMode="PAY_PER_REQUEST")
