# chatstate — `make run` to see it work, `make test` to prove it.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PYTEST  := $(BIN)/pytest
STAMP   := $(VENV)/.installed-stamp

.PHONY: help install system-deps run test test-unit test-integration test-e2e lint stack-up stack-down stack-status clean bench bench-api chaos fuzz

help:
	@echo "make run    - install, bring the local stack up, apply topics + migrations, run chatstate"
	@echo "make test   - install, bring up (or reuse) the stack, run every test against real servers"
	@echo "make lint   - ruff + mypy"
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

stack-up: install system-deps
	$(BIN)/chatstate dev up

stack-down: install
	$(BIN)/chatstate dev down

stack-status: install
	$(BIN)/chatstate dev status

clean:
	-$(BIN)/chatstate dev down
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
