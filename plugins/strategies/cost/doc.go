// Command oneflow-strategy-cost is the OneFlow routing strategy that sends
// each request to the cheapest eligible model.
//
// Candidates are ordered by the core's estimated cost of the request,
// cheapest first; equal costs go to the higher quality, then the lower
// measured latency (unmeasured last), then provider/model so the decision
// is deterministic. Every eligible candidate is returned, so the more
// expensive ones serve as fallbacks.
package main
