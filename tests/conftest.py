"""Test-wide settings: under CI (``CI`` set) hypothesis draws the same examples on every run,
so a landing never depends on luck; ``make fuzz`` explores at random with its own profile."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator

import pytest
from fixtures import Records
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def logs() -> Iterator[Records]:
    """The records the ``lamroute`` logger emits during the test."""
    handler = Records()
    logger = logging.getLogger("lamroute")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def local_logs() -> Iterator[Records]:
    """The records of the local gateway's and runtime's logger (``lamroute.local``: access,
    REPORT and failure lines), whatever an earlier ``configure_logging()`` did to it."""
    logger = logging.getLogger("lamroute.local")
    handler, level = Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture(autouse=True)
def _local_invocations_end() -> Iterator[None]:
    """A test stops what it starts: an in-process invocation the local gateway gave up on
    (its function outlived the timeout) ends within its test, so its late log line is that
    test's, never the next one's."""
    yield
    for thread in threading.enumerate():
        if thread.name == "lamroute-invocation":
            thread.join(timeout=10)
