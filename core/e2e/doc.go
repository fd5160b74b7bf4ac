// Package e2e tests OneFlow the way a user meets it: the oneflow binary
// and real plugin binaries, built by TestMain, run as processes against a
// fake vendor on loopback; signals, reloads and crashes are real.
package e2e
