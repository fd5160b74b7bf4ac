// Package config loads oneflow.hcl into a validated Config.
//
// Load (a path) and Parse (bytes) decode the file with hclsyntax and gohcl
// into private raw structs whose attributes stay unevaluated expressions,
// then evaluate each one with the functions below, apply the defaults,
// parse durations, sizes and prices, and check the file as a whole. All
// problems come back together as hcl.Diagnostics whose Subject ranges
// point at file:line:col; WriteDiagnostics prints them one per line. The
// returned *Config is never nil: on errors it is incomplete, and only
// Path, BaseDir and Sources (the parsed bytes, for diagnostics) are
// meaningful.
//
// # Functions
//
//   - env("NAME") is the variable's value; it is an error when NAME is
//     unset (set but empty yields "").
//   - env("NAME", "default") yields the default when NAME is unset or empty.
//   - file("path") is a regular file's contents (at most 1 MiB) with one
//     trailing newline removed; relative paths start at the base directory.
//
// env() returns strings; attributes typed as numbers or booleans accept
// the string forms ("20", "false") through cty's conversions.
//
// # Values
//
// Durations are Go duration strings ("30s", "1h30m"). body_limit is a size:
// a whole number of bytes, optionally with a unit, where KB, MB and GB are
// powers of 1000 and KiB, MiB and GiB powers of 1024 ("10MB" = 10 000 000).
//
// Prices are US dollars: input_price and output_price per million tokens,
// per_1k_chars per thousand characters, image_prices per image keyed by
// "SIZE", "SIZE/QUALITY" or "*". A text model may add cached_input_price
// and cache_write_price, per million prompt tokens the vendor read from or
// wrote to its prompt cache; they need input_price, and when one is left
// out those tokens cost input_price. They become int64 micro-USD exactly,
// without float64: HCL keeps numbers as 512-bit big.Floats, whose shortest
// round-tripping decimal form is what the user wrote; that decimal text is
// parsed digit by digit. Negative prices and prices finer than one
// micro-USD are errors. A model with any price attribute, even an explicit
// 0, is Priced. Its PriceVersion is "<effective date>#<8 hex>" (or
// "undated#..." without an effective date), a hash over the modality and
// every price, so editing a price always yields a new version.
//
// # Defaults
//
// Omitted attributes and blocks take the values shipped in oneflow.hcl; a
// provider's or strategy's plugin defaults to its own name, a model's
// modality to "text". A file that declares no strategies and does not set
// routing.default_strategy is valid: the router then uses its built-in
// order.
//
// # Secrets
//
// api_key, admin_key, jwt_secret, storage.database_url and redis.url are
// never included in diagnostics, and diagnostics about them carry no
// expression or evaluation context that a renderer could print values
// from. WriteDiagnostics prints no source snippets for the same reason.
//
// Overriding the listen address from ONEFLOW_LISTEN is the CLI's job, not
// this package's.
package config
