// Package gctune sets a plugin's garbage-collector target.
package gctune

import (
	"os"
	"runtime/debug"
)

// Percent is a plugin's GOGC unless the environment sets one (the host
// passes GOGC through). A plugin's live heap is a few MB, so at Go's
// default of 100 it would collect several times a second under load, each
// cycle competing for the CPU it shares with the host; at 400 the heap
// stays in the tens of MB and cycles are four times rarer.
const Percent = 400

// Apply sets Percent when GOGC is not set.
func Apply() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(Percent)
	}
}
