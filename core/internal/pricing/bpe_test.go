package pricing

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// bpeEncodings are the encodings that must count exactly as tiktoken-go.
var bpeEncodings = []string{"o200k_base", "cl100k_base", "p50k_base", "r50k_base", "p50k_edit"}

// tiktokenRef loads tiktoken-go, the reference implementation, once: its
// loader setter is an unsynchronized package variable.
var tiktokenRef = sync.OnceValue(func() map[string]*tiktoken.Tiktoken {
	tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
	m := make(map[string]*tiktoken.Tiktoken)
	for _, name := range bpeEncodings {
		tk, err := tiktoken.GetEncoding(name)
		if err != nil {
			panic(err)
		}
		m[name] = tk
	}
	return m
})

// ours loads every encoding through one shared Counter.
var ours = sync.OnceValue(func() *Counter {
	c := NewCounter()
	if err := c.Preload(bpeEncodings...); err != nil {
		panic(err)
	}
	return c
})

func tiktokenCount(name, text string) int64 {
	return int64(len(tiktokenRef()[name].EncodeOrdinary(text)))
}

// encodeForTest is count that also returns the token ids.
func (e *bpeEncoding) encodeForTest(text string) []uint32 {
	if !utf8.ValidString(text) {
		text = replaceInvalidUTF8(text)
	}
	var ids []uint32
	split := e.pat.splitter()
	for i := 0; i < len(text); {
		j := split(text, i)
		switch p := text[i:j]; {
		case e.rank(p) != noRank:
			ids = append(ids, e.rank(p))
		case len(p) <= smallPiece:
			e.mergeSmall(p, &ids)
		default:
			e.mergeLarge(p, &ids)
		}
		i = j
	}
	return ids
}

// checkMatchesTiktoken compares CountText with tiktoken-go's count and,
// more strictly, the token ids with tiktoken-go's.
func checkMatchesTiktoken(t *testing.T, text string) {
	t.Helper()
	for _, name := range bpeEncodings {
		wantIDs := tiktokenRef()[name].EncodeOrdinary(text)
		if got, want := ours().CountText(name, text), int64(len(wantIDs)); got != want {
			t.Errorf("%s: CountText(%q) = %d, tiktoken-go counts %d", name, text, got, want)
			continue
		}
		enc, _ := ours().encoding(name)
		gotIDs := enc.encodeForTest(text)
		if fmt.Sprint(gotIDs) != fmt.Sprint(wantIDs) {
			t.Errorf("%s: tokens of %q = %v, tiktoken-go's %v", name, text, gotIDs, wantIDs)
		}
	}
}

// differentialCorpus covers each branch of the four patterns: every
// character class, contractions in both cases, runs of whitespace and
// newlines ahead of words and of the end, digit runs longer than three,
// text containing special tokens, invalid UTF-8, and pieces long enough
// for mergeLarge.
var differentialCorpus = []struct{ name, text string }{
	{"english", "The quick brown fox jumps over the lazy dog. It's 5 o'clock somewhere!"},
	{"cookbook", "tiktoken is great!"},
	{"code", "func main() {\n\tfmt.Println(\"hello, world\") // greet\n\tfor i := 0; i < 10; i++ {\n\t\tx[i] = i*2 + 1\n\t}\n}\n"},
	{"python", "def f(x):\n    return [y**2 for y in range(x) if y % 3 == 0]\n\n\nclass A(B):\n    pass\n"},
	{"json", `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi there"}],"temperature":0.7,"n":1,"stop":null}`},
	{"url", "See https://example.com/path/to/page?q=1&lang=en#frag or http://x.io//a//b/"},
	{"whitespace runs", "a  b   c\t\td \t \t e     \n     f    "},
	{"trailing spaces", "end with spaces   "},
	{"leading spaces", "   start with spaces"},
	{"only spaces", "     "},
	{"newlines", "line1\nline2\r\nline3\n\n\nline4\r\r\n \n  \n\tx\n"},
	{"newline before space", "a\n b\n\n  c \n\n"},
	{"spaces before newline", "a   \n   b \t\n\t c"},
	{"unicode spaces", "a\u00a0b\u2003c\u3000d\u2028e\u2029f\u0085g\u000bh\u000ci\u200bj\u180ek\u202f"},
	{"cjk", "我们今天去公园散步，天气非常好。東京は日本の首都です。한국어도 잘 합니다."},
	{"long cjk sentence", strings.Repeat("人工智能正在改变我们的生活方式和工作方法", 8)},
	{"emoji", "I ❤️ Go 🚀🚀🚀 👨‍👩‍👧‍👦 family 🇺🇸 flags 👍🏽 ok"},
	{"arabic", "مرحبا بالعالم، كيف حالك اليوم؟ ١٢٣٤٥ أرقام"},
	{"hebrew and thai", "שלום עולם สวัสดีครับ ภาษาไทย"},
	{"hindi marks", "नमस्ते दुनिया, यह एक परीक्षण है।"},
	{"accented", "Élodie mangea une crème brûlée à Zürich; ÆØÅ æøå Straße ŒUVRE naïve café"},
	{"case mixed", "HelloWorld camelCase snake_case SCREAMING_CASE McDonald iPhone eBay XMLHttpRequest ABCdef abcDEF"},
	{"combining marks", "e\u0301te\u0301 A\u0301BC a\u0300\u0301\u0302b \u0301start x\u20dd"},
	{"titlecase and modifiers", "ǅemal ǈubljana ʰello ʰA Aʰ AʰB ABʰC ʰʰ ˢtop aᵃ Ꜳ"},
	{"digits", "1 12 123 1234 12345 123456789 3.14159 1,000,000 0x1F 2024-01-01"},
	{"other numbers", "½ ⅓ Ⅻ ⅻ ① ² ³ ٣٤٥ ۱۲۳ ४२ 𝟙𝟚𝟛"},
	{"contractions", "I'm you're he's she'll we've they'd it's can't won't isn't"},
	{"upper contractions", "I'LL WE'VE YOU'RE HE'S I'M THEY'D DON'T It'S we'Ll"},
	{"contraction edges", "' 's 'S ''s 's's 'x 'l 'lL 'r 're 'R 'RE 'v 'VE 'd 'D ' 'tis"},
	{"apostrophe runs", "rock'n'roll o'clock '''quoted''' ‘curly’ ’s"},
	{"special tokens", "<|endoftext|> hello <|fim_prefix|><|fim_middle|><|fim_suffix|><|endofprompt|>"},
	{"punctuation runs", "!!! ??? ... --- === +++ /// \\\\ ||| &&& ;;; ::: ,,, ``` ~~~ @@@ ### $$$ %%% ^^^ ***"},
	{"punctuation before newlines", "end.\n\nnext!\r\n/path/\n/x\n//\n/\n"},
	{"slashes", "a/b/c //comment /* block */ </tag> <a href=\"/x/\">"},
	{"markdown", "# Title\n\n- item one\n- item two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n**bold** _it_ `code`"},
	{"invalid utf8", "abc\xffdef\xc3(\xed\xa0\x80 \xf0\x9f\x98 end\x80"},
	{"invalid utf8 only", "\xff\xfe\xfd"},
	{"replacement char", "a\ufffdb \ufffd\ufffd"},
	{"control chars", "a\x00b\x01c\x1fd\x7fe"},
	{"supplementary letters", "𝐀𝐁𝐂 𝐚𝐛𝐜 𠀀𠀁 𝔊𝔬 𐐀𐐨"},
	{"long letter run", strings.Repeat("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", 10)},
	{"long repeated letter", strings.Repeat("a", 300)},
	{"long base64", "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg" + strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 6)},
	{"long punctuation", strings.Repeat("=-", 150) + "\n"},
	{"long spaces", strings.Repeat(" ", 200) + "x" + strings.Repeat("\t", 150)},
	{"long digits", strings.Repeat("9876543210", 30)},
	{"mixed scripts", "Hello世界Привет мир123abc!@#Ünïcödé ΑΒΓ αβγ"},
}

func corpusText(name string) string {
	for _, tt := range differentialCorpus {
		if tt.name == name {
			return tt.text
		}
	}
	panic("no corpus entry " + name)
}

func TestCountMatchesTiktoken(t *testing.T) {
	for _, tt := range differentialCorpus {
		t.Run(tt.name, func(t *testing.T) { checkMatchesTiktoken(t, tt.text) })
	}
}

// fragments are what TestCountMatchesTiktokenRandom glues together: one or
// more runes of each class the patterns distinguish, and the sequences at
// their edges.
var fragments = []string{
	"a", "z", "hello", "A", "Z", "HELLO", "Hello", "é", "É", "ß", "ǅ", "ʰ", "中", "ا", "ก",
	"\u0301", "\u0903", "\u20dd", "1", "12", "1234", "٣", "Ⅻ", "½", "𝟙",
	" ", "  ", "\t", "\n", "\r", "\r\n", "\v", "\f", "\u0085", "\u00a0", "\u2028", "\u3000", "\u200b",
	"!", "/", "//", "'", "\"", "-", ".", "😀", "\u00ad", "<|endoftext|>",
	"'s", "'S", "'t", "'re", "'RE", "'Ve", "'m", "'ll", "'LL", "'d", "'D", "'x",
	"\xff", "\xc3", "\xed\xa0\x80", "\ufffd", "𝐀", "𝐚", "𠀀",
}

// TestCountMatchesTiktokenRandom compares counts on reproducible random
// mixes of fragments, which reach many more class boundaries than the
// corpus.
func TestCountMatchesTiktokenRandom(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for range n {
		b.Reset()
		for range 1 + rng.IntN(30) {
			b.WriteString(fragments[rng.IntN(len(fragments))])
		}
		checkMatchesTiktoken(t, b.String())
		if t.Failed() {
			return
		}
	}
}

func FuzzCountMatchesTiktoken(f *testing.F) {
	for _, tt := range differentialCorpus {
		f.Add(tt.text)
	}
	for _, s := range fragments {
		f.Add(s)
	}
	tiktokenRef()
	ours()
	f.Fuzz(func(t *testing.T, text string) {
		// regexp2 backtracks; keep the reference fast.
		if len(text) > 4096 {
			return
		}
		checkMatchesTiktoken(t, text)
	})
}

// TestCountMatchesTiktokenEveryRune puts every rune into the contexts where
// its classes matter and compares whole batches with tiktoken-go. It takes
// about three minutes, so it runs only when BPE_EVERY_RUNE is set; run it
// after a Go upgrade changes the unicode tables.
func TestCountMatchesTiktokenEveryRune(t *testing.T) {
	if os.Getenv("BPE_EVERY_RUNE") == "" {
		t.Skip("set BPE_EVERY_RUNE=1 to run")
	}
	contexts := []string{"%c", "a%cb", "A%cB", " %ca", "x'%c", "%c's", "1%c2", "%c\n", "!%c!", "A%ca'LL", "\t%c "}
	const batch = 4096
	var b strings.Builder
	check := func(lo, hi rune) {
		for _, name := range bpeEncodings[:4] {
			text := b.String()
			if got, want := ours().CountText(name, text), tiktokenCount(name, text); got != want {
				// Find the culprit rune.
				for r := lo; r < hi; r++ {
					for _, ctx := range contexts {
						s := fmt.Sprintf(ctx, r)
						if got, want := ours().CountText(name, s), tiktokenCount(name, s); got != want {
							t.Errorf("%s: %U in %q: got %d, want %d", name, r, ctx, got, want)
						}
					}
				}
			}
		}
		b.Reset()
	}
	lo := rune(0)
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		for _, ctx := range contexts {
			fmt.Fprintf(&b, ctx, r)
			b.WriteByte(' ')
		}
		if r%batch == batch-1 {
			check(lo, r+1)
			lo = r + 1
		}
	}
	check(lo, unicode.MaxRune+1)
}

// TestRuneClasses checks the BMP table against the class definitions and
// the assumptions the split functions make about them.
func TestRuneClasses(t *testing.T) {
	runeClassOnce.Do(fillRuneClasses)
	for r := rune(0); r < rune(len(runeClasses)); r++ {
		if got, want := runeClasses[r], classifyRune(r); got != want {
			t.Fatalf("runeClasses[%U] = %08b, want %08b", r, got, want)
		}
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		c := classifyRune(r)
		// splitGPT2 relies on letters, numbers and whitespace not
		// overlapping, and every split function on each rune being one of
		// them or "other".
		if n := popcount(c & (clL | clN | clS | clOther)); n != 1 {
			t.Fatalf("%U is in %d of L, N, S, other (%08b)", r, n, c)
		}
		// o200k's letter alternatives assume \p{L} is exactly the union
		// of the letter categories in its two classes.
		letter := c&clL != 0
		upperLowerLetter := c&(clUpper|clLower) != 0 && !unicode.IsMark(r)
		if letter != upperLowerLetter {
			t.Fatalf("%U: letter %v, but upper/lower classes %08b", r, letter, c)
		}
	}
}

func popcount(x uint8) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// TestMergeLargeMatchesSmall checks the heap merge against the quadratic
// one on pieces built to need many merges and tie-breaks.
func TestMergeLargeMatchesSmall(t *testing.T) {
	c := ours()
	rng := rand.New(rand.NewPCG(3, 4))
	alphabets := []string{"a", "ab", "abc", " e", "aeiou rst", "0123456789", "=-", "中文字"}
	for _, name := range bpeEncodings[:4] {
		enc, err := c.encoding(name)
		if err != nil {
			t.Fatal(err)
		}
		for range 2000 {
			alpha := alphabets[rng.IntN(len(alphabets))]
			var b strings.Builder
			for b.Len() < 2+rng.IntN(smallPiece-1) {
				runes := []rune(alpha)
				b.WriteRune(runes[rng.IntN(len(runes))])
			}
			p := b.String()
			if len(p) > smallPiece {
				p = p[:smallPiece]
			}
			var small, large []uint32
			enc.mergeSmall(p, &small)
			enc.mergeLarge(p, &large)
			if fmt.Sprint(small) != fmt.Sprint(large) {
				t.Fatalf("%s: %q: mergeSmall gives %v, mergeLarge %v", name, p, small, large)
			}
		}
	}
}

// TestMergeSyntheticVocab checks both merges against a naive reference
// of tiktoken's algorithm under vocabularies with random ranks. Unlike a
// trained BPE vocabulary, where a longer token nearly always ranks after
// its parts, random ranks make merges compete, which exposes any mistake in
// the order of merges or in discarding stale heap entries.
func TestMergeSyntheticVocab(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const alphabet = "abcd"
	randString := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for vocab := range 50 {
		tokens := map[string]bool{}
		for _, c := range alphabet {
			tokens[string(c)] = true
		}
		for len(tokens) < 4+10+rng.IntN(150) {
			tokens[randString(2+rng.IntN(5))] = true
		}
		order := rng.Perm(len(tokens))
		ranks := map[string]uint32{}
		var file strings.Builder
		i := 0
		for tok := range tokens {
			ranks[tok] = uint32(order[i])
			fmt.Fprintf(&file, "%s %d\n", base64.StdEncoding.EncodeToString([]byte(tok)), order[i])
			i++
		}
		enc, err := parseRanks([]byte(file.String()))
		if err != nil {
			t.Fatal(err)
		}
		for range 300 {
			p := randString(2 + rng.IntN(300))
			want := naiveMerge(p, ranks)
			var large []uint32
			enc.mergeLarge(p, &large)
			if fmt.Sprint(large) != fmt.Sprint(want) {
				t.Fatalf("vocab %d: mergeLarge(%q) = %v, want %v", vocab, p, large, want)
			}
			if len(p) <= smallPiece {
				var small []uint32
				enc.mergeSmall(p, &small)
				if fmt.Sprint(small) != fmt.Sprint(want) {
					t.Fatalf("vocab %d: mergeSmall(%q) = %v, want %v", vocab, p, small, want)
				}
			}
		}
	}
}

// naiveMerge is tiktoken's byte-pair merge written as plainly as possible:
// while some adjacent pair joins into a token, join the lowest-ranked one,
// the leftmost among equals.
func naiveMerge(p string, ranks map[string]uint32) []uint32 {
	parts := strings.Split(p, "")
	for {
		best := -1
		for i := 0; i+1 < len(parts); i++ {
			r, ok := ranks[parts[i]+parts[i+1]]
			if ok && (best < 0 || r < ranks[parts[best]+parts[best+1]]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		parts[best] += parts[best+1]
		parts = append(parts[:best+1], parts[best+2:]...)
	}
	ids := make([]uint32, len(parts))
	for i, part := range parts {
		ids[i] = ranks[part]
	}
	return ids
}

// TestCountTextDoesNotAllocate holds counting of valid text with short
// pieces to zero allocations.
func TestCountTextDoesNotAllocate(t *testing.T) {
	c := ours()
	text := corpusText("english") + corpusText("code") + corpusText("cjk")
	for _, name := range bpeEncodings[:4] {
		if n := testing.AllocsPerRun(100, func() { c.CountText(name, text) }); n != 0 {
			t.Errorf("%s: %v allocations per CountText", name, n)
		}
	}
}

// TestBPETableIsPointerFree guards the point of the table layout: the GC
// must have nothing to scan in it.
func TestBPETableIsPointerFree(t *testing.T) {
	typ := reflect.TypeFor[bpeEncoding]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		switch k := f.Type.Kind(); {
		case k == reflect.Slice && pointerFree(f.Type.Elem()):
		case pointerFree(f.Type):
		default:
			t.Errorf("bpeEncoding.%s (%s) would be scanned by the GC", f.Name, f.Type)
		}
	}

	// Loading is a handful of allocations (the copied rank file and the
	// three tables), and only the tables and the struct stay live. Mallocs
	// counts the whole process, so a goroutine left by another test can
	// add a stray allocation to one load: AllocsPerRun averages over
	// several, on one P.
	allocs := testing.AllocsPerRun(3, func() {
		if _, err := loadBPE("o200k_base"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 10 {
		t.Errorf("loading made %.1f allocations, want at most 10", allocs)
	}
	// HeapObjects is process-wide too: keep several loads and average.
	const loads = 4
	encs := make([]*bpeEncoding, loads)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range encs {
		enc, err := loadBPE("o200k_base")
		if err != nil {
			t.Fatal(err)
		}
		encs[i] = enc
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(encs)
	if n := float64(int64(after.HeapObjects)-int64(before.HeapObjects)) / loads; n > 6 {
		t.Errorf("loading retained %.1f heap objects, want at most 6", n)
	}
}

func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Array:
		return pointerFree(t.Elem())
	}
	return false
}

func TestParseRanksErrors(t *testing.T) {
	tests := []struct{ name, data string }{
		{"empty", ""},
		{"blank lines only", "\n\n"},
		{"no rank", "YQ==\n"},
		{"no space", "YQ==0\n"},
		{"empty token", " 0\n"},
		{"negative rank", "YQ== -1\n"},
		{"rank not a number", "YQ== x\n"},
		{"huge rank", "YQ== 99999999999\n"},
		{"bad base64", "Y!== 0\n"},
		{"unpadded base64", "YQ 0\n"},
		{"duplicate rank", "YQ== 0\nYg== 0\n"},
		{"trailing CR", "YQ== 0\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseRanks([]byte(tt.data)); err == nil {
				t.Errorf("parseRanks(%q) succeeded", tt.data)
			}
		})
	}
}

func TestParseRanks(t *testing.T) {
	// Ranks with a hole, out of order, a duplicated token (the later rank
	// wins, as in tiktoken-go's map) and no final newline.
	enc, err := parseRanks([]byte("YQ== 0\nYg== 1\nYWI= 4\n\nYw== 3\nYQ== 2"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		key  string
		want uint32
	}{{"a", 2}, {"b", 1}, {"c", 3}, {"ab", 4}, {"abc", noRank}, {"", noRank}} {
		if got := enc.rank(tt.key); got != tt.want {
			t.Errorf("rank(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

func TestLoadBPEUnknown(t *testing.T) {
	for _, name := range []string{"gpt2", "O200K_BASE", "no_such_encoding"} {
		if _, err := loadBPE(name); err == nil {
			t.Errorf("loadBPE(%q) succeeded", name)
		}
	}
}

// benchTexts are a chat message of about 200 bytes and about 8 KB of mixed
// prose, code and JSON.
func benchTexts() []struct{ name, text string } {
	short := "Hi! Could you summarize the attached quarterly report in three bullet points, " +
		"highlighting revenue growth, churn, and the outlook for Q3? Please keep it under 80 words. Thanks!"
	var long strings.Builder
	parts := []string{"english", "code", "json", "python", "accented", "contractions", "markdown", "cjk"}
	for i := 0; long.Len() < 8<<10; i++ {
		long.WriteString(corpusText(parts[i%len(parts)]))
		long.WriteString("\n")
	}
	return []struct{ name, text string }{{"short", short}, {"8KB", long.String()[:8<<10]}}
}

func BenchmarkCountText(b *testing.B) {
	for _, tt := range benchTexts() {
		for _, name := range []string{"o200k_base", "cl100k_base"} {
			b.Run(fmt.Sprintf("%s/%s/ours", tt.name, name), func(b *testing.B) {
				c := ours()
				b.SetBytes(int64(len(tt.text)))
				b.ReportAllocs()
				for b.Loop() {
					c.CountText(name, tt.text)
				}
			})
			b.Run(fmt.Sprintf("%s/%s/tiktoken-go", tt.name, name), func(b *testing.B) {
				tk := tiktokenRef()[name]
				b.SetBytes(int64(len(tt.text)))
				b.ReportAllocs()
				for b.Loop() {
					tk.EncodeOrdinary(tt.text)
				}
			})
		}
	}
}

// BenchmarkLoadEncoding measures a load and what it leaves on the heap.
// tiktoken-go caches its rank maps globally, so its side repeats what a
// first GetEncoding does: load the map, then build the CoreBPE.
func BenchmarkLoadEncoding(b *testing.B) {
	loaders := []struct {
		impl string
		load func(name string) any
	}{
		{"ours", func(name string) any {
			enc, err := loadBPE(name)
			if err != nil {
				b.Fatal(err)
			}
			return enc
		}},
		{"tiktoken-go", func(name string) any {
			ranks, err := tiktoken_loader.NewOfflineLoader().LoadTiktokenBpe(name + ".tiktoken")
			if err != nil {
				b.Fatal(err)
			}
			pat := map[string]string{
				"o200k_base": strings.Join([]string{
					`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
					`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?`,
					`\p{N}{1,3}`,
					` ?[^\s\p{L}\p{N}]+[\r\n/]*`,
					`\s*[\r\n]+`,
					`\s+(?!\S)`,
					`\s+`,
				}, "|"),
				"cl100k_base": `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
			}[name]
			bpe, err := tiktoken.NewCoreBPE(ranks, map[string]int{"<|endoftext|>": len(ranks) + 1}, pat)
			if err != nil {
				b.Fatal(err)
			}
			return bpe
		}},
	}
	for _, name := range []string{"o200k_base", "cl100k_base"} {
		for _, l := range loaders {
			b.Run(name+"/"+l.impl, func(b *testing.B) {
				var retainedB, retainedObjs, gcPause float64
				for b.Loop() {
					b.StopTimer()
					runtime.GC()
					var before, after runtime.MemStats
					runtime.ReadMemStats(&before)
					b.StartTimer()
					v := l.load(name)
					b.StopTimer()
					runtime.GC()
					runtime.ReadMemStats(&after)
					retainedB = float64(after.HeapAlloc) - float64(before.HeapAlloc)
					retainedObjs = float64(after.HeapObjects) - float64(before.HeapObjects)
					// A forced cycle with the table live: its cost is
					// mostly marking.
					const cycles = 5
					t0 := time.Now()
					for range cycles {
						runtime.GC()
					}
					gcPause = float64(time.Since(t0).Nanoseconds()) / cycles
					runtime.KeepAlive(v)
					b.StartTimer()
				}
				b.ReportMetric(retainedB, "retained-B")
				b.ReportMetric(retainedObjs, "retained-objs")
				b.ReportMetric(gcPause, "ns/GC-cycle")
			})
		}
	}
}
