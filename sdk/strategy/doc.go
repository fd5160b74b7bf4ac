// Package strategy is what a OneFlow routing strategy plugin is written
// against.
//
// The core sends a [Request]: the features of one request class and the
// candidate models with their price, quality, live latency, error rate and
// breaker state. The strategy answers with a [Decision]: the candidates it
// accepts, best first, and a reason. The core filters out candidates that
// are unconfigured or whose breaker is open before asking, and memoizes the
// answer per request class unless [Info].PerRequest is set.
//
//	func main() { strategy.Serve(&cheapest{}) }
package strategy
