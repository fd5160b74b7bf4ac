// Package provider is what a OneFlow provider plugin is written against.
//
// A provider plugin translates one vendor's API: it receives normalized
// requests (chat, embeddings, images, speech), calls the vendor and reports
// what the vendor measured (tokens, characters, images). It never computes
// money and never sees OneFlow's users; the core does both.
//
// A plugin implements [Provider] plus any of the optional interfaces
// ([Chatter], [ChatStreamer], [Embedder], [ImageGenerator], [Speaker],
// [TokenCounter]) and calls [Serve] from main:
//
//	func main() { provider.Serve(&myProvider{}) }
//
// The sdk derives the plugin's capabilities from those interfaces.
// Abilities that live in request and answer fields instead, function
// calling ([CapTools]) and JSON mode ([CapResponseFormat]), are declared in
// [Info.Capabilities]; the core sends requests that need them only to
// plugins that declare them.
//
// Requests and responses are plain Go structs so that fields can be added
// without breaking existing plugins.
package provider
