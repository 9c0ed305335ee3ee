"""Hypothesis profiles for the fuzz suite, a quiet log sink, and the count of cases tried.

The default run (``make test``) tries a bounded number of examples per property; ``make fuzz``
loads the ``campaign`` profile (``LAMROUTE_FUZZ_EXAMPLES`` examples per property, 5,000 unless
set) and prints how many cases were tried.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from .strategies import CASES

settings.register_profile(
    "campaign",
    max_examples=int(os.environ.get("LAMROUTE_FUZZ_EXAMPLES", "5000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


class _Sink(io.TextIOBase):
    """Swallows the log lines (formatted all the same, so logging hostile values is tested)."""

    def write(self, text: str) -> int:
        return len(text)


@pytest.fixture(autouse=True)
def quiet_logs() -> Iterator[None]:
    import lamroute.logs

    logger = lamroute.logs.configure()
    own = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)
           and any(isinstance(f, lamroute.logs.RequestFieldsFilter) for f in h.filters)]
    streams = [(h, h.setStream(_Sink())) for h in own]
    try:
        yield
    finally:
        for handler, stream in streams:
            if stream is not None:
                handler.setStream(stream)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not CASES:
        return
    total = sum(CASES.values())
    details = ", ".join(f"{name}: {count}" for name, count in sorted(CASES.items()))
    terminalreporter.write_line(f"fuzz: {total} cases tried ({details})")
