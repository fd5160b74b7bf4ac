package vendorhttp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll drains r, failing the test on any error but io.EOF. It gives up
// after limit events so that a reader that never ends fails instead of
// hanging.
func readAll(t testing.TB, r *SSEReader, limit int) ([]Event, error) {
	t.Helper()
	var evs []Event
	for range limit {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
	t.Fatalf("SSEReader returned more than %d events without ending", limit)
	return nil, nil
}

func sameEvents(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

func ev(name, data string) Event { return Event{Name: name, Data: []byte(data)} }

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Event
	}{
		// Shape from the chat completion stream example in
		// /work/shared/vendor-specs/openai-gateway-mock.yaml (POST /v1/chat/completions, text/event-stream).
		{"openai chat stream", "data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\n\n" +
			"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":13,\"completion_tokens\":2}}\n\n" +
			"data: [DONE]\n\n",
			[]Event{ev("", `{"choices":[{"delta":{"content":"Hello"}}]}`), ev("", `{"choices":[],"usage":{"prompt_tokens":13,"completion_tokens":2}}`), ev("", "[DONE]")}},
		// Named events with a ping, as in the MessageStreamEvent and Ping
		// schemas of /work/shared/vendor-specs/anthropic-openapi.json.
		{"anthropic named events", "event: message_start\ndata: {\"type\":\"message_start\"}\n\n" +
			"event: ping\ndata: {\"type\": \"ping\"}\n\n" +
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
			[]Event{ev("message_start", `{"type":"message_start"}`), ev("ping", `{"type": "ping"}`), ev("message_stop", `{"type":"message_stop"}`)}},
		{"multi-line data joined by LF", "data: a\ndata: b\ndata:\ndata: c\n\n", []Event{ev("", "a\nb\n\nc")}},
		{"comments ignored", ": keep-alive\ndata: x\n: another\n\n:\n\n", []Event{ev("", "x")}},
		{"no space after colon", "data:x\n\n", []Event{ev("", "x")}},
		{"only one space stripped", "data:  x \n\n", []Event{ev("", " x ")}},
		{"field without colon", "data\n\n", []Event{ev("", "")}},
		{"empty data", "data:\n\n", []Event{ev("", "")}},
		{"unknown fields ignored", "id: 7\nretry: 1000\nfoo: bar\ndata: x\n\n", []Event{ev("", "x")}},
		{"name does not leak into the next event", "event: a\ndata: 1\n\ndata: 2\n\n", []Event{ev("a", "1"), ev("", "2")}},
		{"event without data is dropped", "event: ping\n\ndata: x\n\n", []Event{ev("", "x")}},
		{"last event needs no blank line", "data: a\n\ndata: b", []Event{ev("", "a"), ev("", "b")}},
		{"last event with one LF", "data: a\n", []Event{ev("", "a")}},
		{"blank lines only", "\n\n\n", nil},
		{"empty", "", nil},
		// bufio.ScanLines strips the CR of a CRLF, but keeps a lone CR
		// inside the line; the standard allows all three endings.
		{"CRLF", "event: e\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n", []Event{ev("e", "a\nb"), ev("", "c")}},
		{"lone CR", "event: e\rdata: a\rdata: b\r\rdata: c\r\r", []Event{ev("e", "a\nb"), ev("", "c")}},
		{"mixed endings", "data: a\r\ndata: b\rdata: c\n\r\ndata: d\n\r", []Event{ev("", "a\nb\nc"), ev("", "d")}},
		{"CR at the very end", "data: a\r", []Event{ev("", "a")}},
		{"CR LF CR is two line ends", "data: a\r\n\rdata: b", []Event{ev("", "a"), ev("", "b")}},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		// One byte per read splits every CRLF across reads.
		{"one byte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				got, err := readAll(t, NewSSEReader(rd.wrap(strings.NewReader(tt.in))), 100)
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if !sameEvents(got, tt.want) {
					t.Errorf("events = %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestSSEReaderEOFIsSticky(t *testing.T) {
	r := NewSSEReader(strings.NewReader("data: a\n\n"))
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("call %d after the end: err = %v, want io.EOF", i, err)
		}
	}
}

func TestSSEReaderErrors(t *testing.T) {
	errBroken := errors.New("connection reset")
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"read error after an event", io.MultiReader(strings.NewReader("data: a\n\ndata: partial\n"), iotest.ErrReader(errBroken)), errBroken},
		{"line longer than the limit", strings.NewReader("data: " + strings.Repeat("x", maxEventSize) + "\n\n"), bufio.ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(t, NewSSEReader(tt.r), 10)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzSSEReader checks that the reader never panics, always terminates,
// and agrees with a direct transcription of the standard's algorithm
// however the input is split into reads.
func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{
		"data: a\n\n", "event: e\r\ndata: x\r\n\r\n", "data: a\rdata: b\r\r", ":c\ndata\n\nevent: only\n\n",
		"data: a\r\n", "\r\n\r\n", "data:  two spaces\n", "data: [DONE]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) >= maxEventSize {
			t.Skip("longer than one line may be")
		}
		want := referenceSSE(string(in))
		for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader} {
			// Every event needs at least one byte of input, so more calls
			// than bytes would mean the reader loops.
			got, err := readAll(t, NewSSEReader(wrap(bytes.NewReader(in))), len(in)+2)
			if err != nil {
				t.Fatalf("Next(%q): %v", in, err)
			}
			if !sameEvents(got, want) {
				t.Fatalf("events of %q = %q, want %q", in, got, want)
			}
		}
	})
}

// referenceSSE parses in with the standard's algorithm written as plainly
// as possible, plus the reader's one documented extension: a last event
// without its blank line is still returned.
func referenceSSE(in string) []Event {
	var lines []string
	for len(in) > 0 {
		i := strings.IndexAny(in, "\r\n")
		if i < 0 {
			lines = append(lines, in)
			break
		}
		lines = append(lines, in[:i])
		if strings.HasPrefix(in[i:], "\r\n") {
			in = in[i+2:]
		} else {
			in = in[i+1:]
		}
	}
	var (
		evs     []Event
		name    string
		data    []string
		hasData bool
	)
	dispatch := func() {
		if hasData {
			evs = append(evs, Event{Name: name, Data: []byte(strings.Join(data, "\n"))})
		}
		name, data, hasData = "", nil, false
	}
	for _, l := range lines {
		if l == "" {
			dispatch()
			continue
		}
		if l[0] == ':' {
			continue
		}
		field, value, _ := strings.Cut(l, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			name = value
		case "data":
			data = append(data, value)
			hasData = true
		}
	}
	dispatch()
	return evs
}
