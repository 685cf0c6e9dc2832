# Two commands on a fresh machine: `make demo` and `make test`. Both install into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of torch lies on this machine's pip; a plain `torch` would pull a CUDA build.
TORCH ?= torch==2.13.0

.PHONY: demo test lint install browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/gankit demo

lint: $(STAMP)
	$(BIN)/ruff check gankit tests benchmarks examples/build.py examples/cells
	$(BIN)/ruff format --check gankit tests benchmarks examples/build.py examples/cells

# Headless Chromium for the report's browser test, from Debian's package where missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "chromium could not be installed: the report's browser test will be skipped"

test: lint browser
	$(BIN)/python -m pytest -q -n auto

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
