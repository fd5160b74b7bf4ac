// Command oneflow-provider-openai is OneFlow's provider plugin for OpenAI's
// REST API and for servers that speak its dialect (vLLM, Ollama, llama.cpp,
// LM Studio) when given their base URL.
//
// It offers chat (whole and streamed), embeddings, image generation and
// speech. It reports what the vendor measured and, where a compatible
// server leaves usage out or a stream is cut short, an estimate of about
// four characters per token marked Usage.Estimated, so that the core can
// still bill what was consumed.
//
// The core starts it as a go-plugin process; it is not meant to be run by
// hand.
package main
