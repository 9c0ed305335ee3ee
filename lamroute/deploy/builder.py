"""The SAM template of an app: its function, the API its routes need, the WebSocket API its
``@app.websocket`` routes need, and the authorizers its guards need.

:func:`build_template` composes the parts: :mod:`.auth` (access per route), :mod:`.routes`
(which routes the API declares), :mod:`.definition` (the API definition and its
integrations), :mod:`.gateway_responses` (the REST API's own error answers) and
:mod:`.websocket`. An integration other than the Lambda proxy slots in through
``TemplateOptions.integration`` (lamroute's custom one:
:class:`~lamroute.deploy.custom_integration.CustomLambdaIntegration`); gateway responses,
authorizers and routes stay the same.

>>> from lamroute import App
>>> app = App(title="Notes")
>>> @app.get("/notes")
... def notes() -> list[str]: ...
>>> template = build_template("notes.app", app, TemplateOptions(api="http", per_route=True))
>>> sorted(template["Resources"]["Api"]["Properties"]["DefinitionBody"]["paths"])
['/notes']
"""

from __future__ import annotations

import math
from typing import Any

from .app_facts import binary_use, connect_guards, uses_connections
from .auth import TemplateError, plan_auth, plan_websocket_auth
from .definition import FUNCTION_ID, definition, proxy_integration
from .gateway_responses import gateway_responses
from .options import (
    API_ID,
    DEFAULT_INTEGRATION_S,
    MAX_INTEGRATION_S,
    SAM_TRANSFORM,
    TemplateOptions,
    check_binary_media_types,
)
from .routes import GatewayRoute, GatewayRouteTable, app_gateway_routes, plan_routes
from .sam_auth import SamParts, lambda_authorizer, sam_authorizers
from .websocket import API_ID as WEBSOCKET_API_ID
from .websocket import (
    DEFAULT_ROUTE_SELECTION,
    connections_endpoint,
    manage_connections_policy,
    websocket_resources,
)


def build_template(handler: str, app: Any = None, options: TemplateOptions | None = None, *,
                   description: str | None = None,
                   notes: list[str] | None = None) -> dict[str, Any]:
    """The template as a dict (:func:`lamroute.deploy.sam.to_yaml` writes it). Without an
    ``app`` it is a plain proxy (REST binary media types ``*/*``). Raises
    :class:`TemplateError` for what API Gateway cannot deploy as the app describes it."""
    return _Builder(handler, app, options or TemplateOptions(), notes).build(description)


class _Builder:
    def __init__(self, handler: str, app: Any, options: TemplateOptions,
                 notes: list[str] | None) -> None:
        self.handler = handler
        self.app = app
        self.options = options
        self.notes = notes if notes is not None else []
        self.title = str(getattr(app, "title", None) or handler)
        self.resources: dict[str, Any] = {}
        self.parameters: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.schemes: set[str] = set()  # the guard schemes that got an authorizer
        has_ws = bool(app is not None and getattr(app, "websocket_routes", None))
        self.has_http = app is None or bool(app.routes) or not has_ws
        self.has_ws = has_ws
        self.timeouts = self._integration_timeouts()

    def build(self, description: str | None) -> dict[str, Any]:
        self._note_unused_options()
        function = self._function()
        self.resources[FUNCTION_ID] = function
        if self.has_http:
            self._http_api()
        if self.has_ws:
            self._websocket_api(function)
        self._note_unused_schemes()
        template: dict[str, Any] = {
            "AWSTemplateFormatVersion": "2010-09-09", "Transform": SAM_TRANSFORM,
            "Description": description or f"{self.title}: one Lambda function behind API Gateway",
        }
        if self.parameters:
            template["Parameters"] = self.parameters
        template["Resources"] = self.resources
        template["Outputs"] = self.outputs
        return template

    def _note_unused_options(self) -> None:
        """Options the app gives nothing to apply to are said, never silently dropped."""
        options, unused = self.options, []
        if not self.has_http:
            if options.per_route:
                unused.append("--per-route (the app has no HTTP routes)")
            if options.api != "rest":
                unused.append("--api (the app has no HTTP routes)")
            if options.integration is not None:
                unused.append("--integration (the app has no HTTP routes)")
        if options.binary_media_types is not None and options.api == "http":
            unused.append("--binary-media-type (HTTP APIs need none)")
        if not options.gateway_responses and (options.api == "http" or not self.has_http):
            unused.append("--no-gateway-responses (only REST APIs have them)")
        if not self.has_ws and (options.route_selection != DEFAULT_ROUTE_SELECTION
                                or not options.two_way or options.manage_connections):
            unused.append("the WebSocket options (the app has no WebSocket routes)")
        for option in unused:
            self.notes.append(f"ignored: {option}")

    def _sam_parts(self) -> SamParts:
        return SamParts(self.parameters, self.resources, self.options.auth,
                        self.options.function.runtime, self.options.function.code_uri,
                        self.options.function.architecture)

    def _note_unused_schemes(self) -> None:
        for option, chosen in (("--authorizer-kind", self.options.auth.kinds),
                               ("--lambda-authorizer", self.options.auth.lambda_functions)):
            for scheme in chosen:
                if scheme is not None and scheme not in self.schemes:
                    self.notes.append(f"ignored: {option} {scheme}=...: no guard of the app "
                                      f"uses scheme {scheme!r}")

    # -- the function -------------------------------------------------------------------------

    def _integration_timeouts(self) -> dict[str, float]:
        chosen = self.options.integration_timeout
        timeouts: dict[str, float] = {}
        kinds = ([self.options.api] if self.has_http else []) + (
            ["websocket"] if self.has_ws else [])
        for kind in kinds:
            value = chosen if chosen is not None else DEFAULT_INTEGRATION_S[kind]
            if not 0.05 <= value <= MAX_INTEGRATION_S[kind]:
                raise TemplateError(f"the {kind} integration timeout is 0.05-"
                                    f"{MAX_INTEGRATION_S[kind]:g} seconds, not {value:g}")
            timeouts[kind] = value
        if chosen is not None and chosen > 29 and self.options.api == "rest":
            self.notes.append("a REST integration timeout over 29 s needs the quota raised "
                              "(Regional and private APIs only)")
        return timeouts

    def _function_timeout(self) -> int:
        shortest = min(self.timeouts.values())
        # Below the integration timeout, so that a stuck invocation ends before the gateway
        # gives up on it: lamroute's own 504 (its deadline) reaches the client first.
        limit = math.ceil(shortest) - 1
        timeout = self.options.function.timeout
        if timeout is None:
            return max(limit, 1)
        if timeout >= shortest:
            raise TemplateError(f"--timeout {timeout} must be below the integration timeout "
                                f"({shortest:g} s): the gateway would answer 504 while the "
                                "function still runs")
        return timeout

    def _function(self) -> dict[str, Any]:
        fn = self.options.function
        timeout = self._function_timeout()
        self._check_app_deadline()
        properties: dict[str, Any] = {
            "Handler": self.handler, "Runtime": fn.runtime, "CodeUri": fn.code_uri,
            "MemorySize": fn.memory, "Timeout": timeout, "Architectures": [fn.architecture],
            "Environment": {"Variables": {"LOG_LEVEL": "INFO"}},
        }
        return {"Type": "AWS::Serverless::Function", "Properties": properties}

    def _check_app_deadline(self) -> None:
        budget = getattr(getattr(self.app, "safeguards", None), "timeout", None)
        integration_s = getattr(budget, "integration_s", None)
        shortest = min(self.timeouts.values())
        if integration_s is not None and integration_s > shortest:
            self.notes.append(
                f"App(timeout=Timeout(integration_s={integration_s:g})) is longer than the "
                f"gateway's {shortest:g} s: the gateway answers 504 before lamroute's deadline")

    # -- the REST or HTTP API -------------------------------------------------------------------

    def _http_api(self) -> None:
        api, options = self.options.api, self.options
        plan = None
        if self.app is None:
            routes = plan_routes([], api=api, per_route=options.per_route)
        else:
            plan = plan_auth(self.app, api=api, options=options.auth)  # refuses what cannot be
            routes = app_gateway_routes(self.app, api=api, per_route=options.per_route)
            GatewayRouteTable(routes)  # refuses sibling variables API Gateway would reject
        timeout_s = self.timeouts[api]
        make = options.integration or (lambda kind, t: proxy_integration(kind, timeout_s=t))
        for_template = getattr(make, "for_template", None)
        if for_template is not None:  # an integration that takes the app's error shape
            make = for_template(self.app, self.notes)
        authorizers = plan.authorizers if plan else {}
        self.schemes.update(a.scheme for a in authorizers.values())
        body = definition(api, routes, title=self.title,
                          version=str(getattr(self.app, "version", "1.0")),
                          integration=make(api, timeout_s), authorizers=authorizers)
        stage = options.stage or ("prod" if api == "rest" else "$default")
        properties: dict[str, Any] = {"StageName": stage, "DefinitionBody": body}
        sam_auth = sam_authorizers(authorizers, api, self._sam_parts())
        if plan is not None and plan.api_key:
            # A usage plan and a key for it, so that key-guarded routes can be called at all.
            # https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-apiusageplan.html
            sam_auth["UsagePlan"] = {"CreateUsagePlan": "PER_API"}
            self.notes.append("API key routes: SAM creates a usage plan and one API key "
                              "(its value is in the API Gateway console)")
        if sam_auth:
            properties["Auth"] = sam_auth
        if api == "rest":
            self._rest_properties(properties, plan is not None and plan.iam)
        self._throttle(properties, api)
        kind = "AWS::Serverless::Api" if api == "rest" else "AWS::Serverless::HttpApi"
        self.resources[API_ID] = {"Type": kind, "Properties": properties}
        # One permission for every route of the API, where SAM events would add one each.
        self.resources["ApiPermission"] = {"Type": "AWS::Lambda::Permission", "Properties": {
            "Action": "lambda:InvokeFunction", "FunctionName": {"Ref": FUNCTION_ID},
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                                     f"${{AWS::AccountId}}:${{{API_ID}}}/*"}}}
        path_stage = "" if stage == "$default" else f"{stage}/"
        self.outputs["ApiUrl"] = {"Description": "The API's base URL", "Value": {
            "Fn::Sub": f"https://${{{API_ID}}}.execute-api.${{AWS::Region}}."
                       f"${{AWS::URLSuffix}}/{path_stage}"}}
        self._count_routes(routes)

    def _count_routes(self, routes: list[GatewayRoute]) -> None:
        # Quotas: 300 resources per REST API, 300 routes per HTTP API (raisable).
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
        if len({r.path for r in routes}) > 300 or len(routes) > 300:
            self.notes.append(f"{len(routes)} routes: above API Gateway's default quota of 300")

    def _rest_properties(self, properties: dict[str, Any], iam: bool) -> None:
        binary = self._binary_media_types()
        if binary:
            # SAM's notation escapes the slash of a media type as "~1".
            # https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-api.html
            properties["BinaryMediaTypes"] = [t.replace("/", "~1") for t in binary]
        if self.options.gateway_responses:
            # Declared in the API definition: SAM names its deployment after a hash of the
            # definition, so a change here deploys the stage again. A separate
            # AWS::ApiGateway::GatewayResponse would change the API but not the deployment the
            # stage serves (CDK redeploys for them: aws-apigateway/lib/gateway-response.ts).
            properties["GatewayResponses"] = gateway_responses(
                formatter=getattr(getattr(self.app, "boundary", None), "formatter", None),
                cors=getattr(self.app, "cors", None), iam=iam, notes=self.notes)

    def _binary_media_types(self) -> tuple[str, ...]:
        chosen = self.options.binary_media_types
        needed: tuple[str, ...] | None = getattr(self.options.integration,
                                                 "binary_media_types", None)
        if needed is not None:
            check_binary_media_types(needed, chosen)
            return tuple(needed)
        if chosen is not None:
            return chosen
        if self.app is None:
            return ("*/*",)
        use = binary_use(self.app, self.notes)
        if use.undocumented and not use.binary:
            shown = ", ".join(use.undocumented[:5]) + (" ..." if len(use.undocumented) > 5
                                                       else "")
            self.notes.append(
                f"no binary media types: the app documents no binary body, but {shown} "
                "document no media type; if one answers binary, pass --binary-media-type '*/*'")
        return ("*/*",) if use.binary else ()

    def _throttle(self, properties: dict[str, Any], api: str) -> None:
        if self.options.throttle is None:
            return
        rate, burst = self.options.throttle
        settings = {"ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}
        if api == "rest":
            properties["MethodSettings"] = [{"ResourcePath": "/*", "HttpMethod": "*",
                                             **settings}]
        else:
            properties["DefaultRouteSettings"] = settings

    # -- the WebSocket API ----------------------------------------------------------------------

    def _manage_connections(self) -> bool:
        """Whether the function may manage its WebSocket API's connections: yes unless the
        options say no. Reading the code finds handlers that push, not a dependency or helper
        that does (a missing right is a 403 on every push), so it only decides the note."""
        chosen = self.options.manage_connections
        pushes = uses_connections(self.app)
        if chosen is None and not pushes:
            self.notes.append(
                "the function gets execute-api:ManageConnections on its WebSocket API's "
                "@connections (no handler names connections, but a dependency or helper may "
                "push): pass --no-manage-connections if nothing does")
        elif chosen is False and pushes:
            self.notes.append(
                "--no-manage-connections, but the app's code uses connections: its pushes "
                "will be refused (403 AccessDeniedException)")
        return chosen is not False

    def _websocket_api(self, function: dict[str, Any]) -> None:
        stage = self.options.stage or "prod"
        if stage == "$default":  # an HTTP API's stage: the WebSocket API gets a named one
            stage = "prod"
        guards = connect_guards(self.app)
        connect, authorizers = plan_websocket_auth(guards, options=self.options.auth)
        self.schemes.update(a.scheme for a in authorizers.values())
        for authorizer in authorizers.values():
            if authorizer.kind == "lambda":
                lambda_authorizer(authorizer, self._sam_parts())
        throttle = None
        if self.options.throttle is not None:
            rate, burst = self.options.throttle
            throttle = {"ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}
        self.resources.update(websocket_resources(
            [r.route_key for r in self.app.websocket_routes], stage=stage, connect=connect,
            authorizers=authorizers, two_way=self.options.two_way,
            route_selection=self.options.route_selection, title=self.title,
            identity_headers=self.options.auth.identity_headers,
            timeout_s=self.timeouts["websocket"], throttle=throttle))
        manage = self._manage_connections()
        properties = function["Properties"]
        if manage:
            properties.setdefault("Policies", []).append(manage_connections_policy(stage))
            # HTTP routes (and code outside a WebSocket event) find the endpoint here.
            properties["Environment"]["Variables"]["LAMROUTE_CONNECTIONS_ENDPOINT"] = (
                connections_endpoint(stage))
            self.outputs["ConnectionsUrl"] = {
                "Description": "The @connections endpoint the function posts to",
                "Value": connections_endpoint(stage)}
        self.outputs["WebSocketUrl"] = {"Description": "Connect here", "Value": {
            "Fn::Sub": f"wss://${{{WEBSOCKET_API_ID}}}.execute-api.${{AWS::Region}}."
                       f"${{AWS::URLSuffix}}/{stage}"}}
