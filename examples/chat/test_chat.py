"""The chat example: sessions through the TestClient, a real WebSocket client against the local
server, the DynamoDB store, and the SAM template (aws-sam-translator, then cfn-lint)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from lamroute.local.websocket import start
from lamroute.testing import TestClient, WebSocketRejected

from . import app as chat

TEMPLATE = Path(__file__).with_name("template.yaml")


@pytest.fixture(autouse=True)
def fresh_store(monkeypatch: pytest.MonkeyPatch) -> chat.MemoryStore:
    store = chat.MemoryStore()
    monkeypatch.setattr(chat, "store", store)
    return store


def test_members_receive_each_others_messages(fresh_store: chat.MemoryStore) -> None:
    client = TestClient(chat.app)
    with client.websocket_connect(query={"name": "alice"}) as alice, \
            client.websocket_connect(query={"name": "bob"}) as bob:
        answer = alice.send_json({"action": "sendMessage", "text": "hi bob"})
        assert answer.json() == {"delivered": 2}
        assert bob.receive_json() == {"from": "alice", "text": "hi bob"}
        assert alice.receive_json() == {"from": "alice", "text": "hi bob"}
        assert sorted(fresh_store.members().values()) == ["alice", "bob"]
    assert fresh_store.members() == {}


def test_connect_without_a_name_is_refused() -> None:
    with pytest.raises(WebSocketRejected) as refused:
        TestClient(chat.app).websocket_connect()
    assert refused.value.response.status_code == 400


def test_invalid_message_is_a_422_answer() -> None:
    with TestClient(chat.app).websocket_connect(query={"name": "carol"}) as ws:
        answer = ws.send_json({"action": "sendMessage", "text": ""})
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["loc"] == ["body", "text"]
        assert ws.messages == []


def test_unknown_action_gets_help_from_default() -> None:
    with TestClient(chat.app).websocket_connect(query={"name": "dave"}) as ws:
        assert ws.send("hello?").json()["actions"] == ["sendMessage"]


def test_gone_members_are_forgotten(fresh_store: chat.MemoryStore) -> None:
    fresh_store.add("stale=", "ghost")
    with TestClient(chat.app).websocket_connect(query={"name": "erin"}) as ws:
        assert ws.send_json({"action": "sendMessage", "text": "anyone?"}).json() == {
            "delivered": 1}
    assert "stale=" not in fresh_store.members()


def test_chat_with_real_websocket_clients_on_the_local_server() -> None:
    with start(chat.app, port=0, management_port=0) as server:
        with pytest.raises(InvalidStatus):
            connect(server.url, open_timeout=10)
        with connect(server.url + "/?name=alice", open_timeout=10) as alice, \
                connect(server.url + "/?name=bob", open_timeout=10) as bob:
            alice.send(json.dumps({"action": "sendMessage", "text": "over the wire"}))
            assert json.loads(bob.recv(10)) == {"from": "alice", "text": "over the wire"}
            got = sorted((json.loads(alice.recv(10)) for _ in range(2)), key=str)
            assert got == [{"delivered": 2}, {"from": "alice", "text": "over the wire"}]


def test_dynamo_store_reads_every_page() -> None:
    store = chat.DynamoStore.__new__(chat.DynamoStore)
    resource = boto3.resource("dynamodb", region_name="eu-west-1",
                              aws_access_key_id="x", aws_secret_access_key="x")
    store.table = resource.Table("connections")
    with Stubber(resource.meta.client) as stubber:
        expected = {"TableName": "connections", "ProjectionExpression": "connectionId, #n",
                    "ExpressionAttributeNames": {"#n": "name"}}
        stubber.add_response("scan", {
            "Items": [{"connectionId": {"S": "a="}, "name": {"S": "alice"}}],
            "LastEvaluatedKey": {"connectionId": {"S": "a="}}}, expected)
        stubber.add_response("scan", {
            "Items": [{"connectionId": {"S": "b="}, "name": {"S": "bob"}}]},
            {**expected, "ExclusiveStartKey": {"connectionId": "a="}})
        assert store.members() == {"a=": "alice", "b=": "bob"}


# -- the SAM template -----------------------------------------------------------------------------


class _NoManagedPolicies:
    """aws-sam-translator asks IAM for managed policy ARNs; the template names none."""

    def load(self) -> dict[str, str]:
        return {}


def _cfn_yaml() -> Any:
    class Loader(yaml.SafeLoader):
        pass

    def tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if suffix == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    Loader.add_multi_constructor("!", tag)
    return yaml.load(TEMPLATE.read_text(), Loader=Loader)


def test_template_transforms_and_passes_cfn_lint(monkeypatch: pytest.MonkeyPatch) -> None:
    from cfnlint.api import lint
    from samtranslator.translator.transform import transform

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the translator's pseudo parameters
    template = _cfn_yaml()
    # `sam package` uploads the code directory and puts its S3 location in CodeUri.
    template["Resources"]["ChatFunction"]["Properties"]["CodeUri"] = "s3://artifacts/chat.zip"
    output = transform(template, {}, _NoManagedPolicies())  # type: ignore[arg-type]
    resources = output["Resources"]
    kinds = {r["Type"] for r in resources.values()}
    assert {"AWS::Lambda::Function", "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Route",
            "AWS::ApiGatewayV2::Integration", "AWS::Lambda::Permission",
            "AWS::ApiGatewayV2::Stage", "AWS::ApiGatewayV2::Deployment"} <= kinds
    assert resources["ChatApi"]["Properties"]["ProtocolType"] == "WEBSOCKET"
    routes = {r["Properties"]["RouteKey"] for r in resources.values()
              if r["Type"] == "AWS::ApiGatewayV2::Route"}
    assert routes == {"$connect", "$disconnect", "$default", "sendMessage"}
    assert set(routes) - {"$connect", "$disconnect", "$default"} <= set(chat.app.websockets.routes)
    assert resources["ChatFunction"]["Properties"]["Handler"] == "app.app"
    for source in (json.dumps(output), TEMPLATE.read_text()):
        problems = lint(source, regions=["us-east-1"])
        assert problems == [], [str(p) for p in problems]
