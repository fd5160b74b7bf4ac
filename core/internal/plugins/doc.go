// Package plugins hosts OneFlow's plugin processes with go-plugin: it
// launches them (gRPC only, AutoMTLS, optional checksum), supervises them
// (exit detection, health checks, restart with capped exponential backoff
// and jitter), counts calls in flight so a retiring set can drain, and kills
// every process it started. It does not use go-plugin's Managed mode, whose
// global client list outlives reloads; each Instance owns its client.
package plugins
