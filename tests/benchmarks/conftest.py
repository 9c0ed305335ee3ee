"""The micro-suite is kept out of the default run: ``make bench-micro`` sets LAMROUTE_BENCH=1."""

from __future__ import annotations

import os

collect_ignore_glob = [] if os.environ.get("LAMROUTE_BENCH") else ["test_*.py"]
