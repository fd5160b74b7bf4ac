package apidocs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// The embedded document and viewer files: the package's only variables,
// because go:embed fills nothing else; they are read-only data fixed at
// build time, and nothing writes them.
//
//go:embed openapi.yaml
var specYAML []byte

//go:embed assets pages
var files embed.FS

// Where the server mounts the handlers. The viewer pages link to their
// assets and to the document by these absolute paths.
const (
	SpecPath      = "/openapi.json"
	SwaggerUIPath = "/docs"
	ReDocPath     = "/redoc"
)

// ContentSecurityPolicy is the policy the viewer pages need, and the one
// their handlers set. Scripts still come only from 'self' (each page's
// start-up code is a separate file); Swagger UI and ReDoc style elements
// inline, draw icons from data: URIs, and ReDoc builds its search worker
// from a blob: URL.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:"

// The least role an operation needs, as x-oneflow-role says.
const (
	RolePublic = "public"
	RoleViewer = "viewer"
	RoleMember = "member"
	RoleAdmin  = "admin"
)

// roleExtension names the operation extension that carries the role.
const roleExtension = "x-oneflow-role"

// headerSetsExtension is the document's root key that only holds YAML
// anchors for repeated header maps; it means nothing to a reader of the
// JSON, so Spec leaves it out.
const headerSetsExtension = "x-oneflow-header-sets"

// Operation is one method on one path of the document.
type Operation struct {
	Method string // upper case, such as "POST"
	Path   string // the document's template, such as "/api/v1/admin/projects/{id}"
	ID     string // operationId
	Role   string // RolePublic, RoleViewer, RoleMember or RoleAdmin
}

// Docs is the parsed and validated document with its viewers. It is safe
// for concurrent use.
type Docs struct {
	doc       *openapi3.T
	json      []byte
	etag      string
	ops       []Operation
	swaggerUI *viewer
	redoc     *viewer
	validator *Validator
}

// New parses and validates the embedded document, renders it as JSON and
// prepares the viewers. An error means the embedded files are broken, which
// is a build defect; the server should refuse to start.
func New() (*Docs, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(specYAML)
	if err != nil {
		return nil, fmt.Errorf("parse embedded openapi.yaml: %w", err)
	}
	delete(doc.Extensions, headerSetsExtension)
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate embedded openapi.yaml: %w", err)
	}
	ops, err := operations(doc)
	if err != nil {
		return nil, fmt.Errorf("check roles in embedded openapi.yaml: %w", err)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("render openapi document as JSON: %w", err)
	}
	d := &Docs{doc: doc, json: js, etag: etagOf(js), ops: ops}
	if d.swaggerUI, err = newViewer(SwaggerUIPath, "swagger-ui"); err != nil {
		return nil, err
	}
	if d.redoc, err = newViewer(ReDocPath, "redoc"); err != nil {
		return nil, err
	}
	if d.validator, err = newValidator(doc); err != nil {
		return nil, err
	}
	return d, nil
}

// Spec returns the document as JSON. The slice is the caller's own copy.
func (d *Docs) Spec() []byte { return slices.Clone(d.json) }

// Operations lists every operation of the document, sorted by path and
// method, so the server's tests can check that each route is documented
// and enforces the documented role.
func (d *Docs) Operations() []Operation { return slices.Clone(d.ops) }

// Validator checks requests and responses against the document.
func (d *Docs) Validator() *Validator { return d.validator }

// SpecHandler serves the document as JSON at SpecPath.
func (d *Docs) SpecHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowRead(w, r) {
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", d.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(d.json))
	})
}

// SwaggerUI serves Swagger UI at SwaggerUIPath (also with a trailing slash
// or as index.html) and its files under SwaggerUIPath+"/assets/". The
// handler looks at the whole request path, so mount it without stripping
// a prefix.
func (d *Docs) SwaggerUI() http.Handler { return d.swaggerUI }

// ReDoc serves ReDoc at ReDocPath and its files under ReDocPath+"/assets/",
// like SwaggerUI.
func (d *Docs) ReDoc() http.Handler { return d.redoc }

// operations lists the document's operations and checks that each one
// names a valid role and that its security matches: public operations
// need no credentials, all others do.
func operations(doc *openapi3.T) ([]Operation, error) {
	var ops []Operation
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			role, _ := op.Extensions[roleExtension].(string)
			switch role {
			case RolePublic, RoleViewer, RoleMember, RoleAdmin:
			default:
				return nil, fmt.Errorf("%s %s: %s is %q, want public, viewer, member or admin", method, path, roleExtension, role)
			}
			public := op.Security != nil && len(*op.Security) == 0
			if (role == RolePublic) != public {
				return nil, fmt.Errorf("%s %s: role %q but security %s", method, path, role, securityWord(public))
			}
			ops = append(ops, Operation{Method: method, Path: path, ID: op.OperationID, Role: role})
		}
	}
	slices.SortFunc(ops, func(a, b Operation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return ops, nil
}

func securityWord(public bool) string {
	if public {
		return "is empty (public)"
	}
	return "requires credentials"
}

// etagOf is a strong validator for content that never changes while the
// process runs.
func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}
