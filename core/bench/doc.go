// Command bench is OneFlow's performance baseline harness: it measures
// what the gateway adds to a request on this machine, next to a floor (a
// bare net/http/httputil.ReverseProxy) in front of the same fake upstream.
//
// Run it from the repository root after `make build`:
//
//	go run ./core/bench -quick              # about 2 minutes, CI smoke
//	go run ./core/bench                     # the full baseline
//	go run ./core/bench -mode rss -soak 10m # leak check
//
// Placement is fixed so numbers mean the same thing run to run: the gateway
// (and the plugins it starts, which inherit its CPU affinity) or the floor
// runs alone on -gateway-cpu; the load generator (this process, re-executed
// under taskset) and the fake upstream share -load-cpu. Every figure is
// reported for four targets: direct to the upstream, the floor, OneFlow
// "bare" (admin key, no rate limits) and OneFlow "governed" (a project key
// with rate limits, credit reservation and usage records). Added latency
// is a target's percentile minus the direct percentile; at fixed rates
// direct runs before and after the others and the lower of its two
// percentiles is subtracted, so one stall in it cannot skew a whole rate.
//
// The cores use the embedded defaults (SQLite, in-process rate limits)
// unless -database-url (a PostgreSQL server: each core gets a fresh
// database, dropped afterwards) or -redis-url is given; those servers run
// outside the cores' process trees, so their CPU is reported apart.
//
// The same binary also runs the helpers it spawns: `bench upstream` (the
// fake OpenAI server) and `bench floor` (the ReverseProxy).
//
// Only the pure parts (percentiles, /proc parsing, SSE timing, the rate
// search, the linear fit, configs and URLs) are unit tested, plus making
// and dropping a database on the test PostgreSQL; `go test` sends no load.
package main
