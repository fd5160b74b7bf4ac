package config

import (
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// pos renders a range's start as file:line:col, the form editors and
// terminals turn into links.
func pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// WriteDiagnostics writes one line per diagnostic:
//
//	file:line:col: severity: summary; detail
//
// without color or source snippets, so the lines suit logs as well as
// `oneflow validate`. Newlines inside a detail are folded into spaces to
// keep the one-line shape. Diagnostics without a range start with the
// severity.
//
// src maps file names to their contents (Config.Sources). The line format
// needs only the ranges, so src may be nil; it is accepted so callers can
// hand over what Load returned and later richer output (source snippets)
// will not change the signature. Snippets are left out on purpose: a
// snippet of an api_key line would print the secret.
func WriteDiagnostics(w io.Writer, diags hcl.Diagnostics, src map[string][]byte) error {
	var b strings.Builder
	for _, diag := range diags {
		if diag.Subject != nil {
			b.WriteString(pos(*diag.Subject))
			b.WriteString(": ")
		}
		b.WriteString(severity(diag.Severity))
		b.WriteString(": ")
		b.WriteString(oneLine(diag.Summary))
		if diag.Detail != "" {
			b.WriteString("; ")
			b.WriteString(oneLine(diag.Detail))
		}
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing config diagnostics: %w", err)
	}
	return nil
}

func severity(s hcl.DiagnosticSeverity) string {
	switch s {
	case hcl.DiagError:
		return "error"
	case hcl.DiagWarning:
		return "warning"
	default:
		return "note"
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
