package strategy

import "context"

// Strategy is the interface every routing strategy plugin implements.
type Strategy interface {
	Describe(ctx context.Context) (*Info, error)
	// Route orders the candidates of req, best first. It may drop
	// candidates it deems unfit; it must not invent new ones.
	Route(ctx context.Context, req *Request) (*Decision, error)
}

// Info describes a strategy to the core.
type Info struct {
	Name    string
	Version string
	// PerRequest asks the core to call Route for every request instead of
	// memoizing decisions per request class. It costs a plugin hop per
	// request; set it only when the answer depends on more than the
	// request class and candidate state.
	PerRequest bool
}

// Features describes the request class being routed.
type Features struct {
	// Modality is "text", "embedding", "image" or "audio".
	Modality string
	// InputTokens and OutputTokens are estimates (a bucket's upper bound
	// when decisions are memoized).
	InputTokens  int64
	OutputTokens int64
	// ContextTokens is the context window the request needs.
	ContextTokens int64
	Streaming     bool
	// Capabilities lists abilities the request needs, e.g. "chat_stream".
	Capabilities []string
	// Params carries strategy settings from the core's strategy block,
	// such as balanced weights ("cost_weight" → "0.5").
	Params map[string]string
}

// BreakerState is a candidate's circuit breaker state.
type BreakerState int

// The breaker states, in the same order as the core's metric.
const (
	BreakerClosed BreakerState = iota
	BreakerHalfOpen
	BreakerOpen
)

// Candidate is one model the request could go to.
type Candidate struct {
	Provider string
	Model    string
	Modality string
	// InputMicroUSDPerMTok and OutputMicroUSDPerMTok are prices in
	// micro-USD per million tokens; UnitMicroUSD is the price per unit
	// (image, thousand characters) for non-token modalities.
	InputMicroUSDPerMTok  int64
	OutputMicroUSDPerMTok int64
	UnitMicroUSD          int64
	// EstimatedMicroUSD is the core's estimate of this request's cost on
	// this candidate.
	EstimatedMicroUSD int64
	// Quality is the configured quality score, 0–100.
	Quality       float64
	ContextWindow int64
	Capabilities  []string
	// LatencyEWMAMillis and LatencyP95Millis are live measurements; both
	// are zero and HasLatency false when the core has no data yet.
	LatencyEWMAMillis float64
	LatencyP95Millis  float64
	HasLatency        bool
	// ErrorRate is the recent failure ratio, 0–1.
	ErrorRate float64
	Breaker   BreakerState
}

// Key returns "provider/model", the identity of a candidate.
func (c Candidate) Key() string { return c.Provider + "/" + c.Model }

// Request is what Route receives.
type Request struct {
	Features   Features
	Candidates []Candidate
}

// Choice is one accepted candidate, identified by provider and model.
type Choice struct {
	Provider string
	Model    string
	// Score is the strategy's own figure of merit, for explanation only.
	Score float64
}

// Decision is the strategy's answer: Choices[0] is the primary, the rest
// are fallbacks in order.
type Decision struct {
	Choices []Choice
	Reason  string
}
