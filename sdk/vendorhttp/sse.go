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
// standard (section "Server-sent events"): fields per line, lines ended by
// CRLF, LF or a lone CR, events separated by a blank line, comments
// starting with ':'. A block without data lines (say, "event: ping" alone)
// is not an event, as the standard says.
type SSEReader struct {
	sc   *bufio.Scanner
	name string
	data []byte
	// skipLF is set when a line ended with the last byte read, a CR.
	skipLF bool
}

// NewSSEReader reads events from r.
func NewSSEReader(r io.Reader) *SSEReader {
	sr := &SSEReader{sc: bufio.NewScanner(r)}
	sr.sc.Buffer(make([]byte, 0, 64<<10), maxEventSize)
	sr.sc.Split(sr.scanLines)
	return sr
}

// scanLines is bufio.ScanLines plus the lone CR line ending the standard
// allows, which bufio.ScanLines leaves inside the line. A CR ends its line
// at once, rather than waiting to see whether an LF follows, so an event is
// never held back for a byte the vendor has not sent yet; the LF of a CRLF
// split across reads is skipped when it arrives.
func (r *SSEReader) scanLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if r.skipLF && len(data) > 0 {
		r.skipLF = false
		if data[0] == '\n' {
			return 1, nil, nil
		}
	}
	lf := bytes.IndexByte(data, '\n')
	end := lf
	if end < 0 {
		end = len(data)
	}
	if cr := bytes.IndexByte(data[:end], '\r'); cr >= 0 {
		if cr+1 < len(data) {
			if data[cr+1] == '\n' {
				return cr + 2, data[:cr], nil
			}
			return cr + 1, data[:cr], nil
		}
		r.skipLF = true
		return cr + 1, data[:cr], nil
	}
	if lf >= 0 {
		return lf + 1, data[:lf], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
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
		case "data":
			if r.data != nil {
				r.data = append(r.data, '\n')
			}
			if r.data == nil {
				r.data = make([]byte, 0, len(value))
			}
			r.data = append(r.data, value...)
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
	ev := Event{Name: r.name, Data: r.data}
	r.name, r.data = "", nil
	// No data line, no event: the standard drops the block, name and all.
	return ev, ev.Data != nil
}
