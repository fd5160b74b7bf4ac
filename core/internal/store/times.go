package store

import "time"

// dbTime normalizes a time for storage: UTC, microsecond precision.
//
// Why: PostgreSQL keeps microseconds, so truncating here makes a value read
// back equal to the value written on both databases. On SQLite times are
// stored as text ("2006-01-02 15:04:05.999999999-07:00"); with every value in
// UTC the text sorts and compares exactly like the instants it encodes (the
// fraction's trailing zeros are dropped, but '+' sorts before any digit, so
// "…:05+00:00" < "…:05.1+00:00" < "…:05.15+00:00"). Comparisons in WHERE
// clauses and the rollup key rely on that, so every time bound to a query
// must go through dbTime.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// dbTimePtr is dbTime for nullable columns.
func dbTimePtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := dbTime(*t)
	return &v
}
