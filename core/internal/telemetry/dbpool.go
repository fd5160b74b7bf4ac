package telemetry

import (
	"database/sql"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// RegisterDBPool exports the connection pool statistics of one database
// handle as db_pool_* series labelled db=name. stats is called on every
// scrape (pass (*sql.DB).Stats, or gorm's DB().Stats), so the numbers are
// always current and nothing polls in the background.
func RegisterDBPool(reg prometheus.Registerer, name string, stats func() sql.DBStats) error {
	if reg == nil || stats == nil {
		return fmt.Errorf("registering database pool metrics for %q: registerer and stats function are required", name)
	}
	c := newDBPoolCollector(name, stats)
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("registering database pool metrics for %q: %w", name, err)
	}
	return nil
}

type dbPoolCollector struct {
	stats                                             func() sql.DBStats
	open, inUse, idle, waitCount, waitDuration, maxOp *prometheus.Desc
}

func newDBPoolCollector(name string, stats func() sql.DBStats) *dbPoolCollector {
	l := prometheus.Labels{"db": name}
	d := func(metric, help string) *prometheus.Desc { return prometheus.NewDesc(metric, help, nil, l) }
	return &dbPoolCollector{
		stats:        stats,
		open:         d("db_pool_open_connections", "Established connections, in use or idle."),
		inUse:        d("db_pool_in_use", "Connections currently in use."),
		idle:         d("db_pool_idle", "Idle connections."),
		waitCount:    d("db_pool_wait_count_total", "Times a caller waited for a free connection."),
		waitDuration: d("db_pool_wait_duration_seconds_total", "Total time callers waited for a free connection."),
		maxOp:        d("db_pool_max_open", "Configured maximum of open connections (0 is unlimited)."),
	}
}

func (c *dbPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.inUse, c.idle, c.waitCount, c.waitDuration, c.maxOp} {
		ch <- d
	}
}

func (c *dbPoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	emit := func(d *prometheus.Desc, t prometheus.ValueType, v float64) {
		m, err := prometheus.NewConstMetric(d, t, v)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
	}
	emit(c.open, prometheus.GaugeValue, float64(s.OpenConnections))
	emit(c.inUse, prometheus.GaugeValue, float64(s.InUse))
	emit(c.idle, prometheus.GaugeValue, float64(s.Idle))
	emit(c.waitCount, prometheus.CounterValue, float64(s.WaitCount))
	emit(c.waitDuration, prometheus.CounterValue, s.WaitDuration.Seconds())
	emit(c.maxOp, prometheus.GaugeValue, float64(s.MaxOpenConnections))
}
