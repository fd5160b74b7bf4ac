package telemetry

import (
	"cmp"
	"slices"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// MaxProjectBalanceSeries caps oneflow_project_balance_credits. Projects
// are unbounded in number; the exported ones are the lowest balances, which
// are the only ones a "credits near exhaustion" alert cares about.
const MaxProjectBalanceSeries = 50

// ProjectBalance is one project's remaining credits in the ledger's exact
// unit.
type ProjectBalance struct {
	Project      string
	MicroCredits int64
}

// balanceCollector exports a snapshot replaced as a whole, so a scrape sees
// either the old set or the new one, never a half-reset gauge vector.
type balanceCollector struct {
	desc *prometheus.Desc
	snap atomic.Pointer[[]ProjectBalance]
}

func newBalanceCollector() *balanceCollector {
	return &balanceCollector{
		desc: prometheus.NewDesc("oneflow_project_balance_credits",
			"Remaining credits of the projects with the lowest balances (at most 50 series).",
			[]string{"project"}, nil),
	}
}

func (c *balanceCollector) set(b []ProjectBalance) {
	s := slices.Clone(b)
	// A project listed twice keeps its lowest balance: the conservative
	// figure for an exhaustion alert.
	slices.SortFunc(s, func(x, y ProjectBalance) int {
		if r := cmp.Compare(x.Project, y.Project); r != 0 {
			return r
		}
		return cmp.Compare(x.MicroCredits, y.MicroCredits)
	})
	s = slices.CompactFunc(s, func(x, y ProjectBalance) bool { return x.Project == y.Project })
	slices.SortStableFunc(s, func(x, y ProjectBalance) int { return cmp.Compare(x.MicroCredits, y.MicroCredits) })
	if len(s) > MaxProjectBalanceSeries {
		s = s[:MaxProjectBalanceSeries]
	}
	c.snap.Store(&s)
}

func (c *balanceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *balanceCollector) Collect(ch chan<- prometheus.Metric) {
	p := c.snap.Load()
	if p == nil {
		return
	}
	for _, b := range *p {
		m, err := prometheus.NewConstMetric(c.desc, prometheus.GaugeValue, float64(b.MicroCredits)/1e6, b.Project)
		if err != nil {
			// An invalid label value (not UTF-8) is reported on the
			// scrape instead of panicking or vanishing silently.
			m = prometheus.NewInvalidMetric(c.desc, err)
		}
		ch <- m
	}
}
