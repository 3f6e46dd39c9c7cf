# One Makefile for people and CI. `make help` lists the targets.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
FUPIN := $(VENV)/bin/fupin
HOME_DIR ?= data
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: help setup run demo test lint format bench clean deploy

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

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

test: setup ## run the test suite
	$(PY) -m pytest -q

lint: setup ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup ## apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

HOUSEHOLDS ?= 10000000
FORM_ROWS ?= 100000
# the national nightly's registries (the issue's size: 5000000) and its village-level form
NATIONAL_HOUSEHOLDS ?= 5000000
VILLAGE_ROWS ?= 130000
bench: setup ## run the benchmarks in benchmarks/ (HOUSEHOLDS, FORM_ROWS, NATIONAL_HOUSEHOLDS, VILLAGE_ROWS)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/registry.py $(HOUSEHOLDS)
	$(PY) benchmarks/forms.py $(FORM_ROWS)
	$(PY) benchmarks/national.py $(NATIONAL_HOUSEHOLDS) $(VILLAGE_ROWS)

deploy: setup ## against $$PREFECT_API_URL: work pool, Secret block from $$FUPIN_PII_KEY, deployments, failure automation
	$(PY) -m fupin.deploy

clean: ## remove data/ and the virtual environment
	rm -rf $(HOME_DIR) $(VENV)
