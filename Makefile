# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# npm writes it on each install: newer than the pinned versions means node_modules holds them.
ASYNCAPI_SPECS := tools/asyncapi/node_modules/.package-lock.json
AXE_CORE := tools/axe/node_modules/.package-lock.json

.PHONY: run test unit integration e2e chaos security lint migrate seed clean cluster cluster-e2e chaos-cluster

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,dev]'
	touch $@

.env:
	$(PYTHON) scripts/new_env.py > .env

## Run every service against the local Postgres and RabbitMQ, with the demo data; Ctrl-C stops all.
## scripts/local_infra.py first makes both answer (starting, creating under .local/ or installing what is
## missing) and writes .local/run.env: their URLs and the mail catcher's settings (emails at /dev/mail).
run: $(INSTALLED) .env
	set -a && source ./.env && set +a && $(PY) -m scripts.local_infra
	set -a && source ./.env && source ./.local/run.env && set +a && $(PY) -m gateway seed
	@# A web or mobile client in development (http://localhost:3000) may call the API; a .env made before
	@# CORS existed lacks the setting, so it is given here unless the environment names its own.
	@# Webhooks to a receiver on this machine (127.0.0.1) are allowed locally, as a .env made before webhooks
	@# existed does not say; production refuses private targets (the SSRF guard, docs/webhooks.md).
	WEBHOOK_ALLOW_PRIVATE="$${WEBHOOK_ALLOW_PRIVATE:-true}" \
	CORS_ORIGINS="$${CORS_ORIGINS:-http://localhost:3000}" PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start -f Procfile -e .env,.local/run.env

## The official AsyncAPI JSON Schemas the event contract is validated against (tests/unit/contracts), pinned in
## tools/asyncapi; installed again only when the pinned versions change.
.PHONY: asyncapi-specs
asyncapi-specs: $(ASYNCAPI_SPECS)

$(ASYNCAPI_SPECS): tools/asyncapi/package.json tools/asyncapi/package-lock.json
	npm ci --prefix tools/asyncapi --no-audit --no-fund
	touch $@

## axe-core, which the browser tests inject into every page to check its accessibility
## (tests/e2e/test_browser_accessibility.py), pinned in tools/axe; installed again only when the pin changes.
.PHONY: axe-core
axe-core: $(AXE_CORE)

$(AXE_CORE): tools/axe/package.json tools/axe/package-lock.json
	npm ci --prefix tools/axe --no-audit --no-fund
	touch $@

## The whole test suite: unit, integration, end to end, in TEST_WORKERS processes (pytest-xdist): each folder
## that shares one running system (e2e, security) or runs alone (chaos) stays in one process, every other
## module goes to whichever process is free (tests/conftest.py). TEST_WORKERS=0 runs it all in one process.
TEST_WORKERS ?= 2
test: $(INSTALLED) asyncapi-specs axe-core
	$(PY) -m pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup

unit: $(INSTALLED) asyncapi-specs
	$(PY) -m pytest tests/unit -q

integration: $(INSTALLED)
	$(PY) -m pytest tests/integration -q

e2e: $(INSTALLED) axe-core
	$(PY) -m pytest tests/e2e -q

## Every service twice behind HAProxy (the gateway on :8080), three RabbitMQ nodes in one cluster, a Postgres
## primary with a streaming replica that reporting reads from; the demo data; Ctrl-C stops all of it
## (scripts/cluster, docs/cluster.md). Its servers keep their data in CLUSTER_ROOT between runs.
CLUSTER_ROOT ?= .local/cluster
cluster: $(INSTALLED) .env
	set -a && source ./.env && set +a && $(PY) -m scripts.cluster --root $(CLUSTER_ROOT)

## The end-to-end purchase and transfer tests against a cluster of their own, started afresh for the run (its
## ports 300 above `make cluster`'s, so both may run at once) and stopped after.
CLUSTER_E2E_TESTS ?= tests/e2e/test_purchase_flow.py tests/e2e/test_history.py tests/e2e/test_idempotent_replays.py \
	tests/e2e/test_cluster_reads.py
cluster-e2e: $(INSTALLED) .env axe-core
	rm -rf .local/cluster-e2e
	set -a && source ./.env && set +a && SIGN_IN_LIMIT_PER_IP=100000/minute SIGN_IN_LIMIT_PER_EMAIL=100000/minute \
	  $(PY) -m scripts.cluster --root .local/cluster-e2e --offset 300 -- $(PY) -m pytest -p no:cacheprovider -q $(CLUSTER_E2E_TESTS)

## The fault campaign against a cluster of its own (make cluster's shape, ports 600 above it, its own node
## names): one RabbitMQ node, one replica or the Postgres replica away at a time under load; the invariants of
## `make chaos`, and availability (the share of client requests that failed while something was down).
CHAOS_CLUSTER_SECONDS ?= 180
chaos-cluster: $(INSTALLED)
	$(PY) -m tests.chaos.cluster --duration $(CHAOS_CLUSTER_SECONDS) --json test-artifacts/chaos-cluster.json $(CHAOS_CLUSTER_ARGS)

## Only make Postgres and RabbitMQ answer and write .local/run.env, as `make run` does first.
.PHONY: infra
infra: $(INSTALLED)
	set -a && if [ -f .env ]; then source ./.env; fi && set +a && $(PY) -m scripts.local_infra

## The fault campaign, long form: CHAOS_SECONDS of load while processes, RabbitMQ and Postgres (its own
## throwaway ones) are killed and restarted; exits non-zero on any breach. `make test` runs a short form.
## Then the backlog: reporting stopped for 10,000 transfers catches up (about three minutes).
CHAOS_SECONDS ?= 180
chaos: $(INSTALLED)
	$(PY) -m tests.chaos --duration $(CHAOS_SECONDS) $(CHAOS_ARGS)
	CHAOS_BACKLOG=1 $(PY) -m pytest -p no:cacheprovider -q -s -o faulthandler_timeout=900 tests/chaos/test_backlog.py

## Hostile input, schemathesis, the access matrix and the search of the logs for secrets.
security: $(INSTALLED)
	$(PY) -m pytest tests/security -q

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy common gateway services fakes tests bench examples scripts

migrate: $(INSTALLED) .env
	set -a && source ./.env && set +a && for s in gateway services.ledger services.billing services.reporting services.messaging services.webhooks; do \
		$(PY) -m $$s migrate || exit 1; done

seed: $(INSTALLED) .env
	set -a && source ./.env && set +a && $(PY) -m gateway seed

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

.PHONY: bench bench-quick

## Benchmarks, never part of `make test`: every one, one table, the figures into README.md (~15 min).
bench: $(INSTALLED)
	$(PY) -m bench

## The same with short legs and small data, to check the harness itself (a few minutes).
bench-quick: $(INSTALLED)
	$(PY) -m bench --quick
