package config

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
)

// decoder evaluates attribute expressions and collects diagnostics, so one
// run reports every problem in the file rather than the first.
type decoder struct {
	ctx     *hcl.EvalContext
	baseDir string
	diags   hcl.Diagnostics
}

func (d *decoder) add(diags hcl.Diagnostics) {
	d.diags = append(d.diags, diags...)
}

// failedSince reports whether an error was recorded after the first mark
// diagnostics, so a follow-up check does not pile onto an evaluation error.
func (d *decoder) failedSince(mark int) bool {
	return d.diags[mark:].HasErrors()
}

func (d *decoder) errorAt(rng hcl.Range, summary, detail string) {
	r := rng
	d.diags = append(d.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &r})
}

func (d *decoder) warnAt(rng hcl.Range, summary, detail string) {
	r := rng
	d.diags = append(d.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: detail, Subject: &r})
}

// value evaluates expr. ok is false when the attribute is absent (gohcl
// gives a static null), explicitly null, or failed to evaluate; callers
// then keep their default. For secret attributes the evaluation
// diagnostics are scrubbed of the expression and context, which renderers
// may print values from.
func (d *decoder) value(expr hcl.Expression, secret bool) (cty.Value, bool) {
	if expr == nil {
		return cty.NilVal, false
	}
	v, diags := expr.Value(d.ctx)
	if secret {
		diags = scrub(diags)
	}
	d.add(diags)
	if diags.HasErrors() || v.IsNull() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		// Unreachable without variables, but a guard keeps conversions below
		// from seeing unknowns.
		d.errorAt(expr.Range(), "Value not known", "The value must be known when the configuration is loaded.")
		return cty.NilVal, false
	}
	v, _ = v.UnmarkDeep()
	return v, true
}

// scrub removes what could reveal a secret's value from diagnostics.
func scrub(diags hcl.Diagnostics) hcl.Diagnostics {
	out := make(hcl.Diagnostics, len(diags))
	for i, diag := range diags {
		c := *diag
		c.Expression = nil
		c.EvalContext = nil
		out[i] = &c
	}
	return out
}

// convertTo converts v to want and reports a diagnostic naming the
// attribute on failure. cty conversion is what turns the string "20" from
// env() into the number 20 and "false" into false. Secret attributes get
// no conversion detail at all.
func (d *decoder) convertTo(name string, expr hcl.Expression, v cty.Value, want cty.Type, what string, secret bool) (cty.Value, bool) {
	cv, err := convert.Convert(v, want)
	if err != nil {
		detail := fmt.Sprintf("%s must be %s; %s.", name, what, err)
		if secret {
			detail = fmt.Sprintf("%s must be %s. The value is secret and is not shown.", name, what)
		}
		d.errorAt(expr.Range(), "Invalid value for "+name, detail)
		return cty.NilVal, false
	}
	return cv, true
}

func (d *decoder) str(name string, expr hcl.Expression, def string) (string, bool) {
	return d.stringValue(name, expr, def, false)
}

// secret evaluates an attribute whose value must never be shown.
func (d *decoder) secret(name string, expr hcl.Expression, def string) (string, bool) {
	return d.stringValue(name, expr, def, true)
}

func (d *decoder) stringValue(name string, expr hcl.Expression, def string, secret bool) (string, bool) {
	v, ok := d.value(expr, secret)
	if !ok {
		return def, false
	}
	// Arithmetic can still build a huge number from bounded literals;
	// printing it as a string would take as long as it has digits.
	if v.Type().Equals(cty.Number) && numberOutOfRange(v) {
		d.errorAt(expr.Range(), "Invalid value for "+name, name+" must be a string; the number given is far too large or small.")
		return def, false
	}
	cv, ok := d.convertTo(name, expr, v, cty.String, "a string", secret)
	if !ok {
		return def, false
	}
	return cv.AsString(), true
}

func (d *decoder) integer(name string, expr hcl.Expression, def int64) (int64, bool) {
	v, ok := d.value(expr, false)
	if !ok {
		return def, false
	}
	cv, ok := d.convertTo(name, expr, v, cty.Number, "a whole number", false)
	if !ok {
		return def, false
	}
	var n int64
	if err := gocty.FromCtyValue(cv, &n); err != nil {
		d.errorAt(expr.Range(), "Invalid value for "+name,
			fmt.Sprintf("%s must be a whole number, got %s.", name, cv.AsBigFloat().Text('g', 20)))
		return def, false
	}
	return n, true
}

func (d *decoder) float(name string, expr hcl.Expression, def float64) (float64, bool) {
	v, ok := d.value(expr, false)
	if !ok {
		return def, false
	}
	cv, ok := d.convertTo(name, expr, v, cty.Number, "a number", false)
	if !ok {
		return def, false
	}
	var f float64
	if err := gocty.FromCtyValue(cv, &f); err != nil {
		d.errorAt(expr.Range(), "Invalid value for "+name, fmt.Sprintf("%s must be a number; %s.", name, err))
		return def, false
	}
	return f, true
}

func (d *decoder) boolean(name string, expr hcl.Expression, def bool) (bool, bool) {
	v, ok := d.value(expr, false)
	if !ok {
		return def, false
	}
	cv, ok := d.convertTo(name, expr, v, cty.Bool, `true or false (or the strings "true" and "false")`, false)
	if !ok {
		return def, false
	}
	return cv.True(), true
}

// duration parses a Go duration string. minimum is the smallest value
// accepted: 0 where zero means "no limit", 1 where zero makes no sense.
func (d *decoder) duration(name string, expr hcl.Expression, def, minimum time.Duration) time.Duration {
	s, ok := d.str(name, expr, "")
	if !ok {
		return def
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.errorAt(expr.Range(), "Invalid duration for "+name,
			fmt.Sprintf(`%s must be a duration string such as "300ms", "30s", "5m" or "1h30m"; %s.`, name, err))
		return def
	}
	if v < minimum {
		want := "zero or more"
		if minimum > 0 {
			want = "greater than zero"
		}
		d.errorAt(expr.Range(), "Invalid duration for "+name, fmt.Sprintf("%s must be %s, got %s.", name, want, s))
		return def
	}
	return v
}

func (d *decoder) strList(name string, expr hcl.Expression) ([]string, bool) {
	v, ok := d.value(expr, false)
	if !ok {
		return nil, false
	}
	cv, ok := d.convertTo(name, expr, v, cty.List(cty.String), "a list of strings", false)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, cv.LengthInt())
	for it := cv.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			d.errorAt(expr.Range(), "Invalid value for "+name, name+" must not contain null.")
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}

func (d *decoder) strMap(name string, expr hcl.Expression) (map[string]string, bool) {
	v, ok := d.value(expr, false)
	if !ok {
		return nil, false
	}
	cv, ok := d.convertTo(name, expr, v, cty.Map(cty.String), "a map of strings", false)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, cv.LengthInt())
	for it := cv.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			d.errorAt(expr.Range(), "Invalid value for "+name, fmt.Sprintf("%s[%q] must not be null.", name, k.AsString()))
			continue
		}
		out[k.AsString()] = e.AsString()
	}
	return out, true
}

// price reads a USD amount as exact micro-USD. set is true whenever the
// attribute was given, including an explicit 0, so a free model counts as
// priced.
func (d *decoder) price(name string, expr hcl.Expression) (micro int64, set bool) {
	v, ok := d.value(expr, false)
	if !ok {
		return 0, false
	}
	return d.priceValue(name, expr.Range(), v), true
}

func (d *decoder) priceValue(name string, rng hcl.Range, v cty.Value) int64 {
	nv, err := convert.Convert(v, cty.Number)
	if err != nil || nv.IsNull() || !nv.IsKnown() {
		d.errorAt(rng, "Invalid price for "+name, fmt.Sprintf("%s must be a number of US dollars, such as 2.50.", name))
		return 0
	}
	micro, err := microUSDFromNumber(nv)
	if err != nil {
		d.errorAt(rng, "Invalid price for "+name,
			fmt.Sprintf("%s: %s. Prices are US dollars with at most six decimal places, such as 0.15 or 0.000125.", name, err))
		return 0
	}
	return micro
}

// imagePrices reads a map of image key to USD. When the value is an object
// literal each entry is read on its own so a diagnostic points at the bad
// entry rather than the whole map.
func (d *decoder) imagePrices(name string, expr hcl.Expression) (map[string]int64, bool) {
	if obj, ok := expr.(*hclsyntax.ObjectConsExpr); ok {
		out := make(map[string]int64, len(obj.Items))
		seen := make(map[string]hcl.Range, len(obj.Items))
		for _, item := range obj.Items {
			kv, ok := d.value(item.KeyExpr, false)
			if !ok {
				continue
			}
			kc, ok := d.convertTo(name+" key", item.KeyExpr, kv, cty.String, "a string", false)
			if !ok {
				continue
			}
			key := kc.AsString()
			if first, dup := seen[key]; dup {
				d.errorAt(item.KeyExpr.Range(), "Duplicate image price",
					fmt.Sprintf("%s[%q] is already set at %s; give each size one price.", name, key, pos(first)))
				continue
			}
			seen[key] = item.KeyExpr.Range()
			d.checkImageKey(name, key, item.KeyExpr.Range())
			vv, diags := item.ValueExpr.Value(d.ctx)
			d.add(diags)
			if diags.HasErrors() {
				continue
			}
			vv, _ = vv.UnmarkDeep()
			out[key] = d.priceValue(fmt.Sprintf("%s[%q]", name, key), item.ValueExpr.Range(), vv)
		}
		d.checkNotEmpty(name, expr, len(obj.Items))
		return out, true
	}
	v, ok := d.value(expr, false)
	if !ok {
		return nil, false
	}
	cv, ok := d.convertTo(name, expr, v, cty.Map(cty.Number), "a map from image size to US dollars", false)
	if !ok {
		return nil, true
	}
	out := make(map[string]int64, cv.LengthInt())
	for it := cv.ElementIterator(); it.Next(); {
		k, e := it.Element()
		key := k.AsString()
		d.checkImageKey(name, key, expr.Range())
		if e.IsNull() {
			d.errorAt(expr.Range(), "Invalid price for "+name, fmt.Sprintf("%s[%q] must be a number of US dollars.", name, key))
			continue
		}
		out[key] = d.priceValue(fmt.Sprintf("%s[%q]", name, key), expr.Range(), e)
	}
	d.checkNotEmpty(name, expr, cv.LengthInt())
	return out, true
}

func (d *decoder) checkNotEmpty(name string, expr hcl.Expression, n int) {
	if n == 0 {
		d.errorAt(expr.Range(), "Empty "+name, name+` must price at least one image size, or "*" for every size.`)
	}
}

// checkImageKey accepts "*", "SIZE" and "SIZE/QUALITY". Sizes are kept
// loose (vendors use "1024x1024", "16:9" and more); the check only stops
// shapes the price lookup could never match.
func (d *decoder) checkImageKey(name, key string, rng hcl.Range) {
	if validImageKey(key) {
		return
	}
	d.errorAt(rng, "Invalid image price key",
		fmt.Sprintf(`%s key %q must be "*", a size such as "1024x1024", or a size and quality such as "1024x1024/hd", without spaces.`, name, key))
}

func validImageKey(key string) bool {
	if key == "*" {
		return true
	}
	size, quality, hasQuality := cutByte(key, '/')
	if size == "" || (hasQuality && quality == "") {
		return false
	}
	for _, r := range key {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	_, _, extra := cutByte(quality, '/')
	return !extra
}

func cutByte(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
