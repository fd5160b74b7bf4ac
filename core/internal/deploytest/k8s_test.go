package deploytest

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/oneflow-ai/oneflow/core/internal/config"
)

// k8sObjects returns the manifests kustomization.yaml lists, by kind.
func k8sObjects(t *testing.T) map[string]map[string]any {
	t.Helper()
	k := yamlDoc(t, "configs/k8s/kustomization.yaml")
	objs := map[string]map[string]any{}
	for _, r := range list(k, "resources") {
		for _, d := range yamlDocs(t, "configs/k8s/"+r.(string)) {
			kind := str(d, "kind")
			if _, dup := objs[kind]; dup {
				t.Fatalf("two %s objects; the tests assume one of each", kind)
			}
			objs[kind] = d
		}
	}
	return objs
}

func k8sContainer(t *testing.T) map[string]any {
	t.Helper()
	c := mapping(k8sObjects(t)["Deployment"], "spec", "template", "spec", "containers", 0)
	if c == nil {
		t.Fatal("the Deployment has no container")
	}
	return c
}

func k8sHCL(t *testing.T) string {
	t.Helper()
	hcl := str(k8sObjects(t)["ConfigMap"], "data", "oneflow.hcl")
	if hcl == "" {
		t.Fatal("the ConfigMap has no oneflow.hcl")
	}
	return hcl
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	k := yamlDoc(t, "configs/k8s/kustomization.yaml")
	listed := map[string]bool{}
	for _, r := range list(k, "resources") {
		listed[r.(string)] = true
	}
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "configs/k8s/*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b := filepath.Base(f)
		if b != "kustomization.yaml" && !listed[b] {
			t.Errorf("%s is not listed in kustomization.yaml", b)
		}
		delete(listed, b)
	}
	for r := range listed {
		t.Errorf("kustomization.yaml lists %s, which does not exist", r)
	}
	if ns := str(k, "namespace"); ns != "oneflow" {
		t.Errorf("kustomization namespace %q", ns)
	}
}

func TestK8sManifests(t *testing.T) {
	objs := k8sObjects(t)
	for _, kind := range []string{"Namespace", "ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"} {
		o, ok := objs[kind]
		if !ok {
			t.Errorf("no %s manifest", kind)
			continue
		}
		if str(o, "apiVersion") == "" || str(o, "metadata", "name") == "" {
			t.Errorf("%s lacks apiVersion or metadata.name", kind)
		}
		if kind != "Namespace" && str(o, "metadata", "namespace") != "oneflow" {
			t.Errorf("%s is not in namespace oneflow", kind)
		}
	}
	dep := objs["Deployment"]
	pod := mapping(dep, "spec", "template", "spec")
	c := k8sContainer(t)
	podLabels := mapping(dep, "spec", "template", "metadata", "labels")

	ports := map[string]int{}
	for _, p := range list(c, "ports") {
		ports[str(p, "name")], _ = dig(p, "containerPort").(int)
	}

	t.Run("selector matches pod labels", func(t *testing.T) {
		sel := mapping(dep, "spec", "selector", "matchLabels")
		if len(sel) == 0 || !subset(sel, podLabels) {
			t.Errorf("selector %v vs labels %v", sel, podLabels)
		}
	})
	t.Run("probes", func(t *testing.T) {
		for probe, path := range map[string]string{"livenessProbe": "/health", "readinessProbe": "/ready", "startupProbe": "/health"} {
			if got := str(c, probe, "httpGet", "path"); got != path {
				t.Errorf("%s path %q, want %s", probe, got, path)
			}
			port := dig(c, probe, "httpGet", "port")
			if name, ok := port.(string); ok && ports[name] == 0 {
				t.Errorf("%s uses port %q, which the container does not declare", probe, name)
			}
		}
		if ports["http"] != 8080 {
			t.Errorf("container port http = %d, want 8080", ports["http"])
		}
	})
	t.Run("non-root and locked down", func(t *testing.T) {
		if dig(pod, "securityContext", "runAsNonRoot") != true || dig(c, "securityContext", "runAsNonRoot") != true {
			t.Error("runAsNonRoot not set on the pod and the container")
		}
		if uid, _ := dig(pod, "securityContext", "runAsUser").(int); uid == 0 {
			t.Error("runAsUser must be a non-zero uid (65532, the image's user)")
		}
		if dig(c, "securityContext", "allowPrivilegeEscalation") != false {
			t.Error("allowPrivilegeEscalation must be false")
		}
		if dig(c, "securityContext", "readOnlyRootFilesystem") != true {
			t.Error("readOnlyRootFilesystem must be true")
		}
		if drop := list(c, "securityContext", "capabilities", "drop"); len(drop) != 1 || drop[0] != "ALL" {
			t.Errorf("capabilities drop %v, want [ALL]", drop)
		}
		if dig(pod, "automountServiceAccountToken") != false {
			t.Error("the gateway needs no API token: automountServiceAccountToken false")
		}
	})
	t.Run("resources", func(t *testing.T) {
		for _, p := range [][]any{{"requests", "cpu"}, {"requests", "memory"}, {"limits", "memory"}} {
			if dig(c, append([]any{"resources"}, p...)...) == nil {
				t.Errorf("resources.%v unset", p)
			}
		}
	})
	t.Run("writable mounts for a read-only root", func(t *testing.T) {
		mounts := map[string]string{}
		for _, m := range list(c, "volumeMounts") {
			mounts[str(m, "mountPath")] = str(m, "name")
		}
		for _, p := range []string{"/tmp", "/app/data", "/etc/oneflow"} {
			if mounts[p] == "" {
				t.Errorf("nothing mounted at %s", p)
			}
		}
		vols := map[string]map[string]any{}
		for _, v := range list(pod, "volumes") {
			vols[str(v, "name")] = v.(map[string]any)
		}
		for _, name := range mounts {
			if vols[name] == nil {
				t.Errorf("volume %q mounted but not declared", name)
			}
		}
		if cm := str(vols[mounts["/etc/oneflow"]], "configMap", "name"); cm != str(objs["ConfigMap"], "metadata", "name") {
			t.Errorf("config volume uses ConfigMap %q", cm)
		}
		cmd := list(c, "command")
		if len(cmd) < 4 || cmd[0] != "/app/bin/oneflow" || cmd[1] != "serve" || cmd[len(cmd)-1] != "/etc/oneflow/oneflow.hcl" {
			t.Errorf("command %v does not serve /etc/oneflow/oneflow.hcl", cmd)
		}
	})
	t.Run("secret references exist", func(t *testing.T) {
		secretName := str(objs["Secret"], "metadata", "name")
		keys := mapping(objs["Secret"], "stringData")
		n := 0
		for _, e := range list(c, "env") {
			ref := mapping(e, "valueFrom", "secretKeyRef")
			if ref == nil {
				continue
			}
			n++
			if str(ref, "name") != secretName {
				t.Errorf("%s reads Secret %q, want %q", str(e, "name"), str(ref, "name"), secretName)
			}
			if _, ok := keys[str(ref, "key")]; !ok {
				t.Errorf("%s reads key %q, absent from secret.yaml", str(e, "name"), str(ref, "key"))
			}
		}
		if n < 4 {
			t.Errorf("only %d variables come from the Secret", n)
		}
		for k, v := range keys {
			s, _ := v.(string)
			for _, p := range []string{"sk-", "of_live_", "of-admin-", "eyJ"} {
				if strings.HasPrefix(s, p) {
					t.Errorf("secret.yaml %s looks like a real credential; keep placeholders", k)
				}
			}
		}
	})
	t.Run("service routes to the pods", func(t *testing.T) {
		svc := objs["Service"]
		if sel := mapping(svc, "spec", "selector"); len(sel) == 0 || !subset(sel, podLabels) {
			t.Errorf("service selector %v does not match pod labels %v", sel, podLabels)
		}
		if tp := str(svc, "spec", "ports", 0, "targetPort"); ports[tp] == 0 {
			t.Errorf("service targetPort %q is not a container port", tp)
		}
	})
	t.Run("autoscaler and disruption budget", func(t *testing.T) {
		hpa := objs["HorizontalPodAutoscaler"]
		if str(hpa, "spec", "scaleTargetRef", "kind") != "Deployment" || str(hpa, "spec", "scaleTargetRef", "name") != str(dep, "metadata", "name") {
			t.Errorf("HPA targets %v", mapping(hpa, "spec", "scaleTargetRef"))
		}
		min, _ := dig(hpa, "spec", "minReplicas").(int)
		max, _ := dig(hpa, "spec", "maxReplicas").(int)
		if min < 2 || max < min {
			t.Errorf("HPA replicas %d..%d; keep at least 2 for availability", min, max)
		}
		if sel := mapping(objs["PodDisruptionBudget"], "spec", "selector", "matchLabels"); len(sel) == 0 || !subset(sel, podLabels) {
			t.Errorf("PDB selector %v does not match pod labels", sel)
		}
	})
	t.Run("ingress backends exist", func(t *testing.T) {
		svcName := str(objs["Service"], "metadata", "name")
		svcPort := str(objs["Service"], "spec", "ports", 0, "name")
		paths := list(objs["Ingress"], "spec", "rules", 0, "http", "paths")
		if len(paths) == 0 {
			t.Fatal("ingress has no paths")
		}
		for _, p := range paths {
			if str(p, "backend", "service", "name") != svcName || str(p, "backend", "service", "port", "name") != svcPort {
				t.Errorf("ingress path %s points at %v", str(p, "path"), mapping(p, "backend"))
			}
		}
	})
}

func subset(sub, super map[string]any) bool {
	for k, v := range sub {
		if super[k] != v {
			return false
		}
	}
	return true
}

// The ConfigMap's oneflow.hcl must load with the real config loader and
// price exactly what the repository's oneflow.hcl prices.
func TestK8sConfigLoadsAndMatchesDefaultPrices(t *testing.T) {
	env := map[string]string{
		"ONEFLOW_DATABASE_URL": "postgres://u:p@db:5432/oneflow?sslmode=require",
		"REDIS_URL":            "redis://redis:6379/0",
		"ONEFLOW_ADMIN_KEY":    "of-admin-00112233445566778899aabbccddeeff",
		"ONEFLOW_JWT_SECRET":   "0123456789abcdef0123456789abcdef0123456789abcdef",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	k8s, diags := config.Parse([]byte(k8sHCL(t)), "/etc/oneflow/oneflow.hcl", config.WithEnv(lookup))
	if diags.HasErrors() {
		t.Fatalf("configmap oneflow.hcl does not load: %s", diagText(diags))
	}
	root := filepath.Join(repoRoot(t), "oneflow.hcl")
	def, diags := config.Load(root, config.WithEnv(func(string) (string, bool) { return "", false }))
	if diags.HasErrors() {
		t.Fatalf("oneflow.hcl does not load: %s", diagText(diags))
	}

	t.Run("production settings", func(t *testing.T) {
		if !strings.HasPrefix(k8s.Storage.DatabaseURL, "postgres://") {
			t.Error("storage must come from ONEFLOW_DATABASE_URL")
		}
		if k8s.Redis.URL == "" {
			t.Error("redis must be configured for several replicas")
		}
		if k8s.Server.Listen != "0.0.0.0:8080" {
			t.Errorf("listen %q", k8s.Server.Listen)
		}
	})
	t.Run("required variables have no defaults", func(t *testing.T) {
		for _, v := range []string{"ONEFLOW_DATABASE_URL", "REDIS_URL"} {
			missing := maps.Clone(env)
			delete(missing, v)
			_, d := config.Parse([]byte(k8sHCL(t)), "/etc/oneflow/oneflow.hcl",
				config.WithEnv(func(k string) (string, bool) { x, ok := missing[k]; return x, ok }))
			if !d.HasErrors() {
				t.Errorf("config loads without %s; it must fail instead of falling back to SQLite or in-process limits", v)
			}
		}
	})
	t.Run("plugins are absolute paths to the same binaries", func(t *testing.T) {
		if len(k8s.Plugins) != len(def.Plugins) {
			t.Fatalf("%d plugins, oneflow.hcl has %d", len(k8s.Plugins), len(def.Plugins))
		}
		for i, p := range k8s.Plugins {
			d := def.Plugins[i]
			if p.Name != d.Name || p.Kind != d.Kind || filepath.Base(p.Path) != filepath.Base(d.Path) {
				t.Errorf("plugin %s differs from oneflow.hcl's %s", p.Name, d.Name)
			}
			if !strings.HasPrefix(p.Path, "/app/bin/plugins/") {
				t.Errorf("plugin %s path %s is not under /app/bin/plugins", p.Name, p.Path)
			}
		}
	})
	t.Run("same providers, models and prices", func(t *testing.T) {
		if got, want := providerSummary(k8s), providerSummary(def); !slices.Equal(got, want) {
			t.Errorf("providers differ from oneflow.hcl:\n k8s: %v\nroot: %v", got, want)
		}
		for i := range def.Providers {
			if i >= len(k8s.Providers) {
				break
			}
			a, b := stripRanges(k8s.Providers[i].Models), stripRanges(def.Providers[i].Models)
			if !slices.EqualFunc(a, b, modelEqual) {
				t.Errorf("provider %s: models or prices differ from oneflow.hcl", def.Providers[i].Name)
			}
		}
	})
}

func diagText(d hcl.Diagnostics) string {
	var b strings.Builder
	for _, x := range d {
		b.WriteString(x.Error())
		b.WriteString("; ")
	}
	return b.String()
}

func providerSummary(c *config.Config) []string {
	var s []string
	for _, p := range c.Providers {
		s = append(s, p.Name+"/"+p.Plugin)
	}
	return s
}

func stripRanges(ms []config.Model) []config.Model {
	out := slices.Clone(ms)
	for i := range out {
		out[i].Range = hcl.Range{}
	}
	return out
}

func modelEqual(a, b config.Model) bool {
	return a.ID == b.ID && a.PriceVersion == b.PriceVersion &&
		a.InputMicroUSDPerMTok == b.InputMicroUSDPerMTok &&
		a.OutputMicroUSDPerMTok == b.OutputMicroUSDPerMTok &&
		a.CachedInputMicroUSDPerMTok == b.CachedInputMicroUSDPerMTok && a.HasCachedInputPrice == b.HasCachedInputPrice &&
		a.CacheWriteMicroUSDPerMTok == b.CacheWriteMicroUSDPerMTok && a.HasCacheWritePrice == b.HasCacheWritePrice &&
		a.PerKCharMicroUSD == b.PerKCharMicroUSD &&
		maps.Equal(a.ImageMicroUSD, b.ImageMicroUSD) &&
		a.Quality == b.Quality && a.Modality == b.Modality
}

// Every manifest file is YAML that decodes; a tab or a bad indent in one
// would only show up at kubectl apply time otherwise.
func TestK8sFilesParse(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "configs/k8s/*.yaml"))
	if len(files) < 9 {
		t.Fatalf("found %d manifests", len(files))
	}
	for _, f := range files {
		rel, _ := filepath.Rel(repoRoot(t), f)
		t.Run(rel, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "\t") {
				t.Error("contains a tab")
			}
			if len(yamlDocs(t, rel)) == 0 {
				t.Error("no YAML document")
			}
		})
	}
}
