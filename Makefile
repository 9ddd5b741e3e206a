# Two set-up-free entry points: `make run` and `make test` (see README).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2
CONFIG ?= config/config.yaml

.PHONY: run test test-slow test-all lint bench clean-results

$(STAMP): requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The default embedded sweep on this machine; results/ gets the zarr store and figures.
run: $(STAMP)
	$(BIN)/python -m snakemake --cores $(CORES) --configfile $(CONFIG) --rerun-incomplete
	$(BIN)/python -m snakemake --cores 1 --configfile $(CONFIG) --report results/report.html --quiet all
	@$(BIN)/python -m lyap_core.cli where --configfile $(CONFIG)

# Default suite (fast); slow science checks: `make test-slow`.
test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m "slow or not slow"

lint: $(STAMP)
	$(BIN)/ruff check lyap_core tests benchmarks workflow
	$(BIN)/ruff format --check lyap_core tests benchmarks workflow

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py

clean-results:
	rm -rf results .snakemake
