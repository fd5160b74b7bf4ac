// Command oneflow-strategy-quality is the OneFlow routing strategy that
// sends each request to the highest-quality eligible model.
//
// Candidates are ordered by their configured quality score, highest first;
// equal scores go to the cheaper estimate, then provider/model so the
// decision is deterministic. Every eligible candidate is returned, so lower
// quality models serve as fallbacks.
package main
