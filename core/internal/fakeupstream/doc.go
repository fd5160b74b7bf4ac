// Package fakeupstream is a fast, fault-injecting OpenAI-compatible server
// for tests and benchmarks. It answers POST /chat/completions (whole and
// streamed, with the usage chunk OpenAI sends when asked) and
// /embeddings with the shapes of OpenAI's API reference, and can add
// latency, errors, 429 bursts with Retry-After, hangs and connection
// resets. It counts requests and the ones whose client went away.
package fakeupstream
