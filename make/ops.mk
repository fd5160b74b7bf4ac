# Operations targets: containers, Kubernetes, database, security checks.
# Included from the Makefile (`include make/ops.mk`); relies on GO and GOBIN
# from there, with fallbacks so it also works alone (make -f make/ops.mk ...).
# No registry is named here: set IMAGE to push elsewhere, e.g.
#   make docker-build IMAGE=<registry>/oneflow:1.2.3

GO ?= go
GOBIN ?= $(shell $(GO) env GOPATH)/bin
IMAGE ?= oneflow:local
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMPOSE ?= docker compose
COMPOSE_FILE ?= configs/docker-compose.yml
# Interpolate secrets from ./.env when it exists (copy .env.example).
COMPOSE_ENV := $(if $(wildcard .env),--env-file .env,)
COMPOSE_CMD = $(COMPOSE) $(COMPOSE_ENV) -f $(COMPOSE_FILE)
KUBECTL ?= kubectl
K8S_DIR ?= configs/k8s
K8S_NAMESPACE ?= oneflow
ONEFLOW ?= ./bin/oneflow
ONEFLOW_CONFIG ?= oneflow.hcl

.PHONY: docker-build docker-up docker-down docker-logs \
	k8s-deploy k8s-delete k8s-status \
	db-migrate db-rollback db-shell \
	security-check audit prod-check health-check

docker-build: ## build the container image ($(IMAGE))
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

docker-up: ## start oneflow, PostgreSQL, Redis, Prometheus, Grafana and Jaeger
	$(COMPOSE_CMD) up -d --build
	@echo "oneflow    http://127.0.0.1:8080"
	@echo "prometheus http://127.0.0.1:9090"
	@echo "grafana    http://127.0.0.1:3000"
	@echo "jaeger     http://127.0.0.1:16686"

docker-down: ## stop the compose stack (volumes are kept; add -v by hand to drop them)
	$(COMPOSE_CMD) down

docker-logs: ## follow the gateway's logs
	$(COMPOSE_CMD) logs -f --tail=200 oneflow

k8s-deploy: ## apply configs/k8s with kustomize
	$(KUBECTL) apply -k $(K8S_DIR)
	$(KUBECTL) -n $(K8S_NAMESPACE) rollout status deployment/oneflow --timeout=180s

k8s-delete: ## delete everything configs/k8s created (including the namespace)
	$(KUBECTL) delete -k $(K8S_DIR) --ignore-not-found

k8s-status: ## pods, service, autoscaler and recent events
	$(KUBECTL) -n $(K8S_NAMESPACE) get deployment,pods,svc,hpa,pdb,ingress -l app.kubernetes.io/name=oneflow
	$(KUBECTL) -n $(K8S_NAMESPACE) get events --sort-by=.lastTimestamp | tail -n 20

db-migrate: ## apply database migrations (ONEFLOW_DATABASE_URL or the config's storage block)
	$(ONEFLOW) migrate -config $(ONEFLOW_CONFIG)

db-rollback: ## roll back the most recent migration
	$(ONEFLOW) migrate -down -config $(ONEFLOW_CONFIG)

db-shell: ## open psql or sqlite3 on ONEFLOW_DATABASE_URL (default sqlite://data/oneflow.db)
	@url="$${ONEFLOW_DATABASE_URL:-sqlite://data/oneflow.db}"; \
	case "$$url" in \
	  postgres://*|postgresql://*) \
	    command -v psql >/dev/null || { echo "psql not found: apt-get install postgresql-client"; exit 1; }; \
	    exec psql "$$url" ;; \
	  sqlite://*) \
	    command -v sqlite3 >/dev/null || { echo "sqlite3 not found: apt-get install sqlite3"; exit 1; }; \
	    exec sqlite3 "$${url#sqlite://}" ;; \
	  *) echo "db-shell: unsupported ONEFLOW_DATABASE_URL scheme (want postgres:// or sqlite://)"; exit 1 ;; \
	esac

security-check: ## gosec static analysis
	@if ! command -v gosec >/dev/null && [ ! -x "$(GOBIN)/gosec" ]; then \
	  echo "installing gosec"; \
	  $(GO) install github.com/securego/gosec/v2/cmd/gosec@latest || { echo "gosec could not be installed"; exit 1; }; \
	fi
	@PATH="$(GOBIN):$$PATH" gosec -quiet -exclude-generated ./...

audit: ## govulncheck against the Go vulnerability database
	@if ! command -v govulncheck >/dev/null && [ ! -x "$(GOBIN)/govulncheck" ]; then \
	  echo "installing govulncheck"; \
	  $(GO) install golang.org/x/vuln/cmd/govulncheck@latest || { echo "govulncheck could not be installed"; exit 1; }; \
	fi
	@out=$$(mktemp); \
	PATH="$(GOBIN):$$PATH" govulncheck ./... >"$$out" 2>&1; rc=$$?; \
	if [ $$rc -ne 0 ] && grep -qiE 'fetching vulnerabilities|dial tcp|no such host|connection refused|i/o timeout|TLS handshake|context deadline exceeded|network is unreachable' "$$out"; then \
	  echo "govulncheck database unreachable from this machine"; rm -f "$$out"; exit 0; \
	fi; \
	cat "$$out"; rm -f "$$out"; exit $$rc

prod-check: lint test security-check ## everything a release must pass

health-check: ## probe a running gateway (URL=http://127.0.0.1:8080)
	@scripts/health_check.sh $(if $(URL),-u $(URL),)
