# Every target sets up the virtualenv first, so `make test` and `make run` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test test-pythons lint typecheck imports pytest run bench bench-micro fuzz clean

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

# The layers and acyclic contracts of .importlinter (type-only imports count too).
imports: setup
	$(BIN)/lint-imports

# The examples in lamroute's docstrings are checked too.
doctest: setup
	$(BIN)/pytest --doctest-modules lamroute

pytest: setup
	$(BIN)/pytest

test: lint typecheck imports doctest pytest

# The tests on every other Lambda Python found on this machine (python3.10, 3.12, 3.13 ... on
# the PATH, or installed by pyenv), each in its own .venv-X.Y; kept out of `make test`
# (minutes per version).
LAMBDA_PYTHONS ?= 3.10 3.12 3.13 3.14
test-pythons:
	@for v in $(LAMBDA_PYTHONS); do \
	  py=""; \
	  if python$$v -c "" 2>/dev/null; then py=python$$v; \
	  else for c in $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$$v.*/bin/python; do \
	    [ -x "$$c" ] && py=$$c; done; fi; \
	  if [ -z "$$py" ]; then echo "== Python $$v: not found, skipped"; continue; fi; \
	  echo "== Python $$v ($$py)"; \
	  [ -x .venv-$$v/bin/pytest ] || { $$py -m venv .venv-$$v && \
	    .venv-$$v/bin/python -m pip install --quiet -e '.[dev]'; } || exit 1; \
	  .venv-$$v/bin/pytest -q -p no:randomly --ignore=tests/benchmarks || exit 1; \
	done

run: setup
	$(BIN)/lamroute serve examples.notes.app:app --port 3000

bench: setup
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m tests.benchmarks.run

# pytest-benchmark micro-suite of the hot paths (kept out of `make test`).
bench-micro: setup
	LAMROUTE_BENCH=1 $(BIN)/pytest tests/benchmarks -p no:randomly --benchmark-columns=min,median,mean,rounds

# A long hypothesis campaign (LAMROUTE_FUZZ_EXAMPLES per property, 5000 by default) plus the
# slow soak test; prints the number of cases tried at the end.
fuzz: setup
	$(BIN)/pytest tests/fuzz -m "" --hypothesis-profile=campaign -p no:logging -s

clean:
	rm -rf $(VENV) .venv-3.* build *.egg-info
