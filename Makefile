# One Makefile for people and CI. `make help` lists the targets.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
FUPIN := $(VENV)/bin/fupin
HOME_DIR ?= data
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: help setup run demo check test test-fallback lint format bench bench-national bench-scale clean deploy

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml setup.py tasks/_hashing.c
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed ## create the virtual environment and install fupin

demo: setup ## write the demo inbox to data/inbox (if absent)
	@test -d $(HOME_DIR)/inbox || $(FUPIN) demo --home $(HOME_DIR)

# the demo's registries need a pseudonymisation key: without $$FUPIN_PII_KEY, one is made once
# in $(HOME_DIR)/.pii_key (owner-only, never committed: data/ is ignored)
KEY_FILE := $(HOME_DIR)/.pii_key
run: demo ## set up, write the demo inbox if absent, run the nightly flow, print the indicators
	@test -n "$$FUPIN_PII_KEY" -o -f $(KEY_FILE) || (umask 077 && $(PY) -c 'import secrets; print(secrets.token_hex(32))' > $(KEY_FILE))
	FUPIN_PII_KEY_FILE=$(KEY_FILE) $(FUPIN) run --home $(HOME_DIR)

# the fast tier: no Prefect engine (an accidental one fails at once instead of starting a server), no browser,
# no server, nothing marked slow; markers in pyproject.toml, the harness in tests/conftest.py
FAST := not prefect and not slow and not browser and not server
check: lint ## lint + every test that needs no Prefect engine, browser or server (under a minute)
	PREFECT_SERVER_ALLOW_EPHEMERAL_MODE=false $(PY) -m pytest -q -p no:cacheprovider -m "$(FAST)"

test: setup ## run the whole test suite (what CI runs)
	$(PY) -m pytest -q

# the registry's tests again on the pure hashing fallback (tasks/identity/hashing.py): the same pseudonyms as native
REGISTRY_TESTS := tests/unit/test_hashing.py tests/unit/test_registry.py tests/flows/test_registry_flow.py \
	tests/unit/test_pseudonym_uuid.py
test-fallback: setup ## the registry tests with FUPIN_HASHING=python (the path used when the C module is not built)
	FUPIN_HASHING=python $(PY) -m pytest -q $(REGISTRY_TESTS)

lint: setup ## ruff lint and format check, and the floors (import-linter: layers, no cycles)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: setup ## apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

HOUSEHOLDS ?= 10000000
FORM_ROWS ?= 100000
# the national nightly's registries in `make bench` (5000000, without the Dask run) and its village-level form
NATIONAL_HOUSEHOLDS ?= 5000000
VILLAGE_ROWS ?= 130000
bench: setup ## run the benchmarks in benchmarks/ (HOUSEHOLDS, FORM_ROWS, NATIONAL_HOUSEHOLDS, VILLAGE_ROWS)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/commands.py
	$(PY) benchmarks/registry.py $(HOUSEHOLDS)
	$(PY) benchmarks/forms.py $(FORM_ROWS)
	BENCH_DASK=0 $(PY) benchmarks/national.py $(NATIONAL_HOUSEHOLDS) $(VILLAGE_ROWS)

# China's real scale: 29,000,000 registered households (or NATIONAL_HOUSEHOLDS when given) over the provinces by
# their real shares (benchmarks/national.py POOR_2014), a no-op rerun, a Dask run and its tables compared;
# BENCH_DASK=0 skips the Dask run, BENCH_INBOX=<folder> keeps the generated inbox there for the next run
NATIONAL_SCALE := $(if $(filter environment command line,$(origin NATIONAL_HOUSEHOLDS)),$(NATIONAL_HOUSEHOLDS),29000000)
bench-national: setup ## the national nightly at real scale: 29M households (NATIONAL_HOUSEHOLDS, BENCH_DASK, BENCH_INBOX)
	$(PY) benchmarks/national.py $(NATIONAL_SCALE) $(VILLAGE_ROWS)

SCALE_SIZES ?= 2000000 10000000 30000000
bench-scale: setup ## one registry file per size through `fupin run` vs DuckDB's bare COPY (SCALE_SIZES)
	$(PY) benchmarks/scale.py $(SCALE_SIZES)

deploy: setup ## against $$PREFECT_API_URL: work pool, Secret block from $$FUPIN_PII_KEY, deployments, failure automation
	$(PY) -m fupin.deploy

clean: ## remove data/ and the virtual environment
	rm -rf $(HOME_DIR) $(VENV)
