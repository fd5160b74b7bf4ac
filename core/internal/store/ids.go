package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// newID returns prefix + "_" + 32 hex digits: 48 bits of Unix milliseconds
// followed by 80 random bits. Leading with time keeps IDs roughly ordered,
// so B-tree inserts on PostgreSQL land near the end of the index instead of
// at random pages, and "ORDER BY id" is creation order to the millisecond.
func newID(prefix string, now time.Time) string {
	var b [16]byte
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(now.UnixMilli()))
	copy(b[:6], ms[2:])
	// crypto/rand.Read never returns an error since Go 1.24 (it aborts the
	// process instead), so the result needs no check.
	_, _ = rand.Read(b[6:])
	return prefix + "_" + hex.EncodeToString(b[:])
}
