"""A Lambda authorizer run in front of the app, as the gateway does (TestClient and local use)."""

from __future__ import annotations

from typing import Any

import pytest

from lamroute import App, Request
from lamroute.authorizers import (
    Allow,
    AuthorizerRequest,
    Deny,
    Unauthenticated,
    http_authorizer,
    rest_authorizer,
)
from lamroute.security.guards import requires
from lamroute.testing import GatewayAuthorizer, TestClient, make_event
from lamroute.testing.gateway_auth import policy_effect

ARN = "arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/notes/7"
calls: list[AuthorizerRequest] = []


def decide(request: AuthorizerRequest) -> Allow | Deny | Unauthenticated:
    calls.append(request)
    token = request.bearer_token
    if token == "crash":
        raise RuntimeError("boom")
    if token == "nobody":
        return Unauthenticated()
    if token and token.startswith("user-"):
        return Allow(token, scopes=["notes/read"], context={"tier": "gold", "vip": True})
    return Deny()


def make_app() -> App:
    app = App(access_log=False)

    @app.get("/notes/{note_id}", auth=requires(scopes=["notes/read"]))
    def note(note_id: str, request: Request) -> dict[str, Any]:
        who = request.auth
        return {"id": note_id, "user": who.principal_id, "tier": who.context.get("tier"),
                "vip": who.context.get("vip"), "kind": who.kind}

    return app


CASES = [
    ("rest", GatewayAuthorizer(rest_authorizer(decide))),
    ("rest", GatewayAuthorizer(rest_authorizer(decide), type="token")),
    ("http-v1", GatewayAuthorizer(http_authorizer(decide))),
    ("http", GatewayAuthorizer(http_authorizer(decide))),
    ("http", GatewayAuthorizer(http_authorizer(simple=False)(decide))),
]


@pytest.mark.parametrize(("format", "gate"), CASES)
def test_allowed_requests_reach_the_app_with_the_authorizer_context(
        format: str, gate: GatewayAuthorizer) -> None:
    client = TestClient(make_app(), format=format, lambda_authorizer=gate)
    body = client.get("/notes/7", headers={"Authorization": "Bearer user-9"}).json()
    assert body["id"] == "7" and body["user"] == "user-9" and body["kind"] == "lambda"
    assert body["tier"] == "gold"
    # REST passes context values on as strings; HTTP APIs keep their JSON types.
    assert body["vip"] == ("true" if format == "rest" else True)


@pytest.mark.parametrize(("format", "gate"), CASES)
def test_refusals_are_the_gateways_own_answers(format: str, gate: GatewayAuthorizer) -> None:
    client = TestClient(make_app(), format=format, lambda_authorizer=gate)
    calls.clear()
    missing = client.get("/notes/7")
    assert missing.status_code == 401 and missing.json() == {"message": "Unauthorized"}
    assert calls == []  # no identity source: the authorizer is not even called
    denied = client.get("/notes/7", headers={"Authorization": "Bearer stranger"})
    assert denied.status_code == 403
    crashed = client.get("/notes/7", headers={"Authorization": "Bearer crash"})
    assert crashed.status_code == 403  # lamroute authorizers deny instead of failing


def test_rest_unauthenticated_is_401_and_explicit_deny_message() -> None:
    client = TestClient(make_app(), format="rest", lambda_authorizer=rest_authorizer(decide))
    assert client.get("/notes/7", headers={"Authorization": "Bearer nobody"}).status_code == 401
    denied = client.get("/notes/7", headers={"Authorization": "Bearer stranger"})
    assert denied.json() == {
        "Message": "User is not authorized to access this resource with an explicit deny"}


def test_a_raw_failing_authorizer_is_a_500() -> None:
    def broken(event: Any, context: Any) -> Any:
        raise ValueError("not lamroute")

    client = TestClient(make_app(), format="http", lambda_authorizer=broken)
    assert client.get("/notes/7", headers={"Authorization": "x"}).status_code == 500
    weird = TestClient(make_app(), format="rest", lambda_authorizer=lambda e, c: ["?"])
    assert weird.get("/notes/7", headers={"Authorization": "x"}).status_code == 500


def test_the_authorizer_sees_the_request() -> None:
    calls.clear()
    client = TestClient(make_app(), format="http", lambda_authorizer=http_authorizer(decide))
    client.get("/notes/7?x=1", headers={"Authorization": "Bearer user-1", "X-Extra": "e"})
    (seen,) = calls
    assert (seen.method, seen.path, seen.query["x"], seen.headers["x-extra"]) == (
        "GET", "/notes/7", "1", "e")
    assert seen.identity_source == ["Bearer user-1"]


def test_policy_for_another_route_denies() -> None:
    @rest_authorizer
    def narrow(request: AuthorizerRequest) -> Allow:
        return Allow("u", resources=[("GET", "/other")])

    client = TestClient(make_app(), format="rest", lambda_authorizer=narrow)
    assert client.get("/notes/7", headers={"Authorization": "t"}).status_code == 403


@pytest.mark.parametrize(("resources", "effect"), [
    (["arn:aws:execute-api:us-east-1:123456789012:api/prod/*/*"], "Allow"),
    (["arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/notes/*"], "Allow"),
    (["arn:aws:execute-api:us-east-1:123456789012:api/prod/POST/*"], "Deny"),
    (["arn:aws:execute-api:us-east-1:123456789012:api/dev/*/*"], "Deny"),
    ("arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/notes/?", "Allow"),
])
def test_policy_matching(resources: Any, effect: str) -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke",
                               "Resource": resources}]}
    assert policy_effect(document, ARN) == effect


def test_explicit_deny_wins_and_malformed_documents() -> None:
    both = {"Statement": [{"Effect": "Allow", "Resource": ["*"]},
                          {"Effect": "Deny", "Resource": [ARN]}]}
    assert policy_effect(both, ARN) == "Deny"
    assert policy_effect({"Statement": "x"}, ARN) is None
    assert policy_effect(None, ARN) is None


def test_event_is_only_written_on_success() -> None:
    gate = GatewayAuthorizer(http_authorizer(decide))
    event = make_event("http", "GET", "/notes/7", headers={"Authorization": "Bearer stranger"})
    assert gate.authorize(event, "http").status == 403
    assert "authorizer" not in event["requestContext"]


def leaving(event: Any, context: Any) -> Any:
    raise SystemExit(1)  # a raw authorizer, not a lamroute one: the invocation crashes


def answering(context: Any) -> Any:
    """A raw policy authorizer allowing everything with ``context``."""
    def handler(event: Any, _: Any) -> Any:
        arn = event.get("methodArn") or event["routeArn"]
        return {"principalId": "u1", "context": context, "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": arn}]}}
    return handler


GATEWAY_500 = {
    "rest": ({"message": None}, "AuthorizerConfigurationException"),
    "http": ({"message": "Internal Server Error"}, None),
    "http-v1": ({"message": "Internal Server Error"}, None),
}


def assert_gateway_500(response: Any, format: str) -> None:
    body, error_type = GATEWAY_500[format]
    assert response.status_code == 500
    assert response.json() == body
    assert response.headers.get("x-amzn-errortype") == error_type


@pytest.mark.parametrize("format", ["rest", "http-v1", "http"])
def test_a_raw_authorizer_calling_sys_exit_is_the_gateways_500(format: str) -> None:
    client = TestClient(make_app(), format=format, lambda_authorizer=leaving)
    assert_gateway_500(client.get("/notes/7", headers={"Authorization": "x"}), format)


@pytest.mark.parametrize("context", [{"user": {"id": 1}}, {"roles": ["a", "b"]}, {"n": None},
                                     "not-an-object"])
def test_a_rest_authorizer_context_beyond_scalars_is_the_gateways_500(context: Any) -> None:
    """REST: "you cannot set a JSON object or array as a valid value of any key in the context
    map"; API Gateway answers 500 instead of calling the integration."""
    client = TestClient(make_app(), format="rest", lambda_authorizer=answering(context))
    assert_gateway_500(client.get("/notes/7", headers={"Authorization": "x"}), "rest")


@pytest.mark.parametrize("format", ["http", "http-v1"])
def test_http_api_authorizer_contexts_may_hold_objects(format: str) -> None:
    app = App(access_log=False)

    @app.get("/who", auth=requires(kinds=["lambda"]))  # the authorizer's route
    def who(request: Request) -> Any:
        return request.auth.context

    context = {"user": {"id": 1}, "roles": ["a", "b"]}
    client = TestClient(app, format=format, lambda_authorizer=answering(context))
    assert client.get("/who", headers={"Authorization": "x"}).json() == context


@pytest.mark.parametrize("answer", [{"isAuthorized": "true"}, {"isAuthorized": 1},
                                    {"isAuthorized": True, "context": ["x"]}])
def test_a_malformed_simple_answer_is_the_gateways_500(answer: Any) -> None:
    client = TestClient(make_app(), format="http", lambda_authorizer=lambda e, c: answer)
    assert_gateway_500(client.get("/notes/7", headers={"Authorization": "x"}), "http")


def test_failures_are_not_cached_and_denies_are() -> None:
    answers = iter([{"isAuthorized": "junk"}, {"isAuthorized": False}, {"isAuthorized": True}])
    seen: list[Any] = []

    def flaky(event: Any, context: Any) -> Any:
        seen.append(event)
        return next(answers)

    client = TestClient(make_app(), format="http", lambda_authorizer=flaky)
    headers = {"Authorization": "Bearer user-1"}
    assert client.get("/notes/7", headers=headers).status_code == 500
    assert client.get("/notes/7", headers=headers).status_code == 403
    assert client.get("/notes/7", headers=headers).status_code == 403  # the deny, cached
    assert len(seen) == 2


@pytest.mark.parametrize(("api", "format"), [("rest", "rest"), ("http", "http")])
def test_local_server_answers_a_raw_authorizer_sys_exit_as_the_gateway(
        api: str, format: str, caplog: pytest.LogCaptureFixture) -> None:
    """Through real sockets: the SystemExit used to end the request thread without an answer."""
    import http.client
    import json
    import logging

    from lamroute.local import LocalGateway
    from lamroute.local.gateway import local_gateway_hook

    with caplog.at_level(logging.ERROR, logger="lamroute.local"), \
            LocalGateway(make_app(), api=api, port=0) as server:
        server.gateway.request_hooks.append(
            local_gateway_hook(GatewayAuthorizer(leaving), server.gateway.config.format))
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", f"{server.gateway.config.prefix}/notes/7",
                           headers={"Authorization": "x"})
        response = connection.getresponse()
        body, error_type = GATEWAY_500[format]
        assert (response.status, json.loads(response.read())) == (500, body)
        assert response.getheader("x-amzn-ErrorType") == error_type
        connection.close()
    assert "SystemExit" in caplog.text


def directory_groups(request: AuthorizerRequest) -> Allow:
    """Group names as Okta or Entra ID issue them: spaces and commas are part of the name."""
    return Allow("user-1", groups=["Domain Admins", "R&D, Europe"], resources="whole_api")


@pytest.mark.parametrize(("format", "gate"), [
    ("rest", GatewayAuthorizer(rest_authorizer(directory_groups))),
    ("http-v1", GatewayAuthorizer(http_authorizer(directory_groups))),
    ("http", GatewayAuthorizer(http_authorizer(directory_groups))),
    ("http", GatewayAuthorizer(http_authorizer(simple=False)(directory_groups))),
])
def test_authorizer_carries_group_names_with_spaces_and_commas(
        format: str, gate: GatewayAuthorizer) -> None:
    """Groups travel as a JSON array string, so `Allow(groups=["Domain Admins"])` is not refused
    (which denied every such caller); each name stays whole and satisfies only itself."""
    app = App(access_log=False)

    @app.get("/admins", auth=requires(groups=["Domain Admins"]))
    def admins(request: Request) -> dict[str, Any]:
        return {"groups": sorted(request.auth.groups)}

    @app.get("/europe", auth=requires(groups=["R&D, Europe"]))
    def europe() -> dict[str, Any]:
        return {}

    @app.get("/plain", auth=requires(groups=["Admins"]))
    def plain() -> dict[str, Any]:
        return {}

    client = TestClient(app, format=format, lambda_authorizer=gate)
    token = {"Authorization": "Bearer t"}
    admitted = client.get("/admins", headers=token)
    assert admitted.status_code == 200
    assert admitted.json() == {"groups": ["Domain Admins", "R&D, Europe"]}
    assert client.get("/europe", headers=token).status_code == 200
    assert client.get("/plain", headers=token).status_code == 403


@pytest.mark.parametrize("allow", [
    pytest.param(lambda: Allow("u", groups=[""]), id="empty-group"),
    pytest.param(lambda: Allow("u", groups=[3]), id="non-string-group"),
    pytest.param(lambda: Allow("u", groups="Domain Admins"), id="string-not-list"),
    # A scope token holds no space (RFC 6749, section 3.3): scopes are joined with spaces.
    pytest.param(lambda: Allow("u", scopes=["notes read"]), id="spaced-scope"),
])
def test_authorizer_still_refuses_empty_or_non_string_groups_and_spaced_scopes(
        allow: Any) -> None:
    app = App(access_log=False)

    @app.get("/x", auth=requires())  # a guarded route: the gateway runs the authorizer for it
    def x() -> dict[str, Any]:
        return {}

    for format in ("rest", "http"):
        wrap = rest_authorizer if format == "rest" else http_authorizer
        client = TestClient(app, format=format,
                            lambda_authorizer=GatewayAuthorizer(wrap(lambda r: allow()), ttl=0))
        assert client.get("/x", headers={"Authorization": "t"}).status_code == 403
