package apidocs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// asset is one file a viewer serves.
type asset struct {
	body        []byte
	contentType string
	etag        string
	version     string // what the pages append as ?v= to make the URL unique per content
}

// viewer serves one documentation page and its assets.
type viewer struct {
	base   string // such as "/docs"
	index  []byte
	etag   string
	assets map[string]asset // by file name; a lookup, so no path can escape
}

// pageData is what the page templates see.
type pageData struct {
	Title   string
	SpecURL string
}

// newViewer loads assets/<name>/*, the page pages/<name>.html and its
// start-up script pages/<name>-init.js (served as oneflow-init.js).
func newViewer(base, name string) (*viewer, error) {
	v := &viewer{base: base, assets: map[string]asset{}}
	dir := "assets/" + name
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return nil, fmt.Errorf("list embedded %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if err := v.add(e.Name(), dir+"/"+e.Name()); err != nil {
			return nil, err
		}
	}
	if err := v.add("oneflow-init.js", "pages/"+name+"-init.js"); err != nil {
		return nil, err
	}

	page := "pages/" + name + ".html"
	src, err := files.ReadFile(page)
	if err != nil {
		return nil, fmt.Errorf("read embedded %s: %w", page, err)
	}
	var missing []string
	tmpl, err := template.New(name).Funcs(template.FuncMap{
		// asset turns a file name into its versioned URL, so a changed
		// file gets a new URL and the old one can be cached for good.
		"asset": func(file string) string {
			a, ok := v.assets[file]
			if !ok {
				missing = append(missing, file)
				return ""
			}
			return base + "/assets/" + file + "?v=" + a.version
		},
	}).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("parse embedded %s: %w", page, err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, pageData{Title: "OneFlow API", SpecURL: SpecPath}); err != nil {
		return nil, fmt.Errorf("render embedded %s: %w", page, err)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("render embedded %s: it links to assets that are not embedded: %s", page, strings.Join(missing, ", "))
	}
	v.index = buf.Bytes()
	v.etag = etagOf(v.index)
	return v, nil
}

func (v *viewer) add(name, file string) error {
	body, err := files.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read embedded %s: %w", file, err)
	}
	etag := etagOf(body)
	v.assets[name] = asset{body: body, contentType: contentTypeOf(name), etag: etag, version: strings.Trim(etag, `"`)}
	return nil
}

// contentTypeOf maps the few kinds of file a viewer has to their media
// types. A fixed table rather than mime.TypeByExtension, whose answers
// depend on the host's /etc/mime.types.
func contentTypeOf(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	default: // LICENSE, NOTICE, *.LICENSE.txt, README.md
		return "text/plain; charset=utf-8"
	}
}

func (v *viewer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowRead(w, r) {
		return
	}
	p := r.URL.Path
	h := w.Header()
	switch {
	case p == v.base || p == v.base+"/" || p == v.base+"/index.html":
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		// The page names versioned asset URLs; revalidating it is cheap
		// and picks up new versions after an upgrade.
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", v.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(v.index))
	case strings.HasPrefix(p, v.base+"/assets/"):
		a, ok := v.assets[strings.TrimPrefix(p, v.base+"/assets/")]
		if !ok {
			writeError(w, http.StatusNotFound, "not_found_error", "route_not_found", "no file "+p)
			return
		}
		h.Set("Content-Type", a.contentType)
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", a.etag)
		if r.URL.Query().Get("v") == a.version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	default:
		writeError(w, http.StatusNotFound, "not_found_error", "route_not_found", "no route "+r.Method+" "+p)
	}
}

// allowRead answers 405 to anything but GET and HEAD.
func allowRead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "method "+r.Method+" is not allowed on "+r.URL.Path)
	return false
}

// writeError answers in OpenAI's error shape like the rest of the API.
func writeError(w http.ResponseWriter, status int, typ, code, message string) {
	body, err := json.Marshal(map[string]any{"error": map[string]any{"message": message, "type": typ, "param": nil, "code": code}})
	if err != nil {
		http.Error(w, message, status)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("ETag")
	h.Del("Cache-Control")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
