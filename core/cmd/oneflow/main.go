// Command oneflow is the OneFlow AI gateway.
package main

import (
	"context"
	"errors"
	"os"

	"github.com/oneflow-ai/oneflow/core/internal/app"
)

func main() {
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
