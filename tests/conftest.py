"""Test-wide settings: under CI (``CI`` set) hypothesis draws the same examples on every run,
so a landing never depends on luck; ``make fuzz`` explores at random with its own profile."""

from __future__ import annotations

import logging
import os
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

