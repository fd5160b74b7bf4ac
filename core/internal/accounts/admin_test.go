package accounts

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/server"
)

func TestAdminErrorMapping(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, _ := newService(t, e, e.open(t), nil)
		ctx := ctxT(t)
		p := mustProject(t, s, "acme", 0)
		u, err := s.CreateUser(ctx, "Ada@Example.com", "Ada")
		if err != nil || u.Email != "ada@example.com" {
			t.Fatalf("create user: %+v, %v", u, err)
		}
		past := e.clock.Now().Add(-time.Minute)
		tests := []struct {
			name string
			do   func() error
			err  error
		}{
			{"duplicate email", func() error { _, err := s.CreateUser(ctx, "ada@example.com", ""); return err }, server.ErrConflict},
			{"empty email", func() error { _, err := s.CreateUser(ctx, " ", ""); return err }, server.ErrInvalid},
			{"duplicate project", func() error { _, err := s.CreateProject(ctx, "acme"); return err }, server.ErrConflict},
			{"reserved project name", func() error { _, err := s.CreateProject(ctx, "default"); return err }, server.ErrInvalid},
			{"unknown project", func() error { _, err := s.GetProject(ctx, "prj_missing"); return err }, server.ErrNotFound},
			{"key without project", func() error { _, err := s.CreateKey(ctx, server.KeyRequest{}); return err }, server.ErrInvalid},
			{"key with a bad role", func() error {
				_, err := s.CreateKey(ctx, server.KeyRequest{ProjectID: p.ID, Role: "owner"})
				return err
			}, server.ErrInvalid},
			{"key already expired", func() error {
				_, err := s.CreateKey(ctx, server.KeyRequest{ProjectID: p.ID, ExpiresAt: &past})
				return err
			}, server.ErrInvalid},
			{"key in an unknown project", func() error {
				_, err := s.CreateKey(ctx, server.KeyRequest{ProjectID: "prj_missing"})
				return err
			}, server.ErrNotFound},
			{"key for an unknown user", func() error {
				_, err := s.CreateKey(ctx, server.KeyRequest{ProjectID: p.ID, UserID: "usr_missing"})
				return err
			}, server.ErrNotFound},
			{"keys of an unknown project", func() error { _, err := s.ListKeys(ctx, "prj_missing"); return err }, server.ErrNotFound},
			{"member with a bad role", func() error { return s.AddMember(ctx, p.ID, u.ID, "owner") }, server.ErrInvalid},
			{"member of an unknown project", func() error { return s.AddMember(ctx, "prj_missing", u.ID, "member") }, server.ErrNotFound},
			{"member", func() error { return s.AddMember(ctx, p.ID, u.ID, "viewer") }, nil},
			{"revoke unknown", func() error { _, err := s.RevokeKey(ctx, "key_missing"); return err }, server.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.do()
				wantErr(t, tt.name, err, tt.err)
				if err != nil && strings.Count(err.Error(), tt.err.Error()) > 1 {
					t.Fatalf("error %q repeats its sentinel", err)
				}
			})
		}
		// A revoked key cannot be rotated.
		k := mustKey(t, s, server.KeyRequest{ProjectID: p.ID})
		if _, err := s.RevokeKey(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.RotateKey(ctx, k.ID)
		wantErr(t, "rotate revoked", err, server.ErrInvalid)

		ps, err := s.ListProjects(ctx)
		if err != nil || len(ps) != 2 || ps[0].ID != "default" || !ps[0].Unlimited {
			t.Fatalf("projects %+v, %v", ps, err)
		}
		all, err := s.ListKeys(ctx, "")
		if err != nil || len(all) != 1 || !strings.HasPrefix(all[0].Prefix, "of_live_") {
			t.Fatalf("all keys %+v, %v", all, err)
		}
		if err := s.Ready(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLastUsedRecorded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, _ := newService(t, e, e.open(t), nil)
		ctx := ctxT(t)
		p := mustProject(t, s, "acme", 0)
		k := mustKey(t, s, server.KeyRequest{ProjectID: p.ID})
		if _, err := s.Authenticate(ctx, k.Plaintext); err != nil {
			t.Fatal(err)
		}
		if err := s.flushLastUsed(ctx); err != nil {
			t.Fatal(err)
		}
		ks, err := s.ListKeys(ctx, p.ID)
		if err != nil || len(ks) != 1 || ks[0].LastUsedAt == nil || !ks[0].LastUsedAt.Equal(e.clock.Now()) {
			t.Fatalf("keys %+v, %v", ks, err)
		}
	})
}

func TestStoreDown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		st := e.open(t)
		s, _ := newService(t, e, st, nil)
		ctx := ctxT(t)
		p := mustProject(t, s, "acme", 100)
		k := mustKey(t, s, server.KeyRequest{ProjectID: p.ID})
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := s.Authenticate(ctx, k.Plaintext)
		wantErr(t, "authenticate with the store down", err, server.ErrBudgetUnavailable)
		if strings.Contains(err.Error(), k.Plaintext) {
			t.Fatal("error contains the key")
		}
		// The bootstrap key needs no store.
		admin, err := s.Authenticate(ctx, testAdminKey)
		if err != nil {
			t.Fatal(err)
		}
		// Unlimited calls take no hold, so the outage shows when their
		// charges cannot be written; from then on they are refused too.
		h, err := s.Reserve(ctx, admin, "r1", 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Settle(ctx, 1, server.UsageRecord{Provider: "x", Model: "y"}); err != nil {
			t.Fatal(err)
		}
		if err := s.charges.flush(); err == nil {
			t.Fatal("recording a charge with the store down succeeded")
		}
		_, err = s.Reserve(ctx, admin, "r2", 1)
		wantErr(t, "reserve with the store down", err, server.ErrBudgetUnavailable)
		wantErr(t, "ready", s.Ready(ctx), server.ErrBudgetUnavailable)
	})
}

func TestCLI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, _ := newService(t, e, e.open(t), nil)
		ctx := ctxT(t)
		run := func(args ...string) (string, error) {
			var out bytes.Buffer
			err := RunCLI(ctx, s, args, &out)
			return out.String(), err
		}
		mustRun := func(args ...string) string {
			t.Helper()
			out, err := run(args...)
			if err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			return out
		}
		idOf := func(out, prefix string) string {
			t.Helper()
			m := regexp.MustCompile(prefix + `_[0-9a-f]{32}`).FindString(out)
			if m == "" {
				t.Fatalf("no %s id in %q", prefix, out)
			}
			return m
		}

		out := mustRun("users", "create", "-email", "ada@example.com", "-name", "Ada")
		user := idOf(out, "usr")
		if !strings.Contains(mustRun("users", "list"), "ada@example.com") {
			t.Fatal("users list misses the user")
		}
		project := idOf(mustRun("projects", "create", "-name", "acme"), "prj")
		if out := mustRun("projects", "topup", project, "-credits", "12.5"); !strings.Contains(out, "balance 12.5") {
			t.Fatalf("topup printed %q", out)
		}
		if out := mustRun("projects", "topup", "-credits", "0.000001", project); !strings.Contains(out, "balance 12.500001") {
			t.Fatalf("topup (flags first) printed %q", out)
		}
		list := mustRun("projects", "list")
		if !containsAll(list, "acme", "12.500001", "default", "unlimited") {
			t.Fatalf("projects list:\n%s", list)
		}
		mustRun("projects", "add-member", project, "-user", user, "-role", "admin")

		out = mustRun("keys", "create", "-project", project, "-name", "ci", "-role", "viewer", "-user", user, "-expires", "720h")
		key := idOf(out, "key")
		plain := regexp.MustCompile(`of_live_[0-9A-Za-z]{8}_[0-9A-Za-z]{32}`).FindString(out)
		if plain == "" || !strings.Contains(out, "shown only this once") {
			t.Fatalf("keys create printed %q", out)
		}
		pr, err := s.Authenticate(ctx, plain)
		if err != nil || pr.KeyID != key || pr.Role != "viewer" || pr.UserID != user {
			t.Fatalf("the printed key authenticates as %+v, %v", pr, err)
		}
		list = mustRun("keys", "list", "-project", project)
		if !containsAll(list, key, "viewer", "active", "ci") || strings.Contains(list, plain) {
			t.Fatalf("keys list:\n%s", list)
		}
		out = mustRun("keys", "rotate", key)
		next := regexp.MustCompile(`of_live_[0-9A-Za-z]{8}_[0-9A-Za-z]{32}`).FindString(out)
		if next == "" || next == plain || !containsAll(out, "replaces key "+key, "keeps working until") {
			t.Fatalf("keys rotate printed %q", out)
		}
		if _, err := s.Authenticate(ctx, next); err != nil {
			t.Fatal(err)
		}
		if out := mustRun("keys", "revoke", key); !containsAll(out, "revoked key "+key, "10s") {
			t.Fatalf("keys revoke printed %q", out)
		}
		if list := mustRun("keys", "list"); !containsAll(list, "revoked", "active") {
			t.Fatalf("keys list after revoke:\n%s", list)
		}

		bad := []struct {
			name string
			args []string
			err  error
		}{
			{"no verb", []string{"keys"}, ErrUsage},
			{"unknown command", []string{"keys", "frobnicate"}, ErrUsage},
			{"unknown flag", []string{"projects", "list", "-x"}, ErrUsage},
			{"missing id", []string{"keys", "revoke"}, ErrUsage},
			{"extra argument", []string{"keys", "revoke", "a", "b"}, ErrUsage},
			{"bad credits", []string{"projects", "topup", project, "-credits", "1.2345678"}, ErrUsage},
			{"bad email", []string{"users", "create", "-email", "nope"}, ErrUsage},
			{"missing project", []string{"keys", "create"}, ErrUsage},
			{"unknown key", []string{"keys", "rotate", "key_missing"}, server.ErrNotFound},
			{"duplicate project", []string{"projects", "create", "-name", "acme"}, server.ErrConflict},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				out, err := run(tt.args...)
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				if out != "" {
					t.Fatalf("printed %q on error", out)
				}
			})
		}
	})
}
