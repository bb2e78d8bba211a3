# The two commands of the quick start: `make demo` and `make test`.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(VENV)/.demo: pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh demo
	touch $@

$(VENV)/.test: pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh test
	touch $@ $(VENV)/.demo

demo: $(VENV)/.demo
	$(BIN)/dbarch inspect examples/shop.sql

lint: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q --numprocesses=auto --maxprocesses=4

# Peers measured in the same run: SQLAlchemy (dev extra), squawk and migra (bench extra);
# postgres-mcp and sqlacodegen install themselves in environments of their own.
bench: $(VENV)/.test
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python -m benchmarks.introspect
	$(BIN)/python -m benchmarks.review
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m benchmarks.check
	$(BIN)/python -m benchmarks.diff
	$(BIN)/python -m benchmarks.tune
	$(BIN)/python -m benchmarks.codegen

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
