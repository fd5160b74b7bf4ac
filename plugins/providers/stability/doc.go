// Command oneflow-provider-stability is the OneFlow provider plugin for
// Stability AI's image generation API.
//
// Model ids choose the endpoint:
//
//	stable-image-ultra             POST /v2beta/stable-image/generate/ultra
//	stable-image-core              POST /v2beta/stable-image/generate/core
//	sd3*, sd3.5* (e.g. sd3.5-large) POST /v2beta/stable-image/generate/sd3, model=<id>
//	stable-diffusion-xl-1024-v1-0  POST /v1/generation/stable-diffusion-xl-1024-v1-0/text-to-image
//
// The v2beta endpoints take multipart/form-data and answer with one image
// per call, so a request for N images makes N calls. ImageRequest.Size
// ("WIDTHxHEIGHT") is translated to the nearest aspect ratio the vendor
// accepts. Settings read from the provider block's options:
//
//	accept = "application/json"   ask v2beta for base64 JSON instead of raw bytes
//
// Without a read_timeout the plugin waits up to two minutes for the
// vendor's response headers, not the sdk's 30 seconds: they arrive only
// once the image is made.
//
// An image the vendor marks CONTENT_FILTERED (delivered blurred) is not
// returned: the call fails with KindInvalidRequest, because a blurred image
// is not what the client asked for and the same prompt would be filtered
// again. Images already generated for the same request are reported as
// partial usage.
package main
