package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"time"
)

// sseTiming is when the lines of one server-sent-event stream arrived.
type sseTiming struct {
	// FirstData is the arrival of the first "data:" line, whatever it
	// holds; Content holds the arrivals of the data lines carrying a
	// non-empty delta content, in order.
	FirstData time.Time
	Content   []time.Time
	Done      bool // "data: [DONE]" arrived
	DataLines int
}

// readSSE reads an event stream to its end, stamping each data line with
// now() as it is read. It reads line by line from a buffered reader so a
// stamp is taken when the line's bytes arrive, not when the stream ends.
func readSSE(r io.Reader, now func() time.Time) (sseTiming, error) {
	var t sseTiming
	br := bufio.NewReaderSize(r, 16<<10)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			at := now()
			if payload, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), []byte("data:")); ok {
				payload = bytes.TrimSpace(payload)
				t.DataLines++
				if t.DataLines == 1 {
					t.FirstData = at
				}
				switch {
				case bytes.Equal(payload, []byte("[DONE]")):
					t.Done = true
				case hasContent(payload):
					t.Content = append(t.Content, at)
				}
			}
		}
		switch err {
		case nil:
		case bufio.ErrBufferFull:
			// A line longer than the buffer: its remainder is read next
			// and is not a data line of interest; chunks here are small.
		case io.EOF:
			return t, nil
		default:
			return t, fmt.Errorf("read event stream after %d data lines: %w", t.DataLines, err)
		}
	}
}

// hasContent reports whether a chat chunk's JSON carries a non-empty
// "content" string. It scans bytes instead of decoding JSON because at a
// thousand concurrent streams the load generator decodes 200k chunks a
// second on one CPU; encoders here emit no space after the colon, and one
// is tolerated anyway.
func hasContent(payload []byte) bool {
	key := []byte(`"content":`)
	for {
		i := bytes.Index(payload, key)
		if i < 0 {
			return false
		}
		rest := bytes.TrimLeft(payload[i+len(key):], " ")
		if len(rest) >= 2 && rest[0] == '"' && rest[1] != '"' {
			return true
		}
		payload = rest
	}
}

// gaps returns the intervals between consecutive content arrivals.
func (t sseTiming) gaps() []time.Duration {
	if len(t.Content) < 2 {
		return nil
	}
	out := make([]time.Duration, 0, len(t.Content)-1)
	for i := 1; i < len(t.Content); i++ {
		out = append(out, t.Content[i].Sub(t.Content[i-1]))
	}
	return out
}
