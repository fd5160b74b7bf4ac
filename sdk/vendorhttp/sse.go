package vendorhttp

import (
	"bufio"
	"bytes"
	"io"
)

// maxEventSize bounds one SSE line; vendors' chunks are far smaller.
const maxEventSize = 1 << 20

// Event is one server-sent event.
type Event struct {
	// Name is the "event:" field, empty for unnamed events.
	Name string
	// Data is the "data:" fields joined by newlines.
	Data []byte
}

// SSEReader reads server-sent events as specified by the WHATWG HTML
// standard (section "Server-sent events"): fields per line, events
// separated by a blank line, comments starting with ':'.
type SSEReader struct {
	sc   *bufio.Scanner
	name string
	data []byte
	has  bool
}

// NewSSEReader reads events from r.
func NewSSEReader(r io.Reader) *SSEReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventSize)
	return &SSEReader{sc: sc}
}

// Next returns the next event. At the end of the stream it returns a final
// event that was not followed by a blank line (vendors sometimes omit it),
// then io.EOF. A read error other than EOF is returned as is; the event
// being assembled when it happened is lost, as the standard requires.
func (r *SSEReader) Next() (Event, error) {
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if len(line) == 0 {
			if ev, ok := r.take(); ok {
				return ev, nil
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := bytes.Cut(line, []byte(":"))
		if found && len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(field) {
		case "event":
			r.name = string(value)
			r.has = true
		case "data":
			if r.data != nil {
				r.data = append(r.data, '\n')
			}
			if r.data == nil {
				r.data = make([]byte, 0, len(value))
			}
			r.data = append(r.data, value...)
			r.has = true
		}
	}
	if err := r.sc.Err(); err != nil {
		return Event{}, err
	}
	if ev, ok := r.take(); ok {
		return ev, nil
	}
	return Event{}, io.EOF
}

func (r *SSEReader) take() (Event, bool) {
	if !r.has {
		return Event{}, false
	}
	ev := Event{Name: r.name, Data: r.data}
	r.name, r.data, r.has = "", nil, false
	return ev, true
}
