package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update rewrites the golden files: go test ./core/internal/config -update
var update = flag.Bool("update", false, "rewrite testdata/invalid/*.golden from the current output")

// goldenSecret is in the environment of every golden case; no golden
// output may contain it.
const goldenSecret = "sk-golden-secret-value"

// TestGoldenDiagnostics parses each testdata/invalid/*.hcl and compares
// the WriteDiagnostics output with the .golden file next to it.
func TestGoldenDiagnostics(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no golden inputs found")
	}
	env := envMap(map[string]string{"SECRET_KEY": goldenSecret})
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".hcl")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			// A slash path keeps goldens identical on every OS.
			cfg, diags := Parse(src, filepath.ToSlash(in), env, WithBaseDir(filepath.Dir(in)))
			if len(diags) == 0 {
				t.Fatal("no diagnostics; every golden input must be invalid or warn")
			}
			var got bytes.Buffer
			if err := WriteDiagnostics(&got, diags, cfg.Sources); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(got.String(), goldenSecret) {
				t.Fatalf("secret echoed in diagnostics:\n%s", got.String())
			}
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic without a source range: %s", d.Summary)
				}
				if d.Detail == "" {
					t.Errorf("diagnostic without a detail hint: %s", d.Summary)
				}
			}
			goldenPath := strings.TrimSuffix(in, ".hcl") + ".golden"
			if *update {
				if err := os.WriteFile(goldenPath, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if got.String() != string(want) {
				t.Errorf("diagnostics differ from %s (run with -update to accept):\ngot:\n%s\nwant:\n%s", goldenPath, got.String(), want)
			}
		})
	}
}
