package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parseByteSize parses a size such as "10MB", "512KB", "1MiB", "4096B" or
// a plain integer of bytes. KB, MB and GB are decimal (1000^n) and KiB,
// MiB and GiB binary (1024^n), as the SI and IEC define them; units are
// case-insensitive and may be separated from the number by spaces. Only
// whole numbers are accepted.
func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("size %q must start with a whole number of bytes", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	unit := strings.ToLower(strings.TrimSpace(t[i:]))
	var mult int64
	switch unit {
	case "", "b":
		mult = 1
	case "kb":
		mult = 1000
	case "mb":
		mult = 1000 * 1000
	case "gb":
		mult = 1000 * 1000 * 1000
	case "kib":
		mult = 1 << 10
	case "mib":
		mult = 1 << 20
	case "gib":
		mult = 1 << 30
	default:
		return 0, fmt.Errorf("size %q has unknown unit %q; use B, KB, MB, GB, KiB, MiB or GiB", s, strings.TrimSpace(t[i:]))
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * mult, nil
}
