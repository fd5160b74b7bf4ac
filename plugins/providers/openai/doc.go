// Command oneflow-provider-openai is OneFlow's provider plugin for OpenAI's
// REST API and for servers that speak its dialect (vLLM, Ollama, llama.cpp,
// LM Studio) when given their base URL.
//
// It offers chat (whole and streamed), embeddings, image generation and
// speech. It reports what the vendor measured and, where a compatible
// server leaves usage out or a stream is cut short, an estimate of about
// four characters per token marked Usage.Estimated, so that the core can
// still bill what was consumed. The prompt tokens OpenAI served from its
// prompt cache (prompt_tokens_details.cached_tokens) are reported as
// Usage.CachedInputTokens, for the core to bill at the cached-input price.
//
// The core starts it as a go-plugin process; it is not meant to be run by
// hand.
package main
