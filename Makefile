# chatstate — `make run` to see it work, `make test` to prove it.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PYTEST  := $(BIN)/pytest
STAMP   := $(VENV)/.installed-stamp

.PHONY: help install system-deps run test test-unit test-integration test-e2e lint lint-deploy stack-up stack-down stack-status clean bench bench-api chaos fuzz

help:
	@echo "make run    - install, bring the local stack up, apply topics + migrations, run chatstate"
	@echo "make test   - install, bring up (or reuse) the stack, run every test against real servers"
	@echo "make lint   - ruff + mypy"
	@echo "make lint-deploy - helm lint/template, promtool, and tests/deploy on the chart, compose, dashboard"
	@echo "make bench  - throughput + latency of the worker vs raw ceiling and naive baseline (results/)"
	@echo "make bench-api - requests/s and p50/p99 of persist and context at 50 clients (wrk)"
	@echo "make fuzz   - hostile records on every worker input, many seeds (short form is in make test)"
	@echo "make chaos  - fault suite: SIGKILLs, rebalances, PostgreSQL + Kafka restarts (local stack)"
	@echo "make stack-up | stack-down | stack-status"

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e ".[test,dev,bench]"
	touch $(STAMP)

install: $(STAMP)

system-deps:
	@deploy/system-deps.sh

run: install system-deps
	CHATSTATE_LOG_FORMAT=$${CHATSTATE_LOG_FORMAT:-console} $(BIN)/chatstate run

# The stack is brought up (or reused) in the open, so the log shows the real servers; servers
# named by the env vars, or a Docker engine (testcontainers), come first when present.
LOCAL_STACK = if [ -z "$$KAFKA_BOOTSTRAP_SERVERS$$DATABASE_URL" ] && ! docker info >/dev/null 2>&1; \
	then $(BIN)/chatstate dev up; fi

test: install system-deps
	@$(LOCAL_STACK)
	$(PYTEST) tests

test-unit: install
	$(PYTEST) tests/unit

test-integration: install system-deps
	@$(LOCAL_STACK)
	$(PYTEST) tests/integration

test-e2e: install system-deps
	@$(LOCAL_STACK)
	$(PYTEST) tests/e2e

bench: install system-deps
	@if [ -z "$$KAFKA_BOOTSTRAP_SERVERS" ]; then $(BIN)/chatstate dev up; fi
	$(BIN)/chatstate bench

bench-api: install
	deploy/system-deps.sh wrk
	@if [ -z "$$KAFKA_BOOTSTRAP_SERVERS" ]; then $(BIN)/chatstate dev up; fi
	$(BIN)/python benchmarks/api_bench.py

chaos: install system-deps
	@if [ -z "$$KAFKA_BOOTSTRAP_SERVERS" ]; then $(BIN)/chatstate dev up; fi
	$(BIN)/chatstate bench chaos --restart-servers

# The fuzz suite's long form: a fresh seed per run (printed on failure, to reproduce), more
# hostile records, sessions and seeds than the short form in `make test`. Each knob can be set.
fuzz: install system-deps
	@$(LOCAL_STACK)
	CHATSTATE_FUZZ_SEED=$${CHATSTATE_FUZZ_SEED:-$$(date +%s)} \
	CHATSTATE_FUZZ_SEEDS=$${CHATSTATE_FUZZ_SEEDS:-5} \
	CHATSTATE_FUZZ_RECORDS=$${CHATSTATE_FUZZ_RECORDS:-2000} \
	CHATSTATE_FUZZ_SESSIONS=$${CHATSTATE_FUZZ_SESSIONS:-200} \
	$(PYTEST) -o timeout=900 tests/integration/worker/test_hostile_records.py

lint: install
	$(BIN)/ruff check processor schemas tests
	$(BIN)/mypy

# The deploy artefacts (issue 16). helm and promtool are built from the Go module proxy at pinned
# versions (a first build takes minutes and ~1 GB of Go cache) into ~/.cache/chatstate/bin, one
# directory per version, so a second run starts at once. promtool's Go module version v0.316.0 is
# Prometheus 3.x's (the proxy serves Prometheus as v0.3xx). No Docker engine here: compose is
# checked by tests/deploy, and by `docker compose config` too where that plugin exists.
HELM_VERSION     := v3.22.0
PROMTOOL_VERSION := v0.316.0
TOOLS    := $(HOME)/.cache/chatstate/bin
HELM     := $(TOOLS)/helm-$(HELM_VERSION)/helm
PROMTOOL := $(TOOLS)/promtool-$(PROMTOOL_VERSION)/promtool
RENDERED := results/deploy
CHART    := deploy/helm/chatstate
KUBE_VERSION := 1.31.0

$(HELM):
	GOBIN=$(dir $@) GOFLAGS=-buildvcs=false go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(PROMTOOL):
	GOBIN=$(dir $@) GOFLAGS=-buildvcs=false go install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION)

lint-deploy: install system-deps $(HELM) $(PROMTOOL)
	$(HELM) lint --strict $(CHART) -f tests/deploy/values.yaml
	$(HELM) lint --strict $(CHART) --set kafka.bootstrapServers=kafka:9092
	mkdir -p $(RENDERED)
	$(HELM) template chatstate $(CHART) --kube-version $(KUBE_VERSION) -f tests/deploy/values.yaml > $(RENDERED)/chart.yaml
	$(HELM) template chatstate $(CHART) --kube-version $(KUBE_VERSION) --set kafka.bootstrapServers=kafka:9092 > $(RENDERED)/chart-defaults.yaml
	$(PROMTOOL) check rules deploy/prometheus/alert-rules.yml
	$(PROMTOOL) test rules tests/deploy/alert-rules.test.yml
	$(PROMTOOL) check config --syntax-only deploy/prometheus/prometheus.yml
	@if docker compose version >/dev/null 2>&1; then \
	  sed 's/=$$/=x/' deploy/compose/env.example > $(RENDERED)/compose.env; \
	  docker compose -f deploy/compose/compose.yaml --env-file $(RENDERED)/compose.env config -q; \
	else echo "docker compose: not installed here; tests/deploy/test_compose.py checks the file"; fi
	@$(LOCAL_STACK)
	CHATSTATE_DEPLOY_RENDERED=$(RENDERED)/chart.yaml HELM=$(HELM) PROMTOOL=$(PROMTOOL) \
	  $(PYTEST) tests/deploy

stack-up: install system-deps
	$(BIN)/chatstate dev up

stack-down: install
	$(BIN)/chatstate dev down

stack-status: install
	$(BIN)/chatstate dev status

clean:
	-$(BIN)/chatstate dev down
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
