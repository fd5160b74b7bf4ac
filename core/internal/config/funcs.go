package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// maxFileSize caps what file() reads. file() exists for secrets, keys and
// certificates; a cap keeps a typo such as file("/dev/zero") from eating
// the process's memory.
const maxFileSize = 1 << 20

// evalContext is the context every attribute is evaluated in: functions
// only, no variables.
func evalContext(lookup func(string) (string, bool), baseDir string) *hcl.EvalContext {
	return &hcl.EvalContext{
		Functions: map[string]function.Function{
			"env":  envFunc(lookup),
			"file": fileFunc(baseDir),
		},
	}
}

// envFunc implements env("NAME") and env("NAME", "default"). The default is
// used when the variable is unset or empty, because container platforms
// often set variables to "" rather than leaving them out.
func envFunc(lookup func(string) (string, bool)) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable, or the default when it is unset or empty.",
		Params: []function.Parameter{
			{Name: "name", Type: cty.String},
		},
		VarParam: &function.Parameter{Name: "default", Type: cty.String},
		Type:     function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 2 {
				return cty.NilVal, function.NewArgErrorf(2, "env takes a variable name and at most one default value")
			}
			name := args[0].AsString()
			if name == "" {
				return cty.NilVal, function.NewArgErrorf(0, "the environment variable name must not be empty")
			}
			val, ok := lookup(name)
			if len(args) == 2 {
				if !ok || val == "" {
					return args[1], nil
				}
				return cty.StringVal(val), nil
			}
			if !ok {
				return cty.NilVal, fmt.Errorf("environment variable %s is not set; set it, or give a default with env(%q, \"default\")", name, name)
			}
			return cty.StringVal(val), nil
		},
	})
}

// fileFunc implements file("path"): the contents of a regular file, relative
// to baseDir, with one trailing newline removed so that a secret written
// with `echo key > file` does not carry the newline into an HTTP header.
func fileFunc(baseDir string) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the contents of a file relative to the configuration's directory, without one trailing newline.",
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := args[0].AsString()
			if p == "" {
				return cty.NilVal, function.NewArgErrorf(0, "the file path must not be empty")
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(baseDir, p)
			}
			b, err := readSmallFile(p)
			if err != nil {
				return cty.NilVal, err
			}
			s := string(b)
			if strings.HasSuffix(s, "\r\n") {
				s = s[:len(s)-2]
			} else if strings.HasSuffix(s, "\n") {
				s = s[:len(s)-1]
			}
			return cty.StringVal(s), nil
		},
	})
}

// readSmallFile reads a regular file of at most maxFileSize bytes. Devices,
// pipes and directories are refused so that reading can neither block nor
// run forever.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, unwrapPathError(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("inspecting %s: %w", path, unwrapPathError(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("reading %s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, unwrapPathError(err))
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("reading %s: file is larger than %d bytes", path, maxFileSize)
	}
	return b, nil
}

// unwrapPathError drops the *fs.PathError wrapper whose message would
// repeat the path already in our own message.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// envCallName returns X when expr is a direct call env("X", ...), so a
// message about a missing API key can name the variable to set.
func envCallName(expr hcl.Expression) string {
	call, ok := expr.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "env" || len(call.Args) == 0 {
		return ""
	}
	v, diags := call.Args[0].Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || !v.Type().Equals(cty.String) {
		return ""
	}
	return v.AsString()
}
