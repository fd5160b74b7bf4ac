package config

import ("testing";"time")

func TestZZSlow(t *testing.T) {
	for _, src := range []string{
		`pricing { credits_per_usd = 1e999999999 }`,
		`pricing { credits_per_usd = 1e-999999999 }`,
		`provider "p" { model "m" { input_price = 1e99999999 } }`,
		`provider "p" { model "m" { input_price = 1.0000000000000000000000000001e-20 } }`,
		`server { listen = "${1e99999999}" }`,
		`storage { max_open_conns = 1e300 * 1e300 * 1e300 }`,
		`provider "p" { model "m" { quality = 1e99999999 } }`,
		`provider "p" { model "m" { image_prices = { "*" = 9e9999999 } } }`,
	} {
		start := time.Now()
		_, diags := Parse([]byte(src), "x.hcl", envMap(nil))
		t.Logf("%v %q %v", time.Since(start), src, len(diags))
	}
}
