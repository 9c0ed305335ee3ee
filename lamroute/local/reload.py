"""``serve --reload``: a watcher process that restarts the server when a ``.py`` file changes.

The server runs as a child process (``python -m lamroute serve ...`` without ``--reload``), so
a restart re-imports the user's code from scratch.

>>> snapshot = python_files_mtimes(["lamroute/local"])
>>> any(path.endswith("reload.py") for path in snapshot)
True
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from .gateway import logger

SKIPPED_DIRS = frozenset({".git", ".venv", "venv", "__pycache__", "node_modules", ".mypy_cache",
                          ".ruff_cache", ".pytest_cache", ".aws-sam", "build", "dist"})


def python_files_mtimes(roots: Sequence[str]) -> dict[str, float]:
    """Modification times of every ``.py`` file under ``roots`` (virtualenvs etc. skipped)."""
    found: dict[str, float] = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    try:
                        found[path] = os.stat(path).st_mtime
                    except OSError:
                        continue
    return found


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def run_with_reload(server_argv: Sequence[str], *, roots: Sequence[str] = (".",),
                    interval: float = 0.5) -> int:
    """Run ``python -m lamroute <server_argv>`` and restart it on changes until Ctrl-C."""
    command = [sys.executable, "-m", "lamroute", *server_argv]
    child: subprocess.Popen[bytes] | None = None
    try:
        while True:
            snapshot = python_files_mtimes(roots)
            child = subprocess.Popen(command)
            while python_files_mtimes(roots) == snapshot:
                time.sleep(interval)
            logger.info("change detected: restarting the server")
            _stop(child)
    except KeyboardInterrupt:
        if child is not None:
            _stop(child)
        return 0


def watch(on_change: Callable[[], None], *, roots: Sequence[str] = (".",),
          interval: float = 0.5) -> threading.Thread:
    """Call ``on_change`` (in a daemon thread) whenever a ``.py`` file under ``roots`` changes:
    ``serve --reload`` restarts the workers this way, the server keeps running."""
    def loop() -> None:
        snapshot = python_files_mtimes(roots)
        while True:
            time.sleep(interval)
            current = python_files_mtimes(roots)
            if current != snapshot:
                snapshot = current
                logger.info("change detected: restarting the workers")
                on_change()

    thread = threading.Thread(target=loop, daemon=True, name="lamroute-reload")
    thread.start()
    return thread
