// Package pricing turns measured usage into money, exactly.
//
// # Units
//
// Prices are int64 micro-USD: per million tokens (input and output), per
// image (keyed "SIZE/QUALITY", "SIZE" or "*") and per thousand characters.
// Costs are int64 micro-credits, where one credit is 1,000,000
// micro-credits and credits = USD × creditsPerUSD (100 unless configured).
// No float ever holds money in this package.
//
// # Prompt cache
//
// A vendor that serves part of a prompt from its prompt cache bills those
// tokens at its own rate, and one that writes a prompt to the cache may
// bill that at another. [Usage].InputTokens is the whole prompt, and
// CachedInputTokens and CacheWriteTokens are parts of it, so the input
// cost is
//
//	(input − cached − writes) × input price
//	  + cached × cached-input price + writes × cache-write price
//
// A model without a cached-input or cache-write price bills those tokens at
// its input price, which makes the formula the plain input × input price.
// Counts that cannot be parts of the input are ignored (see [Compute]).
// Before a call nobody knows how much of the prompt the vendor will serve
// from its cache, so a credit hold prices all of it at the dearer of the
// input and cached-input rates ([Table.MaxCost]); cache writes, which
// OneFlow's requests never ask for, are not reserved for.
//
// # Rounding
//
// A cost is computed as one exact integer in pico-USD (10⁻¹² USD, the
// smallest unit in which every price × quantity product is whole), in
// 128-bit arithmetic so that no realistic usage overflows on the way. It is
// converted to micro-credits once, rounding up (ceil) to the micro-credit,
// so that the gateway never under-bills; when the division is exact there is
// no rounding at all and [Cost].Exact is true. Rounding the total once
// instead of each part means a request is over-billed by less than one
// micro-credit (10⁻⁸ USD at 100 credits per USD). [Cost].MicroUSD is the
// same figure in micro-USD, also rounded up; the micro-credit figure is the
// canonical one that the ledger debits. A result that does not fit in int64
// is reported as [ErrOverflow], never wrapped around.
//
// # Formatting
//
// [FormatCredits] and [ParseCredits] convert micro-credits to and from
// plain decimal strings ("7.5", "-1.25", "0.000015") and round-trip
// exactly. [FormatUSD] prints the exact USD value of a micro-credit amount;
// the decimal terminates whenever creditsPerUSD has no prime factors other
// than 2 and 5 (such as the default 100), and is otherwise rounded to 12
// fractional digits, half away from zero.
//
// # Token counting
//
// [Counter] estimates the tokens of a prompt before the request is sent,
// so credits can be reserved and a route chosen. For OpenAI encodings
// (o200k_base, cl100k_base, p50k_base, r50k_base) it runs its own byte-pair
// encoder over tiktoken's rank files, which are compiled into the binary
// (from tiktoken-go-loader), so no network is ever touched. It counts
// exactly what tiktoken-go's EncodeOrdinary would return: the text is split
// with each encoding's pre-tokenizer pattern, reimplemented by hand with
// regexp2's backtracking semantics and Go's Unicode tables, and each piece
// is merged pair by pair, lowest rank first, as tiktoken does; tests compare
// it with tiktoken-go token for token. The rank tables are kept in a few
// large pointer-free arrays (token bytes, offsets, an open-addressing hash
// table) rather than maps and strings, so that the garbage collector never
// has to walk them, and counting does not allocate. It then adds OpenAI's
// documented chat overhead: 3 tokens per message, 1 more when a message
// has a name, and 3 to prime the reply (OpenAI cookbook, "How to count
// tokens with tiktoken",
// https://github.com/openai/openai-cookbook/blob/main/examples/How_to_count_tokens_with_tiktoken.ipynb).
// For other vendors (encoding "") it uses OpenAI's rule of thumb that a
// token is about four characters of English text (OpenAI help center,
// "What are tokens and how to count them?",
// https://help.openai.com/en/articles/4936856-what-are-tokens-and-how-to-count-them):
// ceil(runes / 4) per string,
// with the same per-message overhead. Either way the estimate only sizes
// the reservation; settlement uses the usage the vendor reports.
package pricing
