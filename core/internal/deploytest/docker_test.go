package deploytest

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// dockerInstructions returns the Dockerfile's instructions with line
// continuations joined, as "INSTRUCTION args".
func dockerInstructions(t *testing.T) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, "Dockerfile")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := dockerInstructions(t)
	var froms []string
	final := map[string][]string{} // instructions of the last stage
	for _, in := range ins {
		op, args, _ := strings.Cut(in, " ")
		op = strings.ToUpper(op)
		if op == "FROM" {
			froms = append(froms, args)
			final = map[string][]string{}
			continue
		}
		final[op] = append(final[op], args)
	}
	all := strings.Join(ins, "\n")
	tests := []struct {
		name string
		ok   bool
	}{
		{"multi-stage with a Go builder", len(froms) >= 2 && strings.HasPrefix(froms[0], "golang:")},
		{"static binaries", strings.Contains(all, "CGO_ENABLED=0")},
		{"builds with make build (core and every plugin)", regexp.MustCompile(`RUN .*make build`).MatchString(all)},
		{"entrypoint serves /app/oneflow.hcl", len(final["ENTRYPOINT"]) == 1 &&
			final["ENTRYPOINT"][0] == `["/app/bin/oneflow", "serve", "-config", "/app/oneflow.hcl"]`},
		{"exposes 8080", len(final["EXPOSE"]) == 1 && final["EXPOSE"][0] == "8080"},
		{"listens on all interfaces", len(final["ENV"]) > 0 && strings.Contains(strings.Join(final["ENV"], " "), "ONEFLOW_LISTEN=0.0.0.0:8080")},
		{"workdir /app", len(final["WORKDIR"]) == 1 && final["WORKDIR"][0] == "/app"},
		{"runs as a non-root user", len(final["USER"]) == 1 && !strings.HasPrefix(final["USER"][0], "0") && final["USER"][0] != "root"},
		{"writable /app/data for the user", strings.Contains(all, "chown -R 65532:65532 /rootfs/app/data")},
		{"copies the config and the binaries", strings.Contains(all, "cp oneflow.hcl /rootfs/app/oneflow.hcl") && strings.Contains(all, "cp -r bin /rootfs/app/bin")},
		{"ships CA certificates for vendor HTTPS", strings.Contains(all, "ca-certificates.crt")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Errorf("Dockerfile check failed; instructions:\n%s", all)
			}
		})
	}
	t.Run("user matches the Kubernetes runAsUser", func(t *testing.T) {
		uid := dig(k8sObjects(t)["Deployment"], "spec", "template", "spec", "securityContext", "runAsUser")
		if u, _ := uid.(int); len(final["USER"]) == 1 && !strings.HasPrefix(final["USER"][0], strconv.Itoa(u)) {
			t.Errorf("image user %s, pod runAsUser %v", final["USER"][0], uid)
		}
	})
	t.Run("every plugin directory is a main package make build picks up", func(t *testing.T) {
		for _, kind := range []string{"providers", "strategies"} {
			dirs, _ := filepath.Glob(filepath.Join(repoRoot(t), "plugins", kind, "*"))
			if len(dirs) == 0 {
				t.Errorf("no plugins under plugins/%s", kind)
			}
			for _, d := range dirs {
				if _, err := os.Stat(filepath.Join(d, "main.go")); err != nil {
					t.Errorf("%s has no main.go: %v", d, err)
				}
			}
		}
	})
}

func TestDockerignore(t *testing.T) {
	lines := map[string]bool{}
	for _, l := range strings.Split(string(readFile(t, ".dockerignore")), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, must := range []string{".git", ".env", "bin", "data"} {
		if !lines[must] {
			t.Errorf(".dockerignore does not exclude %s", must)
		}
	}
	for _, needed := range []string{"go.mod", "go.sum", "oneflow.hcl", "Makefile", "core", "sdk", "plugins"} {
		if lines[needed] {
			t.Errorf(".dockerignore excludes %s, which the build needs", needed)
		}
	}
}
