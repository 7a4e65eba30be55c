# Two commands: `make train` (set up, then train the default model) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup train test test-fast check lint format bench dashboard clean

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

# ruff, the type checker (strict on src/, settings in pyproject.toml), then every test, on
# every core (pytest-xdist).
test: setup check
	$(PY) -m pytest -n auto $(PYTEST_ARGS)

# The inner loop: the same checks and every test but those that train (marked slow).
test-fast: setup check
	$(PY) -m pytest -m "not slow" -n auto $(PYTEST_ARGS)

check: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

lint: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: setup
	$(PY) -m benchmarks.epoch
	$(PY) -m benchmarks.epoch experiment=digits_dropout output=bench/epoch_digits.json
	$(PY) -m benchmarks.step_overhead
	$(PY) -m benchmarks.epoch_overhead
	$(PY) -m benchmarks.startup
	$(PY) -m benchmarks.resume
	$(PY) -m benchmarks.figures
	$(PY) -m benchmarks.dashboard threads=1
	$(PY) -m benchmarks.scale_out
	$(PY) -m benchmarks.report

# TensorBoard on every run under outputs/, reachable from this machine only (PORT=6007 ...).
PORT ?= 6006
dashboard: setup
	@echo "TensorBoard: http://127.0.0.1:$(PORT)/"
	exec $(VENV)/bin/tensorboard --logdir outputs --host 127.0.0.1 --port $(PORT)

clean:
	rm -rf $(VENV) outputs .pytest_cache .ruff_cache
