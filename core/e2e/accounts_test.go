package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oneflow-ai/oneflow/core/internal/auth"
	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
	"github.com/oneflow-ai/oneflow/core/internal/store"
)

// doAs sends a request with the given credential ("" for none).
func (c *core) doAs(key, method, path string, body any) (*http.Response, []byte) {
	c.t.Helper()
	var r *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	} else {
		r = strings.NewReader("")
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, b
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

type projectResp struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	BalanceCredits string `json:"balance_credits"`
}

// setupProject creates a project with credits and a key of each role.
func setupProject(t *testing.T, c *core, name, credits string) (projectResp, map[string]string) {
	t.Helper()
	resp, b := c.do("POST", "/api/v1/admin/projects", map[string]any{"name": name})
	if resp.StatusCode != 201 {
		t.Fatalf("create project: %d %s", resp.StatusCode, b)
	}
	p := decode[projectResp](t, b)
	if p.ID == "" || p.Name != name || p.BalanceCredits != "0" {
		t.Fatalf("project %s", b)
	}
	if credits != "" {
		resp, b = c.do("POST", "/api/v1/admin/projects/"+p.ID+"/credits", map[string]any{"credits": credits})
		if resp.StatusCode != 200 || decode[projectResp](t, b).BalanceCredits != credits {
			t.Fatalf("top up: %d %s", resp.StatusCode, b)
		}
	}
	keys := map[string]string{}
	for _, role := range []string{"admin", "member", "viewer"} {
		resp, b = c.do("POST", "/api/v1/admin/keys", map[string]any{"project_id": p.ID, "name": role + "-key", "role": role})
		if resp.StatusCode != 201 {
			t.Fatalf("create %s key: %d %s", role, resp.StatusCode, b)
		}
		k := decode[struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		}](t, b)
		if k.ID == "" || !strings.HasPrefix(k.Key, "of_live_") {
			t.Fatalf("key %s", b)
		}
		keys[role] = k.Key
		keys[role+"-id"] = k.ID
	}
	return p, keys
}

// TestAdminAPIShapes pins the admin shapes outside tools script against.
func TestAdminAPIShapes(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	p, keys := setupProject(t, c, "shapes", "12.5")
	resp, b := c.do("GET", "/api/v1/admin/projects/"+p.ID, nil)
	if got := decode[projectResp](t, b); resp.StatusCode != 200 || got.ID != p.ID || got.Name != "shapes" || got.BalanceCredits != "12.5" {
		t.Fatalf("get project: %d %s", resp.StatusCode, b)
	}
	// A member key calls models, billed to its project.
	resp, b = c.doAs(keys["member"], "POST", "/v1/chat/completions", chatBody("gpt-4o-mini"))
	if resp.StatusCode != 200 {
		t.Fatalf("member chat: %d %s", resp.StatusCode, b)
	}
	charged := resp.Header.Get("X-OneFlow-Credits")
	resp, b = c.do("GET", "/api/v1/admin/projects/"+p.ID, nil)
	after := decode[projectResp](t, b).BalanceCredits
	if after == "12.5" || charged == "" || charged == "0" {
		t.Fatalf("balance %s after a call charged %s", after, charged)
	}
	// Bad inputs get clear errors.
	for _, tc := range []struct {
		path string
		body any
		want int
	}{
		{"/api/v1/admin/projects/" + p.ID + "/credits", map[string]any{"credits": 5}, 400},
		{"/api/v1/admin/projects/" + p.ID + "/credits", map[string]any{"credits": "-1"}, 400},
		{"/api/v1/admin/projects/" + p.ID + "/credits", map[string]any{"credits": "1.0000001"}, 400},
		{"/api/v1/admin/projects/nope/credits", map[string]any{"credits": "1"}, 404},
		{"/api/v1/admin/projects", map[string]any{"name": "shapes"}, 409},
		{"/api/v1/admin/keys", map[string]any{"project_id": p.ID, "role": "owner"}, 400},
	} {
		if resp, b := c.do("POST", tc.path, tc.body); resp.StatusCode != tc.want {
			t.Errorf("POST %s %v: %d %s, want %d", tc.path, tc.body, resp.StatusCode, b, tc.want)
		}
	}
}

// TestRouteRoleMatrix walks every route in the RBAC table with no key and
// with each role, and checks the answer is allowed or refused as stated.
func TestRouteRoleMatrix(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	p, keys := setupProject(t, c, "matrix", "100")
	// Spare keys to rotate and revoke, so the matrix does not break itself.
	spare := func() string {
		_, b := c.do("POST", "/api/v1/admin/keys", map[string]any{"project_id": p.ID, "name": "spare", "role": "viewer"})
		return decode[struct {
			ID string `json:"id"`
		}](t, b).ID
	}
	bodies := map[string]any{
		"/v1/chat/completions":               chatBody("gpt-4o-mini"),
		"/api/v1/request":                    map[string]any{"prompt": "hi", "model": "gpt-4o-mini"},
		"/api/v1/estimate":                   map[string]any{"model": "gpt-4o-mini", "input_tokens": 1},
		"/api/v1/admin/projects":             map[string]any{"name": "m-" + hex.EncodeToString(randBytes(4))},
		"/api/v1/admin/projects/:id/credits": map[string]any{"credits": "1"},
		"/api/v1/admin/keys":                 map[string]any{"project_id": p.ID, "role": "viewer"},
		"/api/v1/admin/users":                map[string]any{"email": "u@example.com"},
	}
	for _, r := range auth.Routes() {
		for _, role := range []string{"", "viewer", "member", "admin"} {
			name := role
			if name == "" {
				name = "anonymous"
			}
			t.Run(r.Method+" "+r.Path+" as "+name, func(t *testing.T) {
				path := strings.ReplaceAll(r.Path, ":id", p.ID)
				if strings.HasPrefix(r.Path, "/api/v1/admin/keys/:id") {
					path = strings.ReplaceAll(r.Path, ":id", spare())
				}
				body := bodies[r.Path]
				if r.Path == "/api/v1/admin/users" && r.Method == "POST" {
					body = map[string]any{"email": name + "-" + hex.EncodeToString(randBytes(3)) + "@example.com"}
				}
				if r.Path == "/api/v1/admin/projects" && r.Method == "POST" {
					body = map[string]any{"name": "m-" + hex.EncodeToString(randBytes(4))}
				}
				resp, b := c.doAs(keys[role], r.Method, path, body)
				switch {
				case r.Public():
					if resp.StatusCode == 401 || resp.StatusCode == 403 {
						t.Fatalf("public route refused: %d %s", resp.StatusCode, b)
					}
				case role == "":
					if resp.StatusCode != 401 {
						t.Fatalf("anonymous got %d %s", resp.StatusCode, b)
					}
				case auth.Allowed(auth.Role(role), r.Permission):
					if resp.StatusCode == 401 || resp.StatusCode == 403 {
						t.Fatalf("%s refused: %d %s", role, resp.StatusCode, b)
					}
				default:
					if resp.StatusCode != 403 {
						t.Fatalf("%s allowed (%d %s); the table says no", role, resp.StatusCode, b)
					}
				}
			})
		}
	}
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// TestKeyRotationAndRevocation: a rotated key works alongside its
// successor; a revoked key stops at once on the core that revoked it.
func TestKeyRotationAndRevocation(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	_, keys := setupProject(t, c, "rotation", "10")
	resp, b := c.do("POST", "/api/v1/admin/keys/"+keys["member-id"]+"/rotate", nil)
	if resp.StatusCode != 201 {
		t.Fatalf("rotate: %d %s", resp.StatusCode, b)
	}
	rot := decode[map[string]any](t, b)
	newKey, _ := rot["key"].(string)
	if newKey == "" || rot["grace_until"] == nil {
		t.Fatalf("rotate response %s", b)
	}
	for _, k := range []string{keys["member"], newKey} {
		if resp, b := c.doAs(k, "GET", "/v1/models", nil); resp.StatusCode != 200 {
			t.Fatalf("during grace: %d %s", resp.StatusCode, b)
		}
	}
	if resp, b := c.do("POST", "/api/v1/admin/keys/"+keys["viewer-id"]+"/revoke", nil); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, b)
	}
	if resp, _ := c.doAs(keys["viewer"], "GET", "/api/v1/usage", nil); resp.StatusCode != 401 {
		t.Fatalf("revoked key still works: %d", resp.StatusCode)
	}
}

// TestJWTFlow exchanges a key for tokens, calls with the access token,
// rotates the refresh token and refuses its reuse.
func TestJWTFlow(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, `
auth {
  admin_key  = env("TEST_ADMIN_KEY")
  jwt_secret = "0123456789abcdef0123456789abcdef-test"
}
`))
	c.waitReady()
	_, keys := setupProject(t, c, "jwt", "10")
	resp, b := c.doAs("", "POST", "/api/v1/auth/token", map[string]any{"api_key": keys["member"]})
	if resp.StatusCode != 200 {
		t.Fatalf("token: %d %s", resp.StatusCode, b)
	}
	tok := decode[struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
	}](t, b)
	if tok.TokenType != "Bearer" || strings.Count(tok.AccessToken, ".") != 2 {
		t.Fatalf("tokens %s", b)
	}
	if resp, b := c.doAs(tok.AccessToken, "GET", "/v1/models", nil); resp.StatusCode != 200 {
		t.Fatalf("access token refused: %d %s", resp.StatusCode, b)
	}
	// A tampered token and an unsigned one are refused.
	parts := strings.Split(tok.AccessToken, ".")
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
	for _, bad := range []string{parts[0] + "." + parts[1] + "x." + parts[2], none} {
		if resp, _ := c.doAs(bad, "GET", "/v1/models", nil); resp.StatusCode != 401 {
			t.Fatalf("forged token accepted: %d", resp.StatusCode)
		}
	}
	resp, b = c.doAs("", "POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": tok.RefreshToken})
	if resp.StatusCode != 200 {
		t.Fatalf("refresh: %d %s", resp.StatusCode, b)
	}
	if resp, _ := c.doAs("", "POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": tok.RefreshToken}); resp.StatusCode != 401 {
		t.Fatalf("reused refresh token accepted: %d", resp.StatusCode)
	}
}

// postgresURL makes a fresh schema on the test PostgreSQL, or fails under
// CI when there is none.
func postgresURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("ONEFLOW_TEST_POSTGRES_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable under CI: %v", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	schema := "e2e_" + hex.EncodeToString(randBytes(5))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(ctx)
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestConcurrentSpendNeverOverdraws: 200 concurrent calls against a
// balance that covers 50 holds → at most 50 succeed, the rest get 402
// insufficient_quota, and the ledger balances — on SQLite with one core,
// and on PostgreSQL with two cores sharing it, one killed with -9 mid-run.
func TestConcurrentSpendNeverOverdraws(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			// A slow upstream keeps every hold open until all 200 have
			// tried to reserve, so refunds cannot admit extra calls.
			_, up := newUpstream(t, fakeupstream.Faults{Latency: 1500 * time.Millisecond})
			cfg := configFor([]string{up}, "")
			var dbURL string
			var env []string
			if backend == "postgres" {
				dbURL = postgresURL(t)
				env = []string{"ONEFLOW_DATABASE_URL=" + dbURL}
			}
			c1 := startCore(t, cfg, env...)
			c1.waitReady()
			cores := []*core{c1}
			if backend == "postgres" {
				c2 := startCore(t, cfg, env...)
				c2.waitReady()
				cores = append(cores, c2)
			} else {
				dbURL = "sqlite://" + filepath.Join(c1.dir, "data", "oneflow.db")
			}
			// One call's hold: price it with the estimate endpoint for the
			// exact request, then fund exactly 50 of them.
			body := chatBody("gpt-4o-mini")
			body["max_tokens"] = 100
			p, keys := setupProject(t, c1, "spend-"+backend, "")
			resp, b := c1.doAs(keys["member"], "POST", "/api/v1/estimate", map[string]any{
				"model": "gpt-4o-mini", "messages": body["messages"], "output_tokens": 100})
			if resp.StatusCode != 200 {
				t.Fatalf("estimate: %d %s", resp.StatusCode, b)
			}
			hold := decode[struct {
				EstimatedCredits string `json:"estimated_credits"`
			}](t, b).EstimatedCredits
			st, err := store.Open(context.Background(), dbURL, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			one := parseMicro(t, hold)
			if _, err := st.TopUp(context.Background(), p.ID, 50*one, "fund-"+backend); err != nil {
				t.Fatal(err)
			}
			var ok, refused, other, okOnKilled atomic.Int64
			var wg sync.WaitGroup
			// With two cores the one to be killed gets the first half, so it
			// holds credits when it dies; the survivor gets the rest.
			pick := func(i int) int {
				if len(cores) == 1 || i >= 100 {
					return 0
				}
				return 1
			}
			for i := 0; i < 200; i++ {
				if i == 100 && len(cores) == 2 {
					time.Sleep(300 * time.Millisecond)
				}
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					c := cores[pick(i)]
					resp, b, err := tryAs(c, keys["member"], body)
					switch {
					case err == nil && resp.StatusCode == 200:
						ok.Add(1)
						if pick(i) == 1 {
							okOnKilled.Add(1)
						}
					case err == nil && resp.StatusCode == 402 && strings.Contains(string(b), `"insufficient_quota"`):
						refused.Add(1)
					default:
						other.Add(1)
					}
				}(i)
			}
			if len(cores) == 2 {
				time.Sleep(400 * time.Millisecond)
				if err := cores[1].cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
			t.Logf("%s: %d succeeded (%d on the core killed mid-run), %d refused with 402, %d failed otherwise", backend, ok.Load(), okOnKilled.Load(), refused.Load(), other.Load())
			if ok.Load() > 50 {
				t.Fatalf("%d calls succeeded against a balance covering 50", ok.Load())
			}
			if len(cores) == 1 && (ok.Load() != 50 || refused.Load() != 150) {
				t.Fatalf("want exactly 50 ok and 150 refused, got %d and %d", ok.Load(), refused.Load())
			}
			// Holds of the killed core stay open until reaped; the ledger
			// balances either way.
			waitFor(t, "settlements", 10*time.Second, func() bool { return st.VerifyLedger(context.Background()) == nil })
			bal, err := st.Balance(context.Background(), p.ID)
			if err != nil || bal < 0 {
				t.Fatalf("balance %d, %v", bal, err)
			}
		})
	}
}

func tryAs(c *core, key string, body any) (*http.Response, []byte, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", c.base+"/v1/chat/completions", strings.NewReader(string(b)))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp, out, err
}

func parseMicro(t *testing.T, credits string) int64 {
	t.Helper()
	whole, frac, _ := strings.Cut(credits, ".")
	frac = (frac + "000000")[:6]
	var w, f int64
	if _, err := fmt.Sscan(whole, &w); err != nil {
		t.Fatalf("credits %q: %v", credits, err)
	}
	if _, err := fmt.Sscan(strings.TrimLeft(frac, "0")+"0", &f); err != nil {
		t.Fatalf("credits %q: %v", credits, err)
	}
	return w*1_000_000 + f/10
}
