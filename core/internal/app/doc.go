// Package app is OneFlow's composition root: it turns a config into a
// running generation (plugin processes, catalog, prices, gateway view),
// swaps generations atomically on reload, drains and retires the old one,
// and implements the CLI verbs behind core/cmd/oneflow.
package app
