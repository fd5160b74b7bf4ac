// Package apidocs holds OneFlow's OpenAPI 3.0 document and serves it with
// two viewers, Swagger UI and ReDoc, from files embedded in the binary.
//
// The document (openapi.yaml) is the contract of the HTTP API: every route,
// its request and response schemas, its errors in OpenAI's shape and the
// least role it needs (the x-oneflow-role extension: public, viewer, member
// or admin). New parses and validates it once, so a broken document stops
// the server at start rather than confusing a client later, and keeps the
// JSON form ready to serve.
//
// The handlers are plain net/http handlers that look at the whole request
// path, so the server mounts them without stripping a prefix, for GET and
// HEAD; with gin, for example:
//
//	e.GET(apidocs.SpecPath, gin.WrapH(d.SpecHandler()))
//	e.GET(apidocs.SwaggerUIPath, gin.WrapH(d.SwaggerUI()))
//	e.GET(apidocs.SwaggerUIPath+"/*file", gin.WrapH(d.SwaggerUI()))
//	e.GET(apidocs.ReDocPath, gin.WrapH(d.ReDoc()))
//	e.GET(apidocs.ReDocPath+"/*file", gin.WrapH(d.ReDoc()))
//
// Unknown files answer 404 and other methods 405, in OpenAI's error shape.
// Assets are linked with a content hash (?v=...) and cached for good; the
// pages and the document are revalidated with their ETag.
//
// The viewer pages load every script from a file (no inline script), so they
// run under ContentSecurityPolicy, which the handlers set themselves.
//
// Validator checks real requests and responses against the document; the
// server's tests use it so the document and the handlers cannot drift apart.
package apidocs
