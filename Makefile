# The two commands a newcomer needs: `make run` and `make test`.
# Everything they depend on (Postgres, buf, Python tools) is brought up by
# the scripts in scripts/, so a fresh machine needs only Rust and Python.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo

.PHONY: help run test lint fmt bench oracle tools db clean-db

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run: tools ## Build, bring up Postgres if needed, migrate and serve all four services on 127.0.0.1:50051 (development identity mode); DEMO=1 loads the demo data set
	$(CARGO) build --bin cpcd --bin cpcctl
	url=$$(scripts/ensure-postgres.sh cpc); \
	echo "cpcd: serving all services on $${CPC_LISTEN_ADDR:-127.0.0.1:50051}, database $$url" >&2; \
	if [ "$(DEMO)" = 1 ]; then \
	  CPC_DATABASE_URL="$$url" target/debug/cpcd --config config/development.toml all & pid=$$!; \
	  trap 'kill $$pid' INT TERM; \
	  until target/debug/cpcctl health >/dev/null 2>&1; do kill -0 $$pid || exit 1; sleep 1; done; \
	  python3 scripts/demo-data.py target/debug/cpcctl || { kill $$pid; exit 1; }; \
	  wait $$pid; \
	else \
	  CPC_DATABASE_URL="$$url" exec target/debug/cpcd --config config/development.toml all; \
	fi

test: tools ## The whole test suite against a real Postgres, plus buf lint and the timescales oracle
	.venv/bin/buf lint
	url=$$(scripts/ensure-postgres.sh postgres); \
	CPC_TEST_DATABASE_URL="$$url" $(CARGO) test --workspace --all-targets
	$(CARGO) build --bin cpcd --bin cpcctl
	url=$$(scripts/ensure-postgres.sh postgres); \
	.venv/bin/python tests/demo/demo_check.py "$$url"
	.venv/bin/python tests/oracle/timescales_oracle.py --self-test
	.venv/bin/python tools/cin_validate.py --self-test
	.venv/bin/python tools/verify_audit.py --self-test
	.venv/bin/python tests/oracle/timescales_oracle.py --cpcctl target/debug/cpcctl --all-nations

# The Kubernetes manifests, validated against the API's schemas (the
# kustomization itself is kustomize's, not an API object).
MANIFESTS := $(filter-out deploy/kustomization.yaml,$(wildcard deploy/*.yaml))

lint: tools ## rustfmt, clippy (warnings are errors), buf lint, the Kubernetes manifests and the Dockerfile
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	.venv/bin/buf lint
	.venv/bin/kubernetes-validate --strict --quiet $(MANIFESTS)
	.venv/bin/hadolint deploy/Dockerfile

fmt: ## Format the code
	$(CARGO) fmt --all

bench: tools ## Criterion benchmarks (the working-day calendar; verifying a token; a region's due dates and chair allocation; listing conferences, the drift sweep and the census return from Postgres)
	$(CARGO) bench -p cpc-rules --bench calendar
	$(CARGO) bench -p cpc-identity --bench authenticate
	$(CARGO) bench -p cpc-scheduling --bench region
	url=$$(scripts/ensure-postgres.sh postgres); \
	CPC_TEST_DATABASE_URL="$$url" $(CARGO) bench -p cpc-scheduling --bench conference_list; \
	CPC_TEST_DATABASE_URL="$$url" $(CARGO) bench -p cpc-escalation --bench sweep; \
	CPC_TEST_DATABASE_URL="$$url" $(CARGO) bench -p cpc-reporting --bench census

tools: ## Python tools in .venv (buf, kubernetes-validate, hadolint, the oracle's libraries, the DfE census validator)
	@scripts/python-tools.sh >/dev/null

db: ## Print the URL of a reachable Postgres, starting one if needed
	@scripts/ensure-postgres.sh cpc

clean-db: ## Stop the project-local Postgres cluster, if one was started
	scripts/stop-local-postgres.sh
