package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/oneflow-ai/oneflow/"

// rule forbids imports with a prefix in files under a directory, except
// in the directories listed as allowed.
type rule struct {
	name    string
	under   string // directory (relative to the repo root) the rule covers
	forbid  []string
	allowIn []string // directories exempt from the rule
}

// impure is what a pure package may not import.
var impure = []string{"net/http", "database/sql", "github.com/gin-gonic/", "gorm.io/", "github.com/redis/",
	module + "core/internal/store", module + "core/internal/server", module + "core/internal/plugins", module + "core/internal/app"}

var rules = []rule{
	{"sdk never imports core or plugins", "sdk", []string{module + "core", module + "plugins", module + "examples"}, nil},
	{"sdk stays free of gin, gorm and redis", "sdk", []string{"github.com/gin-gonic/", "gorm.io/", "github.com/redis/"}, nil},
	{"plugins import only the sdk from this module", "plugins", []string{module + "core", module + "examples"}, nil},
	{"examples import only the sdk from this module", "examples", []string{module + "core", module + "plugins"}, nil},
	{"core never imports sdk/internal", "core", []string{module + "sdk/internal"}, nil},
	{"core never imports plugins", "core", []string{module + "plugins", module + "examples"}, nil},
	{"gin stays in server", "core", []string{"github.com/gin-gonic/"}, []string{"core/internal/server"}},
	{"gorm stays in store", "core", []string{"gorm.io/", "github.com/glebarez/sqlite"}, []string{"core/internal/store"}},
	{"go-redis stays in ratelimit and idempotency", "core", []string{"github.com/redis/"}, []string{"core/internal/ratelimit", "core/internal/idempotency"}},
	// The pure packages: no I/O, fast to test.
	{"pricing stays pure", "core/internal/pricing", impure, nil},
	{"routing stays pure", "core/internal/routing", impure, nil},
	{"breaker stays pure", "core/internal/breaker", impure, nil},
	{"retry stays pure", "core/internal/retry", impure, nil},
}

func TestDependencyRules(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || name == "bin" || name == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, r := range rules {
				if !within(rel, r.under) || exempt(rel, r.allowIn) {
					continue
				}
				for _, bad := range r.forbid {
					if strings.HasPrefix(p, bad) {
						t.Errorf("%s imports %s: %s", rel, p, r.name)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked only %d files; is the root right?", checked)
	}
}

func within(rel, dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }

func exempt(rel string, dirs []string) bool {
	for _, d := range dirs {
		if within(rel, d) {
			return true
		}
	}
	return false
}
