"""Benchmarks: ``make bench`` (lamroute against a hand-written handler and the peers) and a
pytest-benchmark micro-suite of the hot paths (``make bench-micro``), kept out of ``make test``.
"""
