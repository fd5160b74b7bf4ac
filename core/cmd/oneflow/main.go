// Command oneflow is the OneFlow AI gateway.
package main

import (
	"context"
	"errors"
	"os"
	"runtime/debug"

	"github.com/oneflow-ai/oneflow/core/internal/app"
)

// gcPercent is the core's GOGC unless the environment sets one. The core's
// live heap is small (tens of MB), so at Go's default of 100 it collects
// about once a second under load, and on a busy single CPU each cycle shows
// in the p99 (see BENCHMARKS.md). The heap grows to about five times the
// live data instead of twice; GOMEMLIMIT still caps it.
const gcPercent = 400

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	err := app.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, app.ErrUsage):
		os.Exit(2)
	default:
		os.Stderr.WriteString("oneflow: " + err.Error() + "\n")
		os.Exit(1)
	}
}
