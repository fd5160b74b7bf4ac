// Command oneflow-strategy-balanced is the OneFlow routing strategy that
// weighs cost, latency and quality together.
//
// Each eligible candidate scores
//
//	(wc·(1 − cost) + wl·(1 − latency) + wq·quality) · (1 − error rate)
//
// where cost, latency and quality are min-max normalised to 0–1 over the
// eligible candidates (0.5 for all when they are all equal), and the
// weights come from the strategy block's params cost_weight,
// latency_weight and quality_weight (defaults 0.4, 0.3, 0.3; each must be a
// number ≥ 0, not all zero; they are scaled to sum to 1, so "2, 1, 1" means
// "0.5, 0.25, 0.25"). A candidate with no latency data yet is treated as
// the slowest measured one (or 0.5 when nothing is measured): unknown
// latency must not look fast. Higher scores go first; equal scores are
// ordered by provider/model so the decision is deterministic.
package main
