package deploytest

import (
	"database/sql"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/telemetry"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// exportedMetrics returns the name of every series the gateway exports,
// with the _bucket, _sum and _count series of histograms, plus "up", which
// Prometheus adds to every scrape.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg, err := telemetry.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	m, err := telemetry.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := telemetry.RegisterDBPool(reg, "primary", func() sql.DBStats { return sql.DBStats{} }); err != nil {
		t.Fatal(err)
	}
	// A vector exports nothing until it has a child: touch every one.
	m.ObserveHTTP("GET", "/v1/models", 200, time.Millisecond)
	m.SetBreakerState("p", "m", telemetry.BreakerClosed)
	m.ProviderError("p", provider.KindTimeout)
	m.ObserveProviderCall("p", "m", time.Millisecond)
	m.AddTokens("p", "m", 1, 1)
	m.AddCreditsCharged("p", "m", 1)
	m.ObserveEstimate("p", "m", 1, 1)
	m.UnpricedRequest("p", "m")
	m.SetPluginUp("p", true)
	m.PluginRestarted("p")
	m.RateLimitRejected("per_minute")
	m.SetProjectBalances([]telemetry.ProjectBalance{{Project: "default", MicroCredits: 1}})

	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{"up": true}
	for _, f := range fams {
		names[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+s] = true
			}
		}
	}
	return names
}

// metricPrefixes are the prefixes of the gateway's own metrics: any
// identifier in a query starting with one must be an exported series.
var metricPrefixes = []string{"http_", "circuit_breaker_", "provider_", "oneflow_", "db_pool_", "go_", "process_"}

var (
	quoted     = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	identifier = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
)

// referencedMetrics extracts the metric names a PromQL expression uses:
// string literals are dropped first so label values are not mistaken for
// names, then identifiers with a gateway prefix (or "up") are kept.
func referencedMetrics(expr string) []string {
	var out []string
	for _, id := range identifier.FindAllString(quoted.ReplaceAllString(expr, `""`), -1) {
		if id == "up" {
			out = append(out, id)
			continue
		}
		for _, p := range metricPrefixes {
			if strings.HasPrefix(id, p) {
				out = append(out, id)
				break
			}
		}
	}
	return out
}

func checkExpr(t *testing.T, where, expr string, exported map[string]bool) {
	t.Helper()
	refs := referencedMetrics(expr)
	if len(refs) == 0 {
		t.Errorf("%s: expression references no gateway metric: %s", where, expr)
	}
	for _, r := range refs {
		if !exported[r] {
			t.Errorf("%s: metric %q is not exported by core/internal/telemetry", where, r)
		}
	}
}

func TestReferencedMetricsExtraction(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`sum(rate(http_requests_total{job="oneflow",status=~"5.."}[5m]))`, []string{"http_requests_total"}},
		{`histogram_quantile(0.95, sum by (le, provider) (rate(oneflow_provider_request_duration_seconds_bucket[$__rate_interval])))`,
			[]string{"oneflow_provider_request_duration_seconds_bucket"}},
		{`up{job="oneflow_x"} == 0`, []string{"up"}},
		{`db_pool_in_use / (db_pool_max_open > 0)`, []string{"db_pool_in_use", "db_pool_max_open"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			if got := referencedMetrics(tt.expr); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAlertRules(t *testing.T) {
	exported := exportedMetrics(t)
	doc := yamlDoc(t, "configs/alerts.yml")
	groups := list(doc, "groups")
	if len(groups) == 0 {
		t.Fatal("configs/alerts.yml has no groups")
	}
	seen := map[string]bool{}
	var names []string
	for _, g := range groups {
		for _, r := range list(g, "rules") {
			name := str(r, "alert")
			t.Run(name, func(t *testing.T) {
				if name == "" {
					t.Fatalf("rule without an alert name in group %s", str(g, "name"))
				}
				if seen[name] {
					t.Errorf("alert %s defined twice", name)
				}
				seen[name] = true
				checkExpr(t, name, str(r, "expr"), exported)
				switch s := str(r, "labels", "severity"); s {
				case "critical", "warning", "info":
				default:
					t.Errorf("severity %q, want critical, warning or info", s)
				}
				if str(r, "annotations", "summary") == "" {
					t.Error("no summary annotation")
				}
				if f := str(r, "for"); f != "" {
					if _, err := time.ParseDuration(f); err != nil {
						t.Errorf("for: %v", err)
					}
				}
			})
			names = append(names, name)
		}
	}
	// What the operators were promised.
	for _, want := range []string{"OneFlowHighErrorRate", "OneFlowCircuitBreakerOpen", "OneFlowPluginDown", "OneFlowCreditsNearExhaustion"} {
		if !seen[want] {
			t.Errorf("alert %s missing; have %v", want, names)
		}
	}
}

func TestPrometheusConfig(t *testing.T) {
	doc := yamlDoc(t, "configs/prometheus.yml")
	var found bool
	for _, sc := range list(doc, "scrape_configs") {
		if str(sc, "job_name") != "oneflow" {
			continue
		}
		found = true
		if p := str(sc, "metrics_path"); p != "/metrics" {
			t.Errorf("metrics_path %q, want /metrics", p)
		}
		targets := list(sc, "static_configs", 0, "targets")
		if len(targets) != 1 || targets[0] != "oneflow:8080" {
			t.Errorf("targets %v, want [oneflow:8080]", targets)
		}
	}
	if !found {
		t.Error("no scrape job named oneflow (the alerts select job=\"oneflow\")")
	}
	rules := list(doc, "rule_files")
	if len(rules) != 1 || rules[0] != "alerts.yml" {
		t.Errorf("rule_files %v, want [alerts.yml] (relative, mounted beside prometheus.yml)", rules)
	}
}

type dashboard struct {
	UID    string  `json:"uid"`
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

func TestGrafanaDashboard(t *testing.T) {
	exported := exportedMetrics(t)
	var d dashboard
	if err := json.Unmarshal(readFile(t, "configs/grafana/dashboards/oneflow.json"), &d); err != nil {
		t.Fatalf("parsing the dashboard: %v", err)
	}
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard needs a uid and a title")
	}
	dsUID := str(yamlDoc(t, "configs/grafana/provisioning/datasources/prometheus.yml"), "datasources", 0, "uid")
	if dsUID == "" {
		t.Fatal("the provisioned Prometheus datasource has no uid")
	}
	ids := map[int]bool{}
	var all strings.Builder
	for _, p := range d.Panels {
		t.Run(p.Title, func(t *testing.T) {
			if ids[p.ID] {
				t.Errorf("panel id %d reused", p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.X < 0 || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H <= 0 {
				t.Errorf("gridPos %+v does not fit the 24-column grid", p.GridPos)
			}
			if p.Type == "row" {
				return
			}
			if p.Datasource == nil || p.Datasource.UID != dsUID {
				t.Errorf("datasource %+v, want uid %q", p.Datasource, dsUID)
			}
			if len(p.Targets) == 0 {
				t.Error("panel has no queries")
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if refs[tg.RefID] {
					t.Errorf("refId %s reused", tg.RefID)
				}
				refs[tg.RefID] = true
				checkExpr(t, p.Title, tg.Expr, exported)
				all.WriteString(tg.Expr + "\n")
			}
		})
	}
	// The panels the dashboard promises.
	for _, want := range []string{
		"rate(http_requests_total",
		"histogram_quantile(0.50, sum by (le) (rate(http_request_duration_seconds_bucket",
		"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket",
		"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket",
		`status=~"5.."`,
		"circuit_breaker_state",
		"sum by (provider) (rate(oneflow_credits_charged_total",
		"sum by (provider, direction) (rate(oneflow_tokens_total",
		"provider_errors_total",
	} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no panel queries %q", want)
		}
	}
}

func TestGrafanaProvisioning(t *testing.T) {
	dash := yamlDoc(t, "configs/grafana/provisioning/dashboards/oneflow.yml")
	path := str(dash, "providers", 0, "options", "path")
	compose := yamlDoc(t, "configs/docker-compose.yml")
	var mounted bool
	for _, v := range list(compose, "services", "grafana", "volumes") {
		if s, _ := v.(string); strings.HasPrefix(s, "./grafana/dashboards:"+path) {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("the dashboards provider reads %s but compose does not mount ./grafana/dashboards there", path)
	}
	ds := yamlDoc(t, "configs/grafana/provisioning/datasources/prometheus.yml")
	if u := str(ds, "datasources", 0, "url"); u != "http://prometheus:9090" {
		t.Errorf("datasource url %q, want the compose service http://prometheus:9090", u)
	}
}
