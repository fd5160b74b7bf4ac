// Package deploytest checks the deployment files statically: the Dockerfile,
// configs/docker-compose.yml, configs/k8s, the Prometheus configuration and
// alerting rules, the Grafana provisioning and dashboard, .env.example,
// make/ops.mk and scripts/health_check.sh.
//
// No container engine or cluster is needed. The tests parse every file,
// check that the pieces refer to each other correctly (a Secret key the
// Deployment reads exists, every metric a dashboard or alert queries is one
// that core/internal/telemetry exports, the Kubernetes configuration loads
// with the config package and prices the same models as oneflow.hcl) and
// run the external validators only when they are installed: promtool for the
// Prometheus files, kubectl for kustomize rendering, docker compose for the
// compose file.
//
// The package has no non-test code; this file exists so that it builds.
package deploytest
