# zcpark: two commands on a fresh machine.
#   make demo   set everything up and run the whole system on embedded defaults
#   make test   set everything up and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.zcpark-installed

.PHONY: install system-deps test lint demo bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

system-deps:
	@bash .ci/system-deps.sh

test: install system-deps
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

demo: install system-deps
	$(BIN)/zcpark demo

# Benchmarks are bench_*.py so that none can shadow a package when its folder goes first on the
# path; the loop refuses any other name before running a thing.
bench: install
	@for b in benchmarks/*.py; do case "$$(basename $$b)" in bench_*.py) ;; \
	  *) echo "make bench: $$b: benchmark scripts are named bench_*.py (one could shadow a package)" >&2; exit 2;; esac; done
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var
