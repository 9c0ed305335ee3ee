"""Lambda authorizers written with lamroute: policies, simple answers, ARNs, and failing closed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fixtures import Records

from lamroute import App, InvalidEvent, Request
from lamroute.authorizers import (
    Allow,
    AuthorizerRequest,
    AuthorizerUnauthorized,
    Deny,
    MethodArn,
    Unauthenticated,
    http_authorizer,
    rest_authorizer,
)
from lamroute.security.guards import requires
from lamroute.testing import (
    TestClient,
    http_authorizer_event,
    request_event,
    token_event,
)

FIXTURES = Path(__file__).parent / "fixtures" / "auth"
ARN = "arn:aws:execute-api:us-east-1:123456789012:api1/prod"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())  # type: ignore[no-any-return]


def decide(request: AuthorizerRequest) -> Allow | Deny | Unauthenticated:
    token = request.bearer_token
    if token is None:
        return Unauthenticated()
    if token == "boom":
        raise RuntimeError("database password is hunter2")
    if token.startswith("user-"):
        return Allow(token, scopes=["notes/read"], groups=["staff"],
                     context={"tier": "gold", "n": 3, "vip": True, "ratio": 0.5},
                     usage_identifier_key="key-123" if token == "user-plan" else None)
    return Deny(principal_id="someone")


rest = rest_authorizer(decide)
http_simple = http_authorizer(decide)
http_policy = http_authorizer(simple=False)(decide)


def statement(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["policyDocument"]["Version"] == "2012-10-17"
    (only,) = answer["policyDocument"]["Statement"]
    assert only["Action"] == "execute-api:Invoke"
    return only  # type: ignore[no-any-return]


def test_method_arn_parts_and_wildcards() -> None:
    arn = MethodArn.parse(f"{ARN}/GET/notes/7/comments")
    assert (arn.api_id, arn.stage, arn.method, arn.resource) == ("api1", "prod", "GET",
                                                                 "notes/7/comments")
    assert arn.for_api() == f"{ARN}/*/*"
    assert arn.for_api(stage="*") == "arn:aws:execute-api:us-east-1:123456789012:api1/*/*/*"
    assert arn.for_route("get", "/notes/{note_id}/comments") == f"{ARN}/GET/notes/*/comments"
    assert arn.for_route("ANY", "/files/{path+}") == f"{ARN}/*/files/*"
    assert arn.for_route("GET", "/") == f"{ARN}/GET/"
    assert str(arn) == f"{ARN}/GET/notes/7/comments"
    root = MethodArn.parse(f"{ARN}/GET/")
    assert root.resource == "" and str(root) == f"{ARN}/GET/"
    cn = MethodArn.parse("arn:aws-cn:execute-api:cn-north-1:123456789012:a/b/POST/x")
    assert cn.for_api().startswith("arn:aws-cn:")
    with pytest.raises(InvalidEvent):
        MethodArn.parse("arn:aws:lambda:us-east-1:123456789012:function:x")


def test_token_authorizer_with_the_sample_event_denies_unknown_tokens() -> None:
    event = fixture("apigw-authorizer-token.json")
    answer = rest(event)
    assert answer["principalId"] == "someone"
    assert statement(answer) == {"Action": "execute-api:Invoke", "Effect": "Deny",
                                 "Resource": [event["methodArn"]]}


def test_token_authorizer_allows_only_the_request_with_context() -> None:
    answer = rest(token_event("Bearer user-1", "GET", "/notes/7"))
    assert answer["principalId"] == "user-1"
    only = statement(answer)
    assert only["Effect"] == "Allow"
    assert only["Resource"] == [
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes/7"]
    assert answer["context"] == {"tier": "gold", "n": 3, "vip": True, "ratio": 0.5,
                                 "scope": "notes/read", "groups": '["staff"]'}
    assert "usageIdentifierKey" not in answer
    assert rest(token_event("Bearer user-plan"))["usageIdentifierKey"] == "key-123"


def test_request_authorizer_with_the_sample_event() -> None:
    seen: list[AuthorizerRequest] = []

    @rest_authorizer
    def check(request: AuthorizerRequest) -> Allow:
        seen.append(request)
        return Allow("u1")

    event = fixture("apigw-authorizer-request.json")
    answer = check(event)
    assert statement(answer) == {"Action": "execute-api:Invoke", "Effect": "Allow",
                                 "Resource": [event["methodArn"]]}
    request = seen[0]
    assert request.type == "REQUEST" and request.version == "1.0"
    assert request.headers["headerauth1"] == "headerValue1"
    assert request.query["QueryString1"] == "queryValue1"
    assert request.stage_variables == {"StageVar1": "stageValue1"}
    assert request.method == "GET" and request.path == "/request"
    assert request.client_cert is not None and request.client_cert["subjectDN"] == "www.example.com"
    assert "headerValue1" not in repr(request)


def test_allow_for_listed_routes() -> None:
    @rest_authorizer
    def check(request: AuthorizerRequest) -> Allow:
        return Allow("u1", resources=[("GET", "/notes"), ("ANY", "/notes/{note_id}")])

    answer = check(request_event("GET", "/notes", headers={"Authorization": "x"}))
    base = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod"
    assert statement(answer)["Resource"] == [f"{base}/GET/notes", f"{base}/*/notes/*"]


def test_unauthenticated_is_the_401_signal_for_rest() -> None:
    with pytest.raises(AuthorizerUnauthorized, match=r"^Unauthorized$"):
        rest(request_event("GET", "/notes"))


@pytest.mark.parametrize("handler", [rest, http_policy])
def test_an_authorizer_that_raises_denies(handler: Any, caplog: pytest.LogCaptureFixture) -> None:
    event = token_event("Bearer boom") if handler is rest else http_authorizer_event(
        "GET", "/x", headers={"Authorization": "Bearer boom"})
    answer = handler(event)
    assert statement(answer)["Effect"] == "Deny"
    assert "hunter2" not in json.dumps(answer)
    logged = " ".join(str(r.__dict__) for r in caplog.records)
    assert "authorizer failed" in logged and "Bearer boom" not in logged


@pytest.mark.parametrize("bad_context", [{"nested": {"a": 1}}, {"list": [1]}, {"none": None}])
def test_context_values_must_be_scalars(bad_context: dict[str, Any]) -> None:
    @rest_authorizer
    def check(request: AuthorizerRequest) -> Allow:
        return Allow("u1", context=bad_context)

    assert statement(check(token_event("t")))["Effect"] == "Deny"


@pytest.mark.parametrize("result", [None, "yes", 1, {"isAuthorized": True}])
def test_unknown_results_deny(result: Any) -> None:
    assert statement(rest_authorizer(lambda request: result)(token_event("t")))["Effect"] == "Deny"
    assert http_authorizer(lambda request: result)(http_authorizer_event()) == {
        "isAuthorized": False}


def test_booleans_are_decisions() -> None:
    assert statement(rest_authorizer(lambda r: True)(token_event("t")))["Effect"] == "Allow"
    assert http_authorizer(lambda r: False)(http_authorizer_event()) == {"isAuthorized": False}


@pytest.mark.parametrize("event", [None, [], {}, {"type": "TOKEN"}, {"type": "EVIL",
                                                                   "methodArn": f"{ARN}/GET/"},
                                   {"type": "TOKEN", "methodArn": "not-an-arn"}])
def test_malformed_events_deny(event: Any) -> None:
    assert statement(rest(event))["Effect"] == "Deny"
    assert http_simple(event) == {"isAuthorized": False}


def test_http_simple_answers_with_the_doc_sample_event() -> None:
    event = fixture("http-api-authorizer-v2.json")
    assert http_simple(event) == {"isAuthorized": False}  # token "user1" is unknown: deny
    seen: list[AuthorizerRequest] = []

    @http_authorizer
    def check(request: AuthorizerRequest) -> Allow:
        seen.append(request)
        return Allow("u1", context={"tier": "gold"})

    assert check(event) == {"isAuthorized": True,
                            "context": {"tier": "gold", "principalId": "u1"}}
    request = seen[0]
    assert request.version == "2.0" and request.token == "user1"
    assert request.identity_source == ["user1", "123"]
    assert request.query.getall("parameter1") == ["value1", "value2"]
    assert request.method == "POST" and request.path == "/my/path"
    assert request.client_cert is not None


def test_http_policy_answers_use_the_route_arn() -> None:
    event = http_authorizer_event("GET", "/notes", headers={"Authorization": "Bearer user-1"})
    answer = http_policy(event)
    assert statement(answer)["Resource"] == [event["routeArn"]]
    assert event["routeArn"].endswith("/$default/GET/notes")
    assert answer["context"]["scope"] == "notes/read"
    assert http_simple(http_authorizer_event("GET", "/")) == {"isAuthorized": False}


def test_http_payload_1_0_gets_a_policy_even_with_simple_answers() -> None:
    event = request_event("GET", "/notes", headers={"Authorization": "Bearer user-1"},
                          version="1.0")
    assert statement(http_simple(event))["Effect"] == "Allow"


@pytest.mark.parametrize(("format", "authorizer", "event"), [
    ("rest", rest, token_event("Bearer user-1", "GET", "/notes")),
    ("http", http_simple, http_authorizer_event("GET", "/notes",
                                                headers={"Authorization": "Bearer user-1"})),
])
def test_authorizer_output_feeds_request_auth_and_guards(format: str, authorizer: Any,
                                                         event: dict[str, Any]) -> None:
    """What the gateway passes on from our authorizer's answer satisfies our own guards."""
    answer = authorizer(event)
    if format == "rest":  # REST: principalId beside the stringified context values
        passed = {"principalId": answer["principalId"],
                  **{k: str(v) for k, v in answer["context"].items()}}
    else:  # HTTP API: the context under `lambda`
        passed = {"lambda": answer["context"]}
    app = App(access_log=False)

    @app.get("/notes", auth=requires(scopes=["notes/read"], groups=["staff"]))
    def notes(request: Request) -> dict[str, Any]:
        return {"user": request.auth.principal_id, "tier": request.auth.context["tier"]}

    response = TestClient(app, format=format).get("/notes", authorizer=passed)
    assert response.json() == {"user": "user-1", "tier": "gold"}


WIDE_EVENTS = [
    pytest.param(rest_authorizer, token_event("Bearer t", "GET", "/public"), "prod", id="rest"),
    pytest.param(http_authorizer(simple=False), http_authorizer_event(
        "GET", "/public", headers={"Authorization": "t"}), "$default", id="http-policy"),
]


@pytest.mark.parametrize(("wrap", "event", "stage"), WIDE_EVENTS)
def test_allow_and_deny_name_only_the_request_by_default(wrap: Any, event: dict[str, Any],
                                                         stage: str) -> None:
    """Least privilege: under the authorizer cache, a policy wider than the decision would let
    the same token into every other route of the API for the cache's TTL."""
    arn = event.get("methodArn") or event["routeArn"]
    allowed = wrap(lambda request: Allow("u1"))(event)
    denied = wrap(lambda request: Deny())(event)
    assert statement(allowed) == {"Action": "execute-api:Invoke", "Effect": "Allow",
                                  "Resource": [arn]}
    assert statement(denied) == {"Action": "execute-api:Invoke", "Effect": "Deny",
                                 "Resource": [arn]}
    assert arn.endswith(f"/{stage}/GET/public")


@pytest.mark.parametrize(("wrap", "event", "stage"), WIDE_EVENTS)
def test_the_whole_api_is_an_explicit_choice(wrap: Any, event: dict[str, Any],
                                             stage: str) -> None:
    whole = f"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/{stage}/*/*"
    allowed = wrap(lambda request: Allow("u1", resources="whole_api"))(event)
    denied = wrap(lambda request: Deny(resources="whole_api"))(event)
    assert statement(allowed)["Resource"] == [whole]
    assert statement(denied) == {"Action": "execute-api:Invoke", "Effect": "Deny",
                                 "Resource": [whole]}
    listed = wrap(lambda request: Deny(resources=[("POST", "/notes/{id}")]))(event)
    assert statement(listed)["Resource"] == [
        f"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/{stage}/POST/notes/*"]


@pytest.mark.parametrize("resources", ["api", "route", "*", [], [("GET",)], ["GET /x"]])
def test_unknown_resources_are_refused(resources: Any, logs: Records) -> None:
    with pytest.raises(TypeError, match="resources"):
        Allow("u1", resources=resources)
    with pytest.raises(TypeError, match="resources"):
        Deny(resources=resources)
    # Inside an authorizer, the mistake is a logged deny, never a wider allow.
    answer = rest_authorizer(lambda request: Allow("u1", resources=resources))(token_event("t"))
    assert statement(answer)["Effect"] == "Deny"
    (record,) = logs.records
    assert record.exc_info is not None and "resources" in str(record.exc_info[1])


def leave(request: AuthorizerRequest) -> Allow:
    raise SystemExit(0)


HTTP_EVENT = http_authorizer_event("GET", "/x", headers={"Authorization": "t"})


@pytest.mark.parametrize(("handler", "event", "refusal"), [
    (rest_authorizer(leave), token_event("t"), None),
    (http_authorizer(simple=False)(leave), HTTP_EVENT, None),
    (http_authorizer(leave), HTTP_EVENT, {"isAuthorized": False}),
])
def test_an_authorizer_calling_sys_exit_denies(handler: Any, event: dict[str, Any],
                                               refusal: Any) -> None:
    """A SystemExit escaping the handler would be a crashed invocation: a 500 from the gateway."""
    answer = handler(event)
    if refusal is not None:
        assert answer == refusal
    else:
        assert statement(answer)["Effect"] == "Deny"
