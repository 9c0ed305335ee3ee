"""Talking back to WebSocket clients through the API Gateway Management API (``@connections``).

A handler sends to any open connection with ``send``, closes one with ``close`` and reads its
details with ``info``. In a WebSocket handler the endpoint comes from the event; elsewhere (an
HTTP route, a queue consumer) give it explicitly or set ``LAMROUTE_CONNECTIONS_ENDPOINT``.
boto3 is imported on first use only (``pip install 'lamroute[websocket]'``).

>>> from lamroute.testing import MemoryBackend
>>> memory = MemoryBackend()
>>> memory.open("abc=")
>>> Connections(backend=memory).send("abc=", {"text": "hi"})
>>> memory.messages["abc="]
[b'{"text":"hi"}']
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ..exceptions import LamrouteError
from ..http.response import dump_json

if TYPE_CHECKING:
    from ..formats.websocket import WebSocketRequest

ENDPOINT_ENV = "LAMROUTE_CONNECTIONS_ENDPOINT"
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
# Clients are reused across invocations of a warm container (creating one costs ~50 ms).
_CLIENTS: dict[tuple[str, str], Any] = {}
_override: ContextVar[Connections | None] = ContextVar("lamroute_connections", default=None)


class ConnectionGone(LamrouteError):
    """The client has disconnected: API Gateway answered ``410 GoneException``."""

    def __init__(self, connection_id: str) -> None:
        self.connection_id = connection_id
        super().__init__(f"WebSocket connection {connection_id!r} is gone.")


class ConnectionsError(LamrouteError):
    """The Management API refused a call (other than a gone connection), or has no endpoint."""


class ConnectionInfo(NamedTuple):
    """What ``GetConnection`` tells about a connection."""

    connection_id: str
    connected_at: datetime | None = None
    last_active_at: datetime | None = None
    source_ip: str | None = None
    user_agent: str | None = None


class Backend(Protocol):
    """Where ``Connections`` sends its calls: the Management API, or memory in tests."""

    def post(self, connection_id: str, data: bytes) -> None: ...
    def delete(self, connection_id: str) -> None: ...
    def get(self, connection_id: str) -> ConnectionInfo: ...


class Connections:
    """Send to, close and inspect WebSocket connections.

    ``endpoint`` is the Management API's base URL (``https://{api-id}.execute-api.{region}
    .amazonaws.com/{stage}``); when it is ``None`` the endpoint is derived from each
    WebSocket event (see :func:`endpoint_for`). ``base_path`` is the API mapping path to use
    when clients connect through a custom domain; ``client`` a ready boto3 client;
    ``backend`` replaces the Management API altogether (``lamroute.testing.MemoryBackend``).
    """

    def __init__(self, endpoint: str | None = None, *, base_path: str | None = None,
                 region: str | None = None, client: Any = None,
                 backend: Backend | None = None) -> None:
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.base_path = base_path
        self.region = region
        self.client = client
        self._backend = backend

    def for_request(self, request: WebSocketRequest) -> Connections:
        """These connections, with the endpoint of ``request`` unless one is configured."""
        override = _override.get()
        if override is not None:
            return override
        if self._backend is not None or self.endpoint or self.client is not None:
            return self
        endpoint = endpoint_for(request.domain_name, request.stage, request.api_id,
                                base_path=self.base_path, region=self.region)
        return Connections(endpoint, region=self.region)

    @property
    def backend(self) -> Backend:
        override = _override.get()
        if override is not None and override is not self:
            return override.backend
        if self._backend is None:
            endpoint = self.endpoint or os.environ.get(ENDPOINT_ENV)
            if not endpoint and self.client is None:
                raise ConnectionsError(
                    "No Management API endpoint: pass Connections(endpoint=...), set "
                    f"{ENDPOINT_ENV}, or use request.connections in a WebSocket handler."
                )
            self._backend = ManagementApi(endpoint or "", region=self.region, client=self.client)
        return self._backend

    def send(self, connection_id: str, data: str | bytes | Any) -> None:
        """Send ``data`` (text, bytes, or anything JSON-able) to ``connection_id``.

        Raises :class:`ConnectionGone` when the client has gone away.
        """
        self.backend.post(connection_id, encode_message(data))

    def close(self, connection_id: str) -> None:
        """Disconnect ``connection_id`` (its ``$disconnect`` route runs afterwards)."""
        self.backend.delete(connection_id)

    def info(self, connection_id: str) -> ConnectionInfo:
        """When the connection opened, when it was last active, and who holds it."""
        return self.backend.get(connection_id)

    def __repr__(self) -> str:
        return f"<Connections {self.endpoint or type(self._backend).__name__}>"


def encode_message(data: str | bytes | Any) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    return dump_json(data)


def endpoint_for(domain_name: str | None, stage: str | None, api_id: str | None, *,
                 base_path: str | None = None, region: str | None = None) -> str:
    """The Management API endpoint for an event's ``domainName``, ``stage`` and ``apiId``.

    On the ``execute-api`` domain it is ``https://{domainName}/{stage}``. On a custom domain
    the event carries the custom domain but the stage, not the API mapping's path, and the
    Management API is only reachable there through that mapping
    (``https://{domain}/{base_path}``), so without ``base_path`` we use the API's own
    ``execute-api`` endpoint in the function's region, which always works.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
    https://docs.aws.amazon.com/apigatewaymanagementapi/latest/reference/index.html (endpoints)

    >>> endpoint_for("abc123.execute-api.eu-west-1.amazonaws.com", "prod", "abc123")
    'https://abc123.execute-api.eu-west-1.amazonaws.com/prod'
    >>> endpoint_for("ws.example.com", "prod", "abc123", region="eu-west-1")
    'https://abc123.execute-api.eu-west-1.amazonaws.com/prod'
    >>> endpoint_for("ws.example.com", "prod", "abc123", base_path="chat")
    'https://ws.example.com/chat'
    """
    if not domain_name or not stage:
        raise ConnectionsError("The event has no domainName/stage to derive the endpoint from.")
    if domain_name.split(":", 1)[0] in _LOCAL_HOSTS or domain_name.startswith("[::1]"):
        return f"http://{domain_name}/{stage}"  # the local emulator (lamroute.local.websocket)
    if _region_of_host(domain_name):
        return f"https://{domain_name}/{stage}"
    if base_path is not None:
        path = base_path.strip("/")
        return f"https://{domain_name}/{path}" if path else f"https://{domain_name}"
    if not api_id:
        raise ConnectionsError(
            f"Custom domain {domain_name!r} without apiId: pass Connections(base_path=...)."
        )
    return f"https://{api_id}.execute-api.{region or default_region()}.amazonaws.com/{stage}"


def default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@contextmanager
def use_connections(connections: Connections) -> Iterator[Connections]:
    """Make every ``Connections`` in the block use ``connections`` (local server, tests)."""
    token = _override.set(connections)
    try:
        yield connections
    finally:
        _override.reset(token)


class ManagementApi:
    """The ``apigatewaymanagementapi`` boto3 client for one endpoint."""

    def __init__(self, endpoint: str, *, region: str | None = None, client: Any = None) -> None:
        self.endpoint = endpoint
        self.region = region or _region_of(endpoint) or default_region()
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            key = (self.endpoint, self.region)
            if key not in _CLIENTS:
                _CLIENTS[key] = _make_client(self.endpoint, self.region)
            self._client = _CLIENTS[key]
        return self._client

    def post(self, connection_id: str, data: bytes) -> None:
        self._call("post_to_connection", connection_id, Data=data)

    def delete(self, connection_id: str) -> None:
        self._call("delete_connection", connection_id)

    def get(self, connection_id: str) -> ConnectionInfo:
        answer = self._call("get_connection", connection_id)
        identity = answer.get("Identity") or {}
        return ConnectionInfo(connection_id, answer.get("ConnectedAt"),
                              answer.get("LastActiveAt"), identity.get("SourceIp"),
                              identity.get("UserAgent"))

    def _call(self, operation: str, connection_id: str, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return getattr(self.client, operation)(ConnectionId=connection_id, **kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if error.get("Code") == "GoneException" or status == 410:
                raise ConnectionGone(connection_id) from None
            raise ConnectionsError(
                f"{operation} {connection_id!r} failed: {error.get('Code')} "
                f"{error.get('Message', '')}".rstrip()
            ) from exc


def _region_of(endpoint: str) -> str | None:
    return _region_of_host(endpoint.split("://", 1)[-1].split("/", 1)[0])


def _region_of_host(host: str) -> str | None:
    """``eu-west-1`` for ``{api-id}.execute-api.eu-west-1.amazonaws.com`` (or ``.com.cn``)."""
    parts = host.lower().split(".")
    if (len(parts) in (5, 6) and parts[1] == "execute-api" and parts[3] == "amazonaws"
            and parts[4] == "com" and parts[5:] in ([], ["cn"])):
        return parts[2]
    return None


def _make_client(endpoint: str, region: str) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConnectionsError(
            "Sending to WebSocket connections needs boto3: pip install 'lamroute[websocket]'."
        ) from None
    options: dict[str, Any] = {}
    host = endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    if endpoint.startswith("http://") and _is_loopback(host):
        from botocore import UNSIGNED

        # The local emulator checks no signature, and a developer may have no credentials.
        options["config"] = Config(signature_version=UNSIGNED, retries={"max_attempts": 1})
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint, region_name=region,
                        **options)


def _is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (all of 127.0.0.0/8: ``lamroute serve --host``)."""
    if host == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
