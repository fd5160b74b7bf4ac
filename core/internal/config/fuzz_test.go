package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: no input may panic Parse or WriteDiagnostics, every
// diagnostic has a range, and a config accepted without errors keeps the
// invariants other packages rely on.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.hcl"))
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, shippedConfig)
	for _, path := range seeds {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("provider \"p\" {\n  model \"m\" {\n    image_prices = { \"*\" = 1e-999 }\n  }\n}"))
	f.Add([]byte(`server { body_limit = env("X", "99999999999999999999GiB") }`))
	f.Add([]byte("provider \"p\" {\n  model \"m\" {\n    input_price = 3\n    cached_input_price = 0.3\n    cache_write_price = env(\"W\", \"3.75\")\n  }\n}"))

	base := f.TempDir()
	if err := os.WriteFile(filepath.Join(base, "key"), []byte("sk-fuzz\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	env := envMap(map[string]string{"SECRET_KEY": "sk-fuzz", "N": "20", "B": "true"})

	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, diags := Parse(src, "fuzz.hcl", env, WithBaseDir(base))
		if cfg == nil {
			t.Fatal("nil config")
		}
		if err := WriteDiagnostics(io.Discard, diags, cfg.Sources); err != nil {
			t.Fatal(err)
		}
		for _, d := range diags {
			if d.Subject == nil {
				t.Fatalf("diagnostic without range: %s: %s", d.Summary, d.Detail)
			}
		}
		if diags.HasErrors() {
			return
		}
		for _, p := range cfg.Plugins {
			if !filepath.IsAbs(p.Path) {
				t.Fatalf("plugin %q path %q is not absolute", p.Name, p.Path)
			}
		}
		for _, p := range cfg.Providers {
			for _, m := range p.Models {
				if m.Priced != (m.PriceVersion != "") {
					t.Fatalf("model %q: Priced %v but PriceVersion %q", m.ID, m.Priced, m.PriceVersion)
				}
				if m.InputMicroUSDPerMTok < 0 || m.OutputMicroUSDPerMTok < 0 || m.PerKCharMicroUSD < 0 ||
					m.CachedInputMicroUSDPerMTok < 0 || m.CacheWriteMicroUSDPerMTok < 0 {
					t.Fatalf("model %q has a negative price", m.ID)
				}
				// Cache prices replace the input price of text prompts;
				// anywhere else the pricing code would ignore them.
				if (m.HasCachedInputPrice || m.HasCacheWritePrice) && m.Modality != "text" {
					t.Fatalf("model %q of modality %q has a cache price", m.ID, m.Modality)
				}
				if !m.HasCachedInputPrice && m.CachedInputMicroUSDPerMTok != 0 || !m.HasCacheWritePrice && m.CacheWriteMicroUSDPerMTok != 0 {
					t.Fatalf("model %q has an unset cache price with a value", m.ID)
				}
				for k, v := range m.ImageMicroUSD {
					if v < 0 || !validImageKey(k) {
						t.Fatalf("model %q image price %q=%d", m.ID, k, v)
					}
				}
			}
		}
	})
}

// TestHugeNumbers: numbers whose decimal form has millions of digits are
// rejected before anything prints them (found by FuzzParse: a template
// "${1e99999999}" never returned).
func TestHugeNumbers(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"template", `server { listen = "${1e99999999}" }`, "Number out of range"},
		{"string attribute", `server { listen = 1e99999999 }`, "Number out of range"},
		{"tiny", `server { listen = 1e-99999999 }`, "Number out of range"},
		{"object key", "provider \"p\" {\n  model \"m\" {\n    image_prices = { 1e99999999 = 1 }\n  }\n}", "Number out of range"},
		{"product", `server { listen = 1e900 * 1e900 }`, "far too large or small"},
		{"integer", `pricing { credits_per_usd = 1e900 }`, "must be a whole number"},
		{"price", "provider \"p\" {\n  model \"m\" {\n    input_price = 1e900\n  }\n}", "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, out := parseDiags(t, tc.src, envMap(nil))
			if !strings.Contains(out, tc.want) {
				t.Errorf("diagnostics:\n%s\nwant %q", out, tc.want)
			}
		})
	}
}
