// Package strategykit holds the pure helpers that routing strategy plugins
// share, so each strategy is only its ordering rule.
//
// A strategy's Route is typically:
//
//	cands, rej := strategykit.Filter(req)
//	if len(cands) == 0 {
//		return &strategy.Decision{Reason: rej.Reason()}, nil
//	}
//	strategykit.SortStable(cands, byMyRule, strategykit.ByKey)
//	return strategykit.Ordered(cands, myScore, myReason), nil
//
// [Filter] drops candidates that cannot serve the request (wrong modality,
// too small a context window, a missing capability, an open breaker) and
// counts why, so that "no candidate" comes with an explanation rather than
// an error. The core filters too; doing it again here is defence in depth
// and keeps third-party strategies honest. Ordering helpers are stable and
// end in [ByKey], so a decision never depends on the order the core listed
// candidates in, which matters because the core memoizes decisions.
package strategykit
