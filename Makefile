# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make demo   — embedded PostgreSQL, migrations, demo data, web server and worker
#   make test   — ruff, ruff format --check, mypy --strict, pytest (browser tests included)
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENDOR := src/otklik/web/static/vendor

.PHONY: help setup demo test test-clock test-cluster lint bench chromium clean

help:
	@echo "make demo   — run the demo (http://127.0.0.1:8000/)"
	@echo "make test   — lint, type-check and run all tests"
	@echo "make test-clock — the time-sensitive tests at five frozen instants"
	@echo "make test-cluster — the topology test: 2 web, 2 workers, 2 NATS consumers, primary + replica"
	@echo "make bench  — run the benchmarks"

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

$(VENDOR)/htmx.min.js: package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq npm; }
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/

setup: .venv/.synced $(VENDOR)/htmx.min.js

chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

demo: setup
	$(UV) run otklik demo

lint: setup
	$(UV) run ruff check src tests benchmarks migrations
	$(UV) run ruff format --check src tests benchmarks migrations
	$(UV) run mypy
	$(UV) run lint-imports

# Browser tests run in their own process: sync Playwright owns an event loop of its own.
# Schemathesis (tests/fuzz) too: the app commits for real there, apart from the rolled-back tests.
test: setup chromium lint
	$(UV) run pytest --ignore=tests/e2e --ignore=tests/fuzz
	$(UV) run pytest tests/fuzz
	$(UV) run pytest tests/e2e
	$(MAKE) --no-print-directory test-clock

# The time-sensitive tests with the clock (Python and PostgreSQL's now()) set to 20:59, 21:30
# and 23:59 UTC and to the last minute of a month and of a year (tests/clock.py).
CLOCK_TESTS := tests/surveys tests/outreach tests/intake/test_api.py tests/intake/test_privacy.py \
	tests/identity tests/indicators/test_signals.py tests/indicators/test_cabinets.py
test-clock: setup
	@set -e; for at in $$($(UV) run python -m tests.clock); do \
		echo "== clock at $$at"; \
		OTKLIK_FROZEN_AT=$$at $(UV) run pytest -q -p no:cacheprovider $(CLOCK_TESTS); \
	done

# The topology test (tests/cluster, not part of `make test`: it runs for many minutes): it starts
# its own PostgreSQL primary and streaming replica, NATS with JetStream (nats-server from PATH, or
# the server OTKLIK_CLUSTER_NATS_URL names), sinks, 2 web processes on one port, 2 workers and
# 2 NATS consumers, and runs the whole loop for CLUSTER_RECORDS records (or OTKLIK_CLUSTER_RECORDS;
# docs/deployment.md).
CLUSTER_RECORDS ?= $(or $(OTKLIK_CLUSTER_RECORDS),100000)
test-cluster: setup
	@command -v nats-server >/dev/null || test -n "$$OTKLIK_CLUSTER_NATS_URL" || { \
		echo "make test-cluster needs nats-server (apt-get install nats-server) or"; \
		echo "OTKLIK_CLUSTER_NATS_URL=nats://host:4222 (a NATS server with JetStream)"; exit 1; }
	OTKLIK_CLUSTER_RECORDS=$(CLUSTER_RECORDS) $(UV) run pytest tests/cluster -q -s -p no:cacheprovider

bench: setup
	$(UV) run python benchmarks/run.py

clean:
	rm -rf .venv .tools node_modules $(VENDOR) .otklik-test
