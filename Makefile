# Two commands: `make train` (set up, then train the default model) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup train test lint format bench clean

setup: $(STAMP)

# torch==2.13.0 first and explicitly: that CPU build is on these machines' disk,
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

lint: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: setup
	$(PY) scripts/bench_epoch.py
	$(PY) scripts/bench_step_overhead.py
	$(PY) scripts/bench_startup.py
	$(PY) scripts/bench_figures.py

clean:
	rm -rf $(VENV) outputs .pytest_cache .ruff_cache
