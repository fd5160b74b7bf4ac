package pricing

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go-loader/assets"
)

// bpeEncoding is one tiktoken encoding: its rank table and the
// pre-tokenizer pattern it is used with.
//
// Every field is a scalar or a slice of a pointer-free element type, so
// the garbage collector allocates the backing arrays as "noscan" and never
// walks them: the whole table is three large allocations that cost the
// mark phase nothing, instead of the hundreds of thousands of map entries
// and strings that tiktoken-go keeps (TestBPETableIsPointerFree guards
// this).
type bpeEncoding struct {
	// blob holds the bytes of every token, concatenated in rank order.
	blob []byte
	// offs[r]:offs[r+1] is token r within blob. Ranks that the file does
	// not define (p50k_base has a hole where <|endoftext|> sits) are empty
	// spans, which no lookup key can equal.
	offs []uint32
	// slots is an open-addressing hash table from token bytes to rank:
	// each slot holds rank+1 in its low rankBits bits (0 means empty) and
	// other bits of the key's hash above them, so that a probe can reject
	// a different key without reading offs and blob, two more cache
	// misses. Collisions probe linearly. Its size is a power of two at
	// least twice the number of tokens, so a miss ends after a probe or
	// two.
	slots []uint32
	// shift turns a 64-bit hash into a slot index by keeping its top
	// bits, which the final mixing step of bpeHash spreads best.
	shift    uint8
	rankBits uint8
	pat      bpePattern
}

// noRank marks a pair whose concatenation is not a token. It is larger
// than every real rank, so a minimum search needs no special case.
const noRank = ^uint32(0)

// loadBPE parses the named encoding from the rank files compiled into the
// binary by tiktoken-go-loader. The names are the ones tiktoken-go knows;
// p50k_edit shares p50k_base's ranks and pattern and differs only in
// special tokens, which ordinary counting never produces.
func loadBPE(name string) (*bpeEncoding, error) {
	var file string
	var pat bpePattern
	switch name {
	case "o200k_base":
		file, pat = "o200k_base.tiktoken", patternO200k
	case "cl100k_base":
		file, pat = "cl100k_base.tiktoken", patternCL100k
	case "p50k_base", "p50k_edit":
		file, pat = "p50k_base.tiktoken", patternGPT2
	case "r50k_base":
		file, pat = "r50k_base.tiktoken", patternGPT2
	default:
		return nil, errors.New("unknown encoding")
	}
	data, err := assets.Assets.ReadFile(file)
	if err != nil {
		return nil, err
	}
	enc, err := parseRanks(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	enc.pat = pat
	// The pre-tokenizer reads the rune class table; filling it here makes
	// the fill happen before any count with this encoding (callers reach
	// the encoding only through the Once that ran this load).
	runeClassOnce.Do(fillRuneClasses)
	return enc, nil
}

// maxRanks bounds the table a rank file can make us allocate. The largest
// OpenAI encoding has about 200,000 tokens.
const maxRanks = 1 << 24

// parseRanks reads a .tiktoken file: one "base64(token) rank" per line.
//
// It makes three passes over the text (find the largest rank, measure each
// token, then decode) so that the blob, offsets and hash table are each
// allocated once at their final size; nothing else outlives the call.
func parseRanks(data []byte) (*bpeEncoding, error) {
	maxRank, ntok := -1, 0
	for pos := 0; pos < len(data); {
		tok, rank, next, err := rankLine(data, pos)
		if err != nil {
			return nil, err
		}
		pos = next
		if tok == nil {
			continue
		}
		ntok++
		maxRank = max(maxRank, int(rank))
	}
	if ntok == 0 {
		return nil, errors.New("no tokens")
	}

	offs := make([]uint32, maxRank+2)
	for pos := 0; pos < len(data); {
		tok, rank, next, _ := rankLine(data, pos)
		pos = next
		if tok == nil {
			continue
		}
		if offs[rank+1] != 0 {
			// tiktoken-go rejects this too: its decoder would have fewer
			// entries than its encoder.
			return nil, fmt.Errorf("rank %d defined twice", rank)
		}
		offs[rank+1] = uint32(decodedLen(tok))
	}
	var total uint64
	for r := 1; r < len(offs); r++ {
		total += uint64(offs[r])
		if total > 1<<32-1 {
			return nil, errors.New("tokens too large")
		}
		offs[r] = uint32(total)
	}

	e := &bpeEncoding{blob: make([]byte, total), offs: offs}
	size := 1 << bits.Len(uint(2*ntok-1)) // smallest power of two ≥ 2·ntok
	e.slots = make([]uint32, size)
	e.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	e.rankBits = uint8(bits.Len32(uint32(maxRank) + 1))
	for pos := 0; pos < len(data); {
		tok, rank, next, _ := rankLine(data, pos)
		pos = next
		if tok == nil {
			continue
		}
		dst := e.blob[offs[rank]:offs[rank+1]]
		if n, err := base64.StdEncoding.Decode(dst, tok); err != nil || n != len(dst) {
			return nil, fmt.Errorf("rank %d: bad base64 %q", rank, tok)
		}
		e.insert(dst, rank)
	}
	return e, nil
}

// rankLine parses the line at data[pos:]. It returns a nil token for a
// blank line, which tiktoken-go skips as well.
func rankLine(data []byte, pos int) (tok []byte, rank uint32, next int, err error) {
	end := pos
	for end < len(data) && data[end] != '\n' {
		end++
	}
	next = end + 1
	line := data[pos:end]
	if len(line) == 0 {
		return nil, 0, next, nil
	}
	sp := 0
	for sp < len(line) && line[sp] != ' ' {
		sp++
	}
	if sp == 0 || sp+1 >= len(line) {
		return nil, 0, next, fmt.Errorf("malformed line %q", line)
	}
	var r uint64
	for _, c := range line[sp+1:] {
		if c < '0' || c > '9' {
			return nil, 0, next, fmt.Errorf("malformed rank in line %q", line)
		}
		r = r*10 + uint64(c-'0')
		if r >= maxRanks {
			return nil, 0, next, fmt.Errorf("rank too large in line %q", line)
		}
	}
	tok = line[:sp]
	if len(tok)%4 != 0 || decodedLen(tok) == 0 {
		return nil, 0, next, fmt.Errorf("bad base64 in line %q", line)
	}
	return tok, uint32(r), next, nil
}

// decodedLen is the exact decoded length of padded standard base64.
func decodedLen(b64 []byte) int {
	n := len(b64) / 4 * 3
	for i := len(b64) - 1; i >= 0 && i >= len(b64)-2 && b64[i] == '='; i-- {
		n--
	}
	return n
}

// bpeHash is a word-at-a-time multiplicative hash. Keys are short (most
// tokens are under eight bytes), so FNV's byte loop would be the slower
// choice; the final mix makes the top bits, which index the table, depend
// on every input byte.
func bpeHash[T string | []byte](s T) uint64 {
	h := uint64(len(s)) * 0x9e3779b97f4a7c15
	for len(s) >= 8 {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = bits.RotateLeft64((h^w)*0xbf58476d1ce4e5b9, 31)
		s = s[8:]
	}
	var w uint64
	for i := 0; i < len(s); i++ {
		w |= uint64(s[i]) << (8 * i)
	}
	h = (h ^ w) * 0x94d049bb133111eb
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return h
}

// slot returns where the hash h starts probing and the tag bits a slot
// holding a key with that hash has. When ranks need all 32 bits the tag is
// 0 and every probe compares bytes, which is slower but still right.
func (e *bpeEncoding) slot(h uint64) (i, tag uint32) {
	return uint32(h >> e.shift), uint32(h) << e.rankBits
}

// insert adds tok as rank. A token seen twice keeps its later rank, as a
// map assignment in tiktoken-go's loader would.
func (e *bpeEncoding) insert(tok []byte, rank uint32) {
	mask := uint32(len(e.slots) - 1)
	rankMask := uint32(1)<<e.rankBits - 1
	i, tag := e.slot(bpeHash(tok))
	for {
		s := e.slots[i]
		if s == 0 {
			e.slots[i] = tag | (rank + 1)
			return
		}
		if r := s&rankMask - 1; s&^rankMask == tag && string(e.blob[e.offs[r]:e.offs[r+1]]) == string(tok) {
			e.slots[i] = tag | (rank + 1)
			return
		}
		i = (i + 1) & mask
	}
}

// rank returns the rank of the token whose bytes are key, or noRank.
func (e *bpeEncoding) rank(key string) uint32 {
	mask := uint32(len(e.slots) - 1)
	rankMask := uint32(1)<<e.rankBits - 1
	i, tag := e.slot(bpeHash(key))
	for {
		s := e.slots[i]
		if s == 0 {
			return noRank
		}
		if s&^rankMask == tag {
			r := s&rankMask - 1
			a, b := e.offs[r], e.offs[r+1]
			if int(b-a) == len(key) && string(e.blob[a:b]) == key {
				return r
			}
		}
		i = (i + 1) & mask
	}
}

// count returns the number of tokens tiktoken-go's EncodeOrdinary would
// produce for text.
func (e *bpeEncoding) count(text string) int {
	if !utf8.ValidString(text) {
		text = replaceInvalidUTF8(text)
	}
	split := e.pat.splitter()
	n := 0
	for i := 0; i < len(text); {
		j := split(text, i)
		n += e.countPiece(text[i:j])
		i = j
	}
	return n
}

// replaceInvalidUTF8 replaces every byte that is not part of a valid UTF-8
// sequence with U+FFFD. tiktoken-go converts the text to []rune before
// matching and each piece back to a string, which does exactly this, so
// the pieces (and their byte-pair merges) see the replacement character's
// three bytes, not the original byte.
func replaceInvalidUTF8(s string) string {
	buf := make([]byte, 0, len(s)+len(s)/2)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = utf8.AppendRune(buf, utf8.RuneError)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return string(buf)
}

// smallPiece is the longest piece merged with arrays on the stack. Nearly
// every piece is a word or a number, far shorter; the longer ones are runs
// such as unspaced CJK sentences, base64 or minified code.
const smallPiece = 128

// countPiece returns how many tokens the byte-pair merge leaves of p.
func (e *bpeEncoding) countPiece(p string) int {
	if len(p) == 1 {
		return 1 // every byte is a token in all these encodings
	}
	if e.rank(p) != noRank {
		return 1
	}
	if len(p) <= smallPiece {
		return e.mergeSmall(p, nil)
	}
	return e.mergeLarge(p, nil)
}

// mergeSmall is tiktoken's byte_pair_merge, reduced to counting. Part i
// starts at byte start(i); its entry holds the rank of part i joined with
// part i+1 in the high half and start(i) in the low half, so the minimum
// entry is the lowest-ranked pair and, among equal ranks, the leftmost one:
// the order tiktoken merges in.
//
// Counting needs only the number of parts; tests pass ids to also get the
// tokens, so that they can compare whole encodings with tiktoken-go, which
// catches merge-order mistakes that rarely change a count.
func (e *bpeEncoding) mergeSmall(p string, ids *[]uint32) int {
	var parts [smallPiece + 1]uint64
	m := len(p) + 1 // parts, including the end sentinel
	for i := 0; i < m; i++ {
		r := noRank
		if i+2 < m {
			r = e.rank(p[i : i+2])
		}
		parts[i] = uint64(r)<<32 | uint64(i)
	}
	start := func(i int) uint32 { return uint32(parts[i]) }
	for {
		minI, minV := -1, uint64(noRank)<<32
		for i, v := range parts[:m-1] {
			if v < minV {
				minI, minV = i, v
			}
		}
		if minI < 0 {
			if ids != nil {
				for i := 0; i < m-1; i++ {
					*ids = append(*ids, e.rank(p[start(i):start(i+1)]))
				}
			}
			return m - 1
		}
		i := minI
		// Re-rank the merged part and its left neighbour, then drop part
		// i+1; indices are as before the removal, as in tiktoken.
		r := noRank
		if i+3 < m {
			r = e.rank(p[start(i):start(i+3)])
		}
		parts[i] = uint64(r)<<32 | uint64(start(i))
		if i > 0 {
			r := e.rank(p[start(i-1):start(i+2)])
			parts[i-1] = uint64(r)<<32 | uint64(start(i-1))
		}
		copy(parts[i+1:m-1], parts[i+2:m])
		m--
	}
}

// mergeScratch holds mergeLarge's working arrays, reused through a pool
// because long pieces would otherwise allocate several times their length
// on every call.
type mergeScratch struct {
	next, prev []uint32 // linked list of live parts, by start byte
	rank       []uint32 // rank of the pair starting at each live part
	heap       []uint64 // candidate pairs: rank<<32 | start
}

var mergePool = sync.Pool{New: func() any { return new(mergeScratch) }}

// mergeLarge makes the same merges as mergeSmall in O(n log n) rather than
// O(n²), so one long unbroken run cannot make counting quadratic. Parts
// form a linked list indexed by their (fixed) start byte, and candidate
// pairs sit in a min-heap keyed like mergeSmall's entries, so the heap
// yields the same lowest-rank, then leftmost, pair. Entries are never
// removed: one is stale when its rank no longer matches its part's current
// pair rank. A part's pair only ever grows to the right, and distinct byte
// strings have distinct ranks, so a stale entry can never match again.
func (e *bpeEncoding) mergeLarge(p string, ids *[]uint32) int {
	n := len(p)
	s := mergePool.Get().(*mergeScratch)
	defer mergePool.Put(s)
	s.next = grow(s.next, n+1)
	s.prev = grow(s.prev, n+1)
	s.rank = grow(s.rank, n+1)
	s.heap = s.heap[:0]
	next, prev, rank := s.next, s.prev, s.rank
	for i := 0; i <= n; i++ {
		next[i], prev[i], rank[i] = uint32(i+1), uint32(i-1), noRank
		if i+2 <= n {
			if r := e.rank(p[i : i+2]); r != noRank {
				rank[i] = r
				s.push(uint64(r)<<32 | uint64(i))
			}
		}
	}
	// pairRank re-ranks the pair starting at live part i.
	pairRank := func(i uint32) {
		rank[i] = noRank
		if j := next[i]; int(j) < n {
			if r := e.rank(p[i:next[j]]); r != noRank {
				rank[i] = r
				s.push(uint64(r)<<32 | uint64(i))
			}
		}
	}
	parts := n
	for len(s.heap) > 0 {
		top := s.pop()
		i, r := uint32(top), uint32(top>>32)
		if rank[i] != r {
			continue
		}
		j := next[i] // merge part j into part i
		next[i] = next[j]
		prev[next[j]] = i
		rank[j] = noRank
		parts--
		pairRank(i)
		if i > 0 {
			pairRank(prev[i])
		}
	}
	if ids != nil {
		for i := uint32(0); int(i) < n; i = next[i] {
			*ids = append(*ids, e.rank(p[i:next[i]]))
		}
	}
	return parts
}

func grow(s []uint32, n int) []uint32 {
	if cap(s) < n {
		return make([]uint32, n)
	}
	return s[:n]
}

func (s *mergeScratch) push(v uint64) {
	h := append(s.heap, v)
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if h[parent] <= h[i] {
			break
		}
		h[parent], h[i] = h[i], h[parent]
		i = parent
	}
	s.heap = h
}

func (s *mergeScratch) pop() uint64 {
	h := s.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && h[r] < h[l] {
			c = r
		}
		if h[i] <= h[c] {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	s.heap = h
	return top
}
