# Every target sets up the virtualenv first, so `make test` and `make run` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test lint typecheck pytest run bench fuzz clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check lamroute tests examples

typecheck: setup
	$(BIN)/mypy --strict lamroute

pytest: setup
	$(BIN)/pytest

test: lint typecheck pytest

run: setup
	$(BIN)/lamroute serve examples.notes.app:app --port 3000

bench: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m tests.benchmarks.run

fuzz: setup
	$(BIN)/pytest tests/fuzz -p no:randomly --hypothesis-profile=campaign

clean:
	rm -rf $(VENV) build *.egg-info
