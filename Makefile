# Two commands: `make train` (set up, then train the default model) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup train test test-fast lint format bench clean

setup: $(STAMP)

# torch==2.13.0 first and explicitly: a CPU build of it is often on local disk,
# while any other version would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

train: setup
	$(PY) train.py $(ARGS)

test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

# Everything but the tests that train (marked slow): under a minute.
test-fast: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: setup
	$(PY) -m benchmarks.epoch
	$(PY) -m benchmarks.step_overhead
	$(PY) -m benchmarks.startup
	$(PY) -m benchmarks.figures
	$(PY) -m benchmarks.report

clean:
	rm -rf $(VENV) outputs .pytest_cache .ruff_cache
