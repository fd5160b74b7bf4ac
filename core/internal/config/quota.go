package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// Quota caps what each project may spend on one provider per UTC day and
// per calendar month, in micro-credits; 0 means no cap.
type Quota struct {
	Provider            string
	DailyMicroCredits   int64
	MonthlyMicroCredits int64
	Range               hcl.Range
}

type rawQuota struct {
	DailyCredits   hcl.Expression `hcl:"daily_credits,optional"`
	MonthlyCredits hcl.Expression `hcl:"monthly_credits,optional"`
}

// decodeQuota reads quota "PROVIDER" { daily_credits = 50 monthly_credits = 1000 }.
// Credit amounts are decimals with at most six decimal places, like prices.
func (d *decoder) decodeQuota(block *hcl.Block) (Quota, bool) {
	if !d.checkName(block) {
		return Quota{}, false
	}
	var raw rawQuota
	d.decodeBody(block, &raw)
	q := Quota{Provider: block.Labels[0], Range: block.DefRange}
	if daily, set := d.credits("daily_credits", raw.DailyCredits); set {
		q.DailyMicroCredits = daily
	}
	if monthly, set := d.credits("monthly_credits", raw.MonthlyCredits); set {
		q.MonthlyMicroCredits = monthly
	}
	if q.DailyMicroCredits == 0 && q.MonthlyMicroCredits == 0 {
		d.warnAt(block.DefRange, "Quota sets no limit",
			fmt.Sprintf("quota %q sets neither daily_credits nor monthly_credits, so it limits nothing.", q.Provider))
	}
	return q, true
}

// credits reads an exact amount of credits; the conversion is the same as
// for a USD price (six decimal places, never a float).
func (d *decoder) credits(name string, expr hcl.Expression) (int64, bool) {
	if expr == nil || expr.Range().Empty() {
		return 0, false
	}
	v, ok := d.value(expr, false)
	if !ok || v.IsNull() {
		return 0, false
	}
	return d.priceValue(name, expr.Range(), v), true
}

// checkQuotas refuses a quota for an undeclared provider and two quotas
// for the same one.
func (d *decoder) checkQuotas(cfg *Config) {
	seen := map[string]bool{}
	for _, q := range cfg.Quotas {
		if _, ok := cfg.Provider(q.Provider); !ok {
			d.errorAt(q.Range, "Quota for an unknown provider",
				fmt.Sprintf("quota %q names no provider block; quotas are per provider, e.g. quota \"openai\".", q.Provider))
		}
		if seen[q.Provider] {
			d.errorAt(q.Range, "Duplicate quota", fmt.Sprintf("provider %q already has a quota block; merge them.", q.Provider))
		}
		seen[q.Provider] = true
	}
}
