// Command oneflow-provider-anthropic is OneFlow's provider plugin for
// Anthropic's Messages API (POST /v1/messages, API version 2023-06-01).
//
// It translates OneFlow's normalized chat requests into Anthropic's wire
// format and back: system messages become the top-level "system" string,
// consecutive turns of one role are merged because Anthropic requires user
// and assistant turns to alternate, max_tokens (required by Anthropic) falls
// back to a configurable default, and stop reasons are mapped to OpenAI's
// vocabulary. Tools become Anthropic tools (input_schema), tool calls in the
// history tool_use blocks, tool results tool_result blocks in a user turn,
// and tool_use blocks in the answer OpenAI-style tool calls. Streams are
// read as server-sent events and relayed one chunk per text or tool-input
// delta, with the vendor's usage on the last chunk; a stream cut short
// reports the usage consumed so far in the returned *provider.Error.
// Usage's input tokens are the whole prompt: Anthropic's input_tokens plus
// its cache reads and writes, which are also reported on their own
// (CachedInputTokens, CacheWriteTokens) so that the core can price them.
// Seed and the presence and frequency penalties have no Anthropic
// equivalent and are not sent.
//
// Settings (provider.Config) it uses:
//
//	APIKey                         required; without it every call fails with KindUnconfigured
//	BaseURL                        default https://api.anthropic.com
//	ConnectTimeout, ReadTimeout    see vendorhttp.NewClient
//	Options["default_max_tokens"]  max_tokens sent when a request sets none (default 4096)
//
// The plugin writes nothing to stdout: that stream carries the go-plugin
// handshake.
package main
