// Package server is OneFlow's HTTP surface: the gin engine, its middleware
// (request id, security headers, body limit, auth), the OpenAI-compatible
// routes, OneFlow's own API and the SSE writer. It is the only package
// that imports gin; handlers translate between HTTP and the gateway.
package server
