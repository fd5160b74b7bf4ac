package deploytest

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
	"testing"
)

var envCall = regexp.MustCompile(`env\("([A-Za-z_][A-Za-z0-9_]*)"`)

// envExample returns the variables .env.example assigns, with their values.
func envExample(t *testing.T) map[string]string {
	t.Helper()
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, ".env.example")))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`).MatchString(name) {
			t.Errorf(".env.example:%d: not NAME=value: %q", n, line)
			continue
		}
		if _, dup := vars[name]; dup {
			t.Errorf(".env.example:%d: %s assigned twice", n, name)
		}
		vars[name] = value
	}
	return vars
}

// envNames lists the variables an HCL source reads through env().
func envNames(src []byte) []string {
	var names []string
	seen := map[string]bool{}
	for _, m := range envCall.FindAllSubmatch(src, -1) {
		n := string(m[1])
		if n == "NAME" { // the header comment's example
			continue
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names
}

func TestEnvExampleListsEveryConfigVariable(t *testing.T) {
	vars := envExample(t)
	names := envNames(readFile(t, "oneflow.hcl"))
	if len(names) < 10 {
		t.Fatalf("found only %d env() calls in oneflow.hcl: %v", len(names), names)
	}
	for _, n := range names {
		t.Run("oneflow.hcl/"+n, func(t *testing.T) {
			if _, ok := vars[n]; !ok {
				t.Errorf("oneflow.hcl reads env(%q) but .env.example does not list it", n)
			}
		})
	}
	seeds := []string{
		"ONEFLOW_LISTEN", "ONEFLOW_LOG_LEVEL", "HTTP_TIMEOUT", "DATABASE_POOL_SIZE",
		"DATABASE_MAX_OVERFLOW", "CIRCUIT_BREAKER_FAILURE_THRESHOLD", "CIRCUIT_BREAKER_TIMEOUT",
		"ENABLE_TRACING", "OTEL_EXPORTER_OTLP_ENDPOINT",
	}
	for _, n := range seeds {
		t.Run("seed/"+n, func(t *testing.T) {
			if _, ok := vars[n]; !ok {
				t.Errorf(".env.example lacks %s", n)
			}
		})
	}
}

// The Kubernetes config reads variables too; each must come from the
// Deployment's env, or the pod fails to load its config.
func TestK8sConfigVariablesAreSet(t *testing.T) {
	hcl := k8sHCL(t)
	env := map[string]bool{}
	for _, e := range list(k8sContainer(t), "env") {
		env[str(e, "name")] = true
	}
	for _, n := range envNames([]byte(hcl)) {
		if !env[n] && !regexp.MustCompile(`env\("`+n+`", `).MatchString(hcl) {
			t.Errorf("configmap oneflow.hcl requires env(%q) without a default, but the Deployment does not set it", n)
		}
	}
}

// .env.example is committed: it must not carry anything key-shaped.
func TestEnvExampleHoldsNoSecrets(t *testing.T) {
	for name, value := range envExample(t) {
		secretish := strings.HasSuffix(name, "_API_KEY") || strings.HasSuffix(name, "_SECRET") || strings.HasSuffix(name, "ADMIN_KEY")
		if secretish && value != "" && value != "not-needed" {
			t.Errorf("%s has a value in .env.example; leave secrets empty", name)
		}
		for _, p := range []string{"sk-", "of_live_", "of-admin-", "eyJ"} {
			if strings.HasPrefix(value, p) {
				t.Errorf("%s looks like a real credential", name)
			}
		}
	}
}
