// Command oneflow-strategy-latency is the OneFlow routing strategy that
// sends each request to the fastest eligible model.
//
// Candidates whose breaker is closed come before those whose breaker is
// half-open (still being probed after a failure). Within each group,
// candidates with live latency data come first, by EWMA latency and then
// p95; candidates the core has not measured yet rank after every measured
// one, because an unknown latency is a risk rather than a promise, and
// among themselves go cheapest first. provider/model breaks any remaining
// tie so the decision is deterministic. Every eligible candidate is
// returned, so slower ones serve as fallbacks.
package main
