"""The local runtime: the local gateway in front of worker processes running the real runtime
client (awslambdaric) against lamroute's Runtime API emulator. Lambda's behaviours, each shown
over real sockets: cold starts, one invocation per worker, throttling, timeouts, crashes,
init errors, the environment, and the gateway's answers to each failure."""

from __future__ import annotations

import http.client
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from fixtures import Records, serving

from lamroute.local import LocalGateway
from lamroute.local.function import FunctionConfig, execution_env
from lamroute.local.gateway import HttpRequest
from lamroute.local.workers import LocalRuntime

TESTS = Path(__file__).resolve().parent
APP = "fixtures.runtime_app.app"
# What each gateway answers to a failed function, and to a throttled invocation.
FUNCTION_FAILED = {"rest": (502, {"message": "Internal server error"}),
                   "http": (500, {"message": "Internal Server Error"}),
                   "url": (502, {"message": "Internal Server Error"})}
THROTTLED = {"rest": (500, {"message": "Internal server error"}),
             "http": (500, {"message": "Internal Server Error"}),
             "url": (429, {"message": "Rate Exceeded."})}


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IO[Any]]:
    """Where the workers' stdout and stderr go (the terminal, under `lamroute serve`)."""
    with open(tmp_path_factory.mktemp("runtime") / "workers.log", "w+b") as file:
        yield file


def worker_output(output: IO[Any]) -> str:
    output.flush()
    output.seek(0)
    return output.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def runtime(output: IO[Any]) -> Iterator[LocalRuntime]:
    """One pool for the module: 2 workers at most, a 2 s timeout, 256 MB enforced."""
    function = FunctionConfig(handler=APP, name="runtime-tests", timeout=2.0, memory=256,
                              memory_limit=True, variables={"GREETING": "hello"})
    with LocalRuntime(function, concurrency=2, cwd=str(TESTS), output=output) as pool:
        yield pool






def get(server: LocalGateway, path: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", server.gateway.config.prefix + path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(body)
    except ValueError:
        return response.status, body


def test_the_handler_runs_in_the_main_thread_of_the_runtime_client(
        runtime: LocalRuntime) -> None:
    with serving(runtime) as server:
        status, body = get(server, "/whoami")
    assert status == 200
    assert body["main_thread"] is True
    assert body["runtime_client"] is True
    assert body["context"] == "LambdaContext"  # awslambdaric's, built from the headers
    assert body["function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:runtime-tests"


def test_a_cold_start_is_a_new_process_shown_in_the_access_line_and_a_report_line(
        runtime: LocalRuntime, local_logs: Records) -> None:
    """One cold-start value, the worker's init duration, in the access line, the pretty
    terminal line and the REPORT line."""
    from lamroute.local.gateway import HttpRequest, access_fields, access_line
    from lamroute.local.terminal import GatewayFormatter, Style

    runtime.recycle()  # no warm worker left: the next request starts one
    with serving(runtime) as server:
        first = server.gateway.handle(HttpRequest("GET", "/prod/whoami"))
        second = server.gateway.handle(HttpRequest("GET", "/prod/whoami"))
    assert json.loads(first.body)["pid"] == json.loads(second.body)["pid"]  # warm: reused
    cold = first.cold_start
    assert cold is not None and cold.init_ms is not None and cold.init_ms > 0
    assert second.cold_start is None
    request = HttpRequest("GET", "/prod/whoami")
    assert access_line(request, first, 0.1).endswith(f" cold (init {cold.init_ms:.0f}ms)")
    assert "cold" not in access_line(request, second, 0.001)
    record = logging.makeLogRecord(access_fields(request, first, 0.1))
    pretty = GatewayFormatter(Style(color=False)).format(record)
    assert pretty.endswith(f"GET /prod/whoami 200 100.0ms cold (init {cold.init_ms:.0f}ms)")
    reports = [m for m in local_logs.messages() if m.startswith("REPORT RequestId: ")]
    assert len(reports) == 2
    assert f"\tInit Duration: {cold.init_ms:.2f} ms" in reports[0]
    assert "Init Duration" not in reports[1]
    for report in reports:
        assert "\tDuration: " in report and "\tMemory Size: 256 MB" in report
        assert "\tMax Memory Used: " in report


def test_workers_start_on_demand_and_handle_one_invocation_at_a_time(
        runtime: LocalRuntime) -> None:
    results: list[tuple[int, Any]] = []
    with serving(runtime, api="http") as server:
        threads = [threading.Thread(target=lambda: results.append(
            get(server, "/hang?seconds=0.6"))) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert [status for status, _ in results] == [200, 200]
    assert len({body["pid"] for _, body in results}) == 2  # two workers, one request each
    assert runtime.workers == 2


def get_when_every_worker_is_busy(server: LocalGateway, pool: LocalRuntime, *,
                                  seconds: float) -> tuple[int, Any]:
    """``GET /whoami`` while requests hanging ``seconds`` hold every worker of ``pool``."""
    busy = [threading.Thread(target=get, args=(server, f"/hang?seconds={seconds}"))
            for _ in range(pool.concurrency)]
    for thread in busy:
        thread.start()
    while pool.busy < pool.concurrency:
        threading.Event().wait(0.01)
    answer = get(server, "/whoami")
    for thread in busy:
        thread.join()
    return answer


@pytest.mark.parametrize("api", ["rest", "http", "url"])
def test_a_request_beyond_the_concurrency_is_throttled_as_the_gateway_answers(
        runtime: LocalRuntime, api: str, local_logs: Records) -> None:
    with serving(runtime, api=api) as server:
        throttled = get_when_every_worker_is_busy(server, runtime, seconds=0.8)
    assert throttled == THROTTLED[api]
    assert any("throttled" in m and "TooManyRequestsException" in m
               for m in local_logs.messages())


@pytest.mark.parametrize("api", ["rest", "http"])
def test_the_function_timeout_kills_the_worker_and_the_next_request_gets_a_fresh_one(
        runtime: LocalRuntime, api: str, local_logs: Records) -> None:
    with serving(runtime, api=api) as server:
        before = get(server, "/whoami")[1]["pid"]
        timed_out = get(server, "/hang?seconds=30")  # no deadline guard on this route
        after = get(server, "/whoami")[1]["pid"]
    assert timed_out == FUNCTION_FAILED[api]
    assert after != before
    text = "\n".join(local_logs.messages())
    assert "Sandbox.Timedout" in text and "Task timed out after 2.00 seconds" in text


def test_the_deadline_guard_answers_504_before_the_worker_is_killed(
        runtime: LocalRuntime, output: IO[Any]) -> None:
    """In the main thread of the runtime client, lamroute's SIGALRM guard interrupts the slow
    handler at its budget (the 2 s timeout less the 0.5 s margin): the app's own 504 problem,
    the worker lives on, and no "cannot be interrupted" warning is logged."""
    with serving(runtime) as server:
        before = get(server, "/whoami")[1]["pid"]
        status, body = get(server, "/sleep?seconds=30")
        after = get(server, "/whoami")[1]["pid"]
    assert status == 504
    assert body["title"] == "Gateway Timeout"  # lamroute's problem, not the gateway's answer
    assert after == before  # the same warm worker: it was not killed
    text = worker_output(output)
    assert "deadline reached" in text
    assert "cannot be interrupted" not in text


CRASHES = {"exit": "exit status 3", "segfault": "signal: segmentation fault",
           "memory": "Runtime.OutOfMemory"}


@pytest.mark.parametrize("api", ["rest", "http"])
@pytest.mark.parametrize("crash", sorted(CRASHES))
def test_a_crash_ends_the_worker_and_the_next_request_gets_a_fresh_one(
        runtime: LocalRuntime, crash: str, api: str, local_logs: Records) -> None:
    with serving(runtime, api=api) as server:
        before = get(server, "/whoami")[1]["pid"]
        crashed = get(server, f"/crash/{crash}")
        after = get(server, "/whoami")
    assert crashed == FUNCTION_FAILED[api]
    assert after[0] == 200 and after[1]["pid"] != before
    assert CRASHES[crash] in "\n".join(local_logs.messages())


def test_the_function_gets_the_environment_lambda_sets(runtime: LocalRuntime) -> None:
    with serving(runtime) as server:
        status, env = get(server, "/env")
    assert status == 200
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "runtime-tests"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_REGION"]
    assert env["AWS_EXECUTION_ENV"] == execution_env() == \
        f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}"
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/runtime-tests"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["LAMBDA_TASK_ROOT"] == str(TESTS)
    assert env["_HANDLER"] == APP
    assert env["TZ"] == ":UTC"
    assert env["GREETING"] == "hello"  # the function's own variables


@pytest.mark.parametrize("api", ["rest", "http"])
def test_a_malformed_answer_from_a_worker_is_the_gateways_error(api: str) -> None:
    function = FunctionConfig(handler="fixtures.runtime_app.raw")
    with LocalRuntime(function, concurrency=1, cwd=str(TESTS)) as pool, \
            serving(pool, api=api) as server:
        answer = get(server, "/")
    expected = {"rest": (502, {"message": "Internal server error"}),
                "http": (500, {"message": "Internal Server Error"})}
    assert answer == expected[api]


@pytest.mark.parametrize(("module", "shown"), [
    ("runtime_broken", ["Runtime.ImportModuleError", "runtime_broken.py", "line 3",
                        "import lamroute_no_such_module",
                        "No module named 'lamroute_no_such_module'"]),
    ("runtime_raises", ["KeyError", "runtime_raises.py",
                        "RUNTIME_TEST_TABLE_THAT_IS_NOT_SET"]),
])
def test_an_import_error_is_an_init_error_shown_with_the_users_traceback(
        module: str, shown: list[str], local_logs: Records, tmp_path: Path) -> None:
    function = FunctionConfig(handler=f"fixtures.{module}.app")
    with open(tmp_path / "out.log", "wb") as out, \
            LocalRuntime(function, concurrency=1, cwd=str(TESTS), output=out) as pool, \
            serving(pool) as server:
        first = get(server, "/")
        second = get(server, "/")  # Lambda tries to start the function again
    assert first == second == FUNCTION_FAILED["rest"]
    failures = [m for m in local_logs.messages() if m.startswith("!!! 502")]
    assert len(failures) == 2
    assert "init error" in failures[0]
    for text in shown:
        assert text in failures[0], failures[0]


def test_the_integration_timeout_answers_504_while_the_function_runs_on(
        runtime: LocalRuntime) -> None:
    with serving(runtime, timeout=0.3) as server:
        status, body = get(server, "/hang?seconds=0.6")
        busy = runtime.busy  # the function goes on after the gateway gave up
        while runtime.busy:
            threading.Event().wait(0.02)
        assert get(server, "/whoami")[0] == 200  # the worker is free again
    assert (status, body) == (504, {"message": "Endpoint request timed out"})
    assert busy == 1


def test_recycling_a_busy_pool_frees_its_slots_at_once(runtime: LocalRuntime) -> None:
    """A recycled worker stops counting toward the concurrency when it is stopped."""
    with serving(runtime) as server:
        for _ in range(3):
            assert get(server, "/whoami")[0] == 200
            runtime.recycle()
            assert runtime.workers == 0


def test_recycling_replaces_every_worker(runtime: LocalRuntime) -> None:
    with serving(runtime) as server:
        before = get(server, "/whoami")[1]["pid"]
        runtime.recycle()  # what `serve --reload` does when a file changes
        after = get(server, "/whoami")[1]["pid"]
    assert before != after


def test_closing_the_runtime_stops_every_worker(output: IO[Any]) -> None:
    pool = LocalRuntime(FunctionConfig(handler=APP), concurrency=1, cwd=str(TESTS),
                        output=output)
    with serving(pool) as server:
        assert get(server, "/whoami")[0] == 200
    (worker,) = pool._workers
    pool.close()
    assert worker.process.poll() is not None  # killed and reaped
    assert pool.workers == 0


SAM = """\
Parameters:
  Level:
    Type: String
    Default: DEBUG
Globals:
  Function:
    Timeout: 12
    MemorySize: 1024
    Environment:
      Variables:
        A: global
        B: global
    LoggingConfig:
      LogFormat: JSON
Resources:
  Other:
    Type: AWS::Serverless::Function
    Properties:
      Handler: other.app
  Api:
    Type: AWS::Serverless::Function
    Properties:
      Handler: fixtures.runtime_app.app
      FunctionName: notes-api
      MemorySize: 256
      Environment:
        Variables:
          B: own
          FLAG: true
          QUEUE: !GetAtt Queue.QueueName
      LoggingConfig:
        ApplicationLogLevel: !Ref Level
"""


def test_a_sam_template_gives_the_functions_settings_merged_with_globals(
        tmp_path: Path) -> None:
    from lamroute.local.template_settings import TemplateSettingsError, load_template

    path = tmp_path / "template.yaml"
    path.write_text(SAM)
    settings = load_template(path, handler=APP)  # the one read: the API's and the function's
    spec = settings.function
    assert settings.api is None and spec is not None
    assert (spec.logical_id, spec.name, spec.timeout, spec.memory) == (
        "Api", "notes-api", 12.0, 256)
    assert spec.variables == {"A": "global", "B": "own", "FLAG": "true"}
    assert spec.unresolved == {"QUEUE": '{"Fn::GetAtt": ["Queue", "QueueName"]}'}
    assert (spec.log_format, spec.log_level) == ("JSON", "DEBUG")
    with pytest.raises(TemplateSettingsError, match="choose one with --function"):
        load_template(path, handler="nowhere.app")
    other = load_template(path, handler="x.app", function="Other").function
    assert other is not None and other.name == "Other"


def test_the_log_settings_reach_the_runtime_client(tmp_path: Path) -> None:
    """LoggingConfig becomes AWS_LAMBDA_LOG_FORMAT/LEVEL, which awslambdaric reads at start."""
    function = FunctionConfig(handler=APP, log_format="JSON", log_level="DEBUG")
    with LocalRuntime(function, concurrency=1, cwd=str(TESTS)) as pool, \
            serving(pool) as server:
        status, env = get(server, "/env")
    assert status == 200
    assert (env["AWS_LAMBDA_LOG_FORMAT"], env["AWS_LAMBDA_LOG_LEVEL"]) == ("JSON", "DEBUG")


def test_startup_hooks_run_at_init_when_the_runtime_client_imports_the_app(
        local_logs: Records, monkeypatch: pytest.MonkeyPatch) -> None:
    """`start_at_init`: a worker runs awslambdaric, which imports the handler's module as
    Lambda does, so the app's startup hooks run in INIT: their time is the cold start's init
    duration (and its REPORT line's), not the first invocation's. The flag lamroute's own
    commands set in their process to skip the hooks does not reach the workers."""
    from fixtures.runtime_startup import HOOK_SECONDS

    monkeypatch.setenv("LAMROUTE_SKIP_STARTUP", "1")  # as `lamroute routes` leaves it

    function = FunctionConfig(handler="fixtures.runtime_startup.app", timeout=5.0)
    with LocalRuntime(function, concurrency=1, cwd=str(TESTS)) as pool, \
            serving(pool, api="http") as server:
        first = server.gateway.handle(HttpRequest("GET", "/started"))
    started = json.loads(first.body)
    assert started["in_import"] is True and started["in_request"] is False
    assert started["pid"] != os.getpid()
    assert first.cold_start is not None and first.cold_start.init_ms is not None
    assert first.cold_start.init_ms >= HOOK_SECONDS * 1000
    (report,) = [m for m in local_logs.messages() if m.startswith("REPORT RequestId: ")]
    duration = float(report.split("\tDuration: ")[1].split(" ms")[0])
    assert duration < first.cold_start.init_ms  # the hook's time was not the invocation's


@pytest.fixture(scope="module")
def custom_pool(output: IO[Any]) -> Iterator[LocalRuntime]:
    """One worker at most, a 1 s function timeout: the custom integration's function."""
    function = FunctionConfig(handler=APP, timeout=1.0)
    with LocalRuntime(function, concurrency=1, cwd=str(TESTS), output=output) as pool:
        yield pool


def test_the_custom_integration_invokes_through_the_worker_pool(
        custom_pool: LocalRuntime) -> None:
    """`--integration custom` in the default mode: the mapping templates around an invocation
    in a worker; a function error (crash, the function's timeout) reaches the integration
    responses as Lambda's error document (502 and 504 problems), while what Lambda or the
    gateway decide without the function (throttling) is the gateway's own answer."""
    pytest.importorskip("airspeed")
    with serving(custom_pool, integration="custom") as server:
        status, body = get(server, "/whoami")
        assert status == 200 and body["runtime_client"] is True
        assert body["pid"] != os.getpid()
        crashed = get(server, "/crash/exit")
        timed_out = get(server, "/hang?seconds=30")  # past the function's 1 s timeout
        throttled = get_when_every_worker_is_busy(server, custom_pool, seconds=0.6)
    assert crashed[0] == 502 and crashed[1]["title"] == "Bad Gateway"
    assert timed_out[0] == 504 and timed_out[1]["title"] == "Gateway Timeout"
    assert throttled == THROTTLED["rest"]


def test_a_failed_invocation_gets_the_templates_gateway_response(
        custom_pool: LocalRuntime, tmp_path: Path) -> None:
    """Served from a template with gateway responses, a function that crashed in its worker
    (or an invocation Lambda throttled) is answered with the template's DEFAULT_5XX problem:
    its body, and the status it sets (502, as `lamroute template` writes it); the same
    decision as in-process."""
    from fixtures.runtime_app import app

    from lamroute.deploy.gateway_responses import SERVER_ERROR_DETAIL
    from lamroute.deploy.sam import sam_template, to_yaml
    from lamroute.local.template_settings import gateway_errors, load_template

    path = tmp_path / "template.yaml"
    path.write_text(to_yaml(sam_template(handler="fixtures.runtime_app.app", app=app)))
    settings = load_template(path, handler="fixtures.runtime_app.app")
    assert settings.function is not None and settings.function.timeout == 28.0
    with serving(custom_pool) as server:
        server.gateway.errors = gateway_errors(settings, api="rest")
        crashed = get(server, "/crash/exit")
        throttled = get_when_every_worker_is_busy(server, custom_pool, seconds=0.6)
    for status, problem in (crashed, throttled):
        assert status == 502 and problem["status"] == 502
        assert problem["detail"] == SERVER_ERROR_DETAIL



def test_threads_do_not_use_up_the_memory_cap(runtime: LocalRuntime) -> None:
    """The 256 MB cap is on address space, which Lambda does not count: glibc would reserve
    64 MB for each thread's malloc arena, and a handler that allocates in a few threads would
    be killed for memory it never used. The worker gets two arenas."""
    with serving(runtime) as server:
        assert get(server, "/threads/6") == (200, {"threads": 6})
        status, env = get(server, "/env")
    assert status == 200 and env["MALLOC_ARENA_MAX"] == "2"


def test_the_malloc_arena_setting_of_the_shell_or_function_is_kept() -> None:
    config = FunctionConfig(handler="a.app", variables={"MALLOC_ARENA_MAX": "4"})
    assert config.environment("127.0.0.1:1", base={})["MALLOC_ARENA_MAX"] == "4"
    plain = FunctionConfig(handler="a.app")
    assert plain.environment("127.0.0.1:1", base={"MALLOC_ARENA_MAX": "8"})[
        "MALLOC_ARENA_MAX"] == "8"
    assert plain.environment("127.0.0.1:1", base={})["MALLOC_ARENA_MAX"] == "2"
