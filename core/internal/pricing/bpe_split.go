package pricing

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// The pre-tokenizer splits text into pieces exactly as tiktoken-go's
// regular expressions do under github.com/dlclark/regexp2, without running
// a regexp engine (which costs several allocations per piece). The
// patterns, from tiktoken-go's encoding.go, are:
//
//	r50k_base, p50k_base:
//	  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//	cl100k_base:
//	  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//	  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//	o200k_base (joined with |):
//	  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	  \p{N}{1,3}
//	   ?[^\s\p{L}\p{N}]+[\r\n/]*
//	  \s*[\r\n]+
//	  \s+(?!\S)
//	  \s+
//
// regexp2 is a backtracking engine: alternatives are tried left to right,
// greedy quantifiers try their longest run first and give back one rune at
// a time, and the first way that succeeds is the match. Each split function
// below reproduces that search for one pattern, alternative by alternative.
// Every rune is a letter, a number, whitespace or none of them, and each
// pattern has an alternative starting with each of those, so a match always
// starts where the previous one ended and the matches tile the text; a
// split function therefore only has to find where the match starting at i
// ends.
//
// The character classes are regexp2's: \p{X} is Go's unicode.Categories[X]
// and \s is unicode.IsSpace; (?i) compares unicode.ToLower of the input
// rune with the pattern. The text must be valid UTF-8 (see
// replaceInvalidUTF8).

type bpePattern uint8

const (
	patternGPT2 bpePattern = iota + 1
	patternCL100k
	patternO200k
)

func (p bpePattern) splitter() func(string, int) int {
	switch p {
	case patternO200k:
		return splitO200k
	case patternCL100k:
		return splitCL100k
	default:
		return splitGPT2
	}
}

// Rune class bits, one per character class the patterns use.
const (
	clL     = 1 << iota // \p{L}
	clN                 // \p{N}
	clS                 // \s
	clUpper             // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
	clLower             // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
	clOther             // [^\s\p{L}\p{N}]
	clPre               // [^\r\n\p{L}\p{N}]
)

// runeClasses caches the classes of the Basic Multilingual Plane, where
// nearly all text lives, because the category tables are binary searched.
// It is package state only because it is derived from the unicode package
// and identical for every encoding; it holds no pointers and is filled
// once, by the first encoding load.
var (
	runeClassOnce sync.Once
	runeClasses   [1 << 16]uint8
)

func fillRuneClasses() {
	mark := func(bit uint8, tables ...*unicode.RangeTable) {
		for _, t := range tables {
			for _, r := range t.R16 {
				for c := int(r.Lo); c <= int(r.Hi); c += int(r.Stride) {
					runeClasses[c] |= bit
				}
			}
			for _, r := range t.R32 {
				for c := int(r.Lo); c <= int(r.Hi) && c < len(runeClasses); c += int(r.Stride) {
					runeClasses[c] |= bit
				}
			}
		}
	}
	mark(clL, unicode.L)
	mark(clN, unicode.N)
	mark(clS, unicode.White_Space)
	mark(clUpper, unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo, unicode.M)
	mark(clLower, unicode.Ll, unicode.Lm, unicode.Lo, unicode.M)
	for c := range runeClasses {
		runeClasses[c] |= derivedClasses(rune(c), runeClasses[c])
	}
}

// classifyRune is the definition the table is checked against and the
// fallback above the BMP: regexp2's meaning of each class.
func classifyRune(r rune) uint8 {
	var f uint8
	if unicode.Is(unicode.L, r) {
		f |= clL
	}
	if unicode.Is(unicode.N, r) {
		f |= clN
	}
	if unicode.IsSpace(r) {
		f |= clS
	}
	if unicode.In(r, unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo, unicode.M) {
		f |= clUpper
	}
	if unicode.In(r, unicode.Ll, unicode.Lm, unicode.Lo, unicode.M) {
		f |= clLower
	}
	return f | derivedClasses(r, f)
}

func derivedClasses(r rune, f uint8) uint8 {
	var d uint8
	if f&(clS|clL|clN) == 0 {
		d |= clOther
	}
	if f&(clL|clN) == 0 && r != '\r' && r != '\n' {
		d |= clPre
	}
	return d
}

// classAt returns the classes and UTF-8 length of the rune at s[i]. It is
// small enough to inline, which matters because it runs once per rune.
func classAt(s string, i int) (uint8, int) {
	if s[i] < utf8.RuneSelf {
		return runeClasses[s[i]], 1
	}
	return classAtMultibyte(s, i)
}

func classAtMultibyte(s string, i int) (uint8, int) {
	r, size := utf8.DecodeRuneInString(s[i:])
	if r < rune(len(runeClasses)) {
		return runeClasses[r], size
	}
	return classifyRune(r), size
}

// hasClass reports whether there is a rune at s[i] in any of the classes.
func hasClass(s string, i int, class uint8) bool {
	if i >= len(s) {
		return false
	}
	c, _ := classAt(s, i)
	return c&class != 0
}

// span returns the end of the longest run of runes in class from s[i].
func span(s string, i int, class uint8) int {
	for i < len(s) {
		if s[i] < utf8.RuneSelf { // most text; skip the call
			if runeClasses[s[i]]&class == 0 {
				break
			}
			i++
			continue
		}
		c, size := classAtMultibyte(s, i)
		if c&class == 0 {
			break
		}
		i += size
	}
	return i
}

// spanBytes returns the end of the longest run from s[i] of the ASCII
// bytes in set.
func spanBytes(s string, i int, set string) int {
	for i < len(s) && isAnyOf(s[i], set) {
		i++
	}
	return i
}

func isAnyOf(c byte, set string) bool {
	for j := 0; j < len(set); j++ {
		if set[j] == c {
			return true
		}
	}
	return false
}

// contraction returns the length of the match of 's|'t|'re|'ve|'m|'ll|'d at
// s[i], or 0. No alternative is a prefix of another, so their order does
// not matter. fold applies (?i).
func contraction(s string, i int, fold bool) int {
	if i >= len(s) || s[i] != '\'' {
		return 0
	}
	lower := func(j int) (rune, int) {
		if j >= len(s) {
			return -1, 0
		}
		r, size := rune(s[j]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[j:])
		}
		if fold {
			r = unicode.ToLower(r)
		}
		return r, size
	}
	r1, n1 := lower(i + 1)
	var want rune
	switch r1 {
	case 's', 't', 'm', 'd':
		return 1 + n1
	case 'r', 'v':
		want = 'e'
	case 'l':
		want = 'l'
	default:
		return 0
	}
	if r2, n2 := lower(i + 1 + n1); r2 == want {
		return 1 + n1 + n2
	}
	return 0
}

// numbers matches \p{N}{1,3} at s[i], which must be a number.
func numbers(s string, i int) int {
	for k := 0; k < 3 && i < len(s); k++ {
		c, size := classAt(s, i)
		if c&clN == 0 {
			break
		}
		i += size
	}
	return i
}

// whitespace matches \s+(?!\S)|\s+ at s[i], which must be whitespace. The
// greedy run ends at a non-space or the end of the text; at a non-space
// the lookahead fails and the run gives back its last rune, which leaves a
// space ahead, unless that would empty it, and then \s+ takes the run.
func whitespace(s string, i int) int {
	e := span(s, i, clS)
	if e == len(s) {
		return e
	}
	_, size := utf8.DecodeLastRuneInString(s[i:e])
	if e-size > i {
		return e - size
	}
	return e
}

// newlines matches \s*[\r\n]+ at s[i], returning -1 if it does not match.
// The \s* run gives back runes until a \r or \n follows it; the last such
// rune in the run is the first found, and since it is the last, [\r\n]+
// takes just that rune.
func newlines(s string, i int) int {
	e := span(s, i, clS)
	for j := e - 1; j >= i; j-- {
		if s[j] == '\r' || s[j] == '\n' {
			return j + 1
		}
	}
	return -1
}

// splitGPT2 is r50k_base's and p50k_base's pattern.
func splitGPT2(s string, i int) int {
	if n := contraction(s, i, false); n > 0 {
		return i + n
	}
	// ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`: a space is in none of the
	// three classes, so with a leading space only the optional space can
	// take it; the classes are disjoint, so at most one alternative fits.
	j := i
	if s[i] == ' ' {
		j++
	}
	if j < len(s) {
		if c, _ := classAt(s, j); c&(clL|clN|clOther) != 0 {
			return span(s, j, c&(clL|clN|clOther))
		}
	}
	return whitespace(s, i)
}

// splitCL100k is cl100k_base's pattern.
func splitCL100k(s string, i int) int {
	if n := contraction(s, i, true); n > 0 {
		return i + n
	}
	c, size := classAt(s, i)
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c&clPre != 0 && hasClass(s, i+size, clL) {
		return span(s, i+size, clL)
	}
	if c&clL != 0 {
		return span(s, i, clL)
	}
	if c&clN != 0 {
		return numbers(s, i)
	}
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	if j := other(s, i, c); j >= 0 {
		return spanBytes(s, span(s, j, clOther), "\r\n")
	}
	if j := newlines(s, i); j >= 0 {
		return j
	}
	return whitespace(s, i)
}

// other returns where [^\s\p{L}\p{N}]+ starts for ` ?[^\s\p{L}\p{N}]+` at
// s[i], whose classes are c, or -1 if that does not match.
func other(s string, i int, c uint8) int {
	if s[i] == ' ' && hasClass(s, i+1, clOther) {
		return i + 1
	}
	if c&clOther != 0 {
		return i
	}
	return -1
}

// splitO200k is o200k_base's pattern.
func splitO200k(s string, i int) int {
	c, size := classAt(s, i)
	// [^\r\n\p{L}\p{N}]? is greedy: each letter alternative first tries
	// with the optional rune taken, then without.
	if c&clPre != 0 {
		if j := o200kLowerWord(s, i+size); j >= 0 {
			return j
		}
	}
	if j := o200kLowerWord(s, i); j >= 0 {
		return j
	}
	if c&clPre != 0 {
		if j := o200kUpperWord(s, i+size); j >= 0 {
			return j
		}
	}
	if j := o200kUpperWord(s, i); j >= 0 {
		return j
	}
	if c&clN != 0 {
		return numbers(s, i)
	}
	// ` ?[^\s\p{L}\p{N}]+[\r\n/]*`
	if j := other(s, i, c); j >= 0 {
		return spanBytes(s, span(s, j, clOther), "\r\n/")
	}
	if j := newlines(s, i); j >= 0 {
		return j
	}
	return whitespace(s, i)
}

// o200kLowerWord matches U*W+C? at s[i] (U, W the upper and lower classes,
// C the contractions), returning -1 if it does not match. U* is greedy:
// it gives back runes from the end of its run until a W rune follows; W+
// then takes its longest run and C? cannot fail.
func o200kLowerWord(s string, i int) int {
	e := span(s, i, clUpper)
	for p := e; ; {
		if hasClass(s, p, clLower) {
			q := span(s, p, clLower)
			return q + contraction(s, q, true)
		}
		if p == i {
			return -1
		}
		_, size := utf8.DecodeLastRuneInString(s[i:p])
		p -= size
	}
}

// o200kUpperWord matches U+W*C? at s[i], returning -1 if it does not
// match. Once U+ has one rune nothing after it can fail, so the greedy
// runs are the match.
func o200kUpperWord(s string, i int) int {
	e := span(s, i, clUpper)
	if e == i {
		return -1
	}
	q := span(s, e, clLower)
	return q + contraction(s, q, true)
}
