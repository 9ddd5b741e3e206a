# Two set-up-free entry points: `make run` and `make test` (see README).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2
CONFIG ?= config/config.yaml

.PHONY: run claims claims-large-n test test-slow test-all lint bench mutation clean-results

$(STAMP): requirements.lock pyproject.toml workflow/pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . -e workflow
	touch $(STAMP)

# The default embedded sweeps on this machine; results/ gets the zarr stores and figures.
# Rerunning after a crash or kill -9 computes only what is missing: holding the flock
# proves no other `make run` is active here, so Snakemake's stale lock can go.
run: $(STAMP)
	@mkdir -p .snakemake; exec 9>.snakemake/make-run.lock; \
	flock -n 9 || { echo "make run: another 'make run' is active in this directory" >&2; exit 1; }; \
	$(BIN)/python -m snakemake --configfile $(CONFIG) --unlock --quiet all >/dev/null 2>&1; \
	$(BIN)/python -m snakemake --cores $(CORES) --configfile $(CONFIG) --rerun-incomplete \
	&& $(BIN)/python -m snakemake --configfile $(CONFIG) --report results/report.html --quiet all \
	&& echo "Report:  results/report.html"

# Every claim of the paper at the laptop scale (config/claims.yaml, <= 15 min on 2 cores),
# computed from the gathered stores: results/claims/claims.{json,md} and figures/.
# The cluster scale: the same rule with --configfile config/paper.yaml (docs/results.md).
claims: $(STAMP)
	$(BIN)/python -m snakemake claims --cores $(CORES) --configfile config/claims.yaml --rerun-incomplete \
	&& $(BIN)/python -m snakemake claims --configfile config/claims.yaml --report results/claims/report.html \
	&& echo "Claims:  results/claims/claims.md"

# lambda_max vs mean-field theory at large N (issue 13): N = 100-1600, m = 4, 5 seeds;
# ~13 CPU-min, outside `make claims`' 15-minute budget. From the store, like every claim.
claims-large-n: $(STAMP)
	$(BIN)/lyap sweep config/meanfield.yaml --results results --workers $(CORES) \
	&& $(BIN)/python -m lyap_workflow.claims_meanfield --results results --sweep meanfield_large_n

# Default suite (fast); slow science checks: `make test-slow`.
test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m "slow or not slow"

lint: $(STAMP)
	$(BIN)/ruff check lyap_core tests benchmarks workflow tools
	$(BIN)/ruff format --check lyap_core tests benchmarks workflow tools

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py

# Hand-written mutants of the numerics modules against the default suite (not in CI;
# ~10 min): prints the killed share and the survivors.
mutation: $(STAMP)
	$(BIN)/python tools/mutation.py

clean-results:
	rm -rf results .snakemake
