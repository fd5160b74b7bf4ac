package accounts

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oneflow-ai/oneflow/core/internal/auth"
	"github.com/oneflow-ai/oneflow/core/internal/server"
	"github.com/oneflow-ai/oneflow/core/internal/store"
)

// Defaults applied by New when Config leaves a field at zero.
const (
	DefaultHoldTTL          = 10 * time.Minute
	DefaultKeyRotationGrace = 24 * time.Hour
	// DefaultRevocationTTL is how long a replica trusts a cached key.
	DefaultRevocationTTL = auth.DefaultKeyCacheTTL

	reapEvery      = 30 * time.Second
	retentionEvery = time.Hour
	touchEvery     = time.Minute
	// rotationCheckEvery caps how often the rotation policy runs; a
	// shorter KeyRotationInterval runs it at that interval instead.
	rotationCheckEvery = time.Hour
)

// JWTConfig configures access and refresh tokens.
type JWTConfig struct {
	// Algorithm is "HS256" (the default) or "RS256".
	Algorithm string
	// Secret is the HS256 key, at least 32 bytes. Empty disables JWTs:
	// IssueTokens explains how to enable them and Authenticate refuses
	// every token.
	Secret string
	// PrivateKeyPEM signs RS256 tokens; with PublicKeyPEM only, this
	// replica verifies tokens but cannot issue them.
	PrivateKeyPEM string
	PublicKeyPEM  string
	// AccessTTL defaults to auth.DefaultAccessTTL, RefreshTTL to
	// auth.DefaultRefreshTTL.
	AccessTTL  time.Duration
	RefreshTTL time.Duration
}

// Config configures New. Store is required; zero values elsewhere pick the
// defaults documented on each field.
type Config struct {
	// Store is the migrated database. The Service does not close it.
	Store *store.Store
	// AdminKey is the bootstrap admin key (auth.admin_key); empty disables it.
	AdminKey string
	JWT      JWTConfig
	// KeyRotationGrace is how long a rotated key keeps working; default
	// DefaultKeyRotationGrace.
	KeyRotationGrace time.Duration
	// KeyRotationInterval, when positive, makes Run put keys older than it
	// on a grace period (see the package doc). Zero disables the policy.
	KeyRotationInterval time.Duration
	// HoldTTL is how long a credit hold lives unsettled before the reaper
	// returns it; default DefaultHoldTTL. It must exceed the longest call.
	HoldTTL time.Duration
	// RevocationTTL bounds how long a replica trusts a cached key, and so
	// how long a revocation takes to reach the other replicas; default
	// DefaultRevocationTTL.
	RevocationTTL time.Duration
	// UsageRetention, when positive, makes Run delete raw usage records
	// older than it every hour (the rollups are kept).
	UsageRetention time.Duration
	// Usage tunes the asynchronous usage writer.
	Usage store.UsageWriterOptions
	// Clock defaults to time.Now. Give the store the same clock: hold
	// expiry is stamped by the store and reaped by this clock.
	Clock func() time.Time
	// Rand supplies key and token secrets; default crypto/rand.Reader.
	Rand io.Reader
	// Log defaults to a logger that discards everything.
	Log hclog.Logger
	// CreditLeases serves limited projects' holds from slices of their
	// balance held by this replica (see lease.go) instead of one store
	// hold per call: no store write on the request path.
	CreditLeases bool
	// OnUsageDropped, if set, is told how many usage records were lost:
	// refused by a full queue, or in a batch that failed for good. It
	// must not block (it runs on the request path or the writer's
	// goroutine); a metrics counter is the intended use.
	OnUsageDropped func(records int)
}

// Service implements server.Accounts over a store. It is safe for
// concurrent use.
type Service struct {
	st             *store.Store
	log            hclog.Logger
	clock          func() time.Time
	rand           io.Reader
	grace          time.Duration
	rotateInterval time.Duration
	holdTTL        time.Duration
	retention      time.Duration
	defaultProject string
	bootstrap      bool // an admin key is configured

	cache    *auth.KeyCache
	authn    *auth.Authenticator
	issuer   *auth.Issuer   // nil when JWTs are disabled
	sessions *auth.Sessions // nil when this replica cannot issue tokens
	// noTokens says why sessions is nil.
	noTokens string

	usage     *store.UsageWriter
	onDropped func(int)
	// charges batches unlimited projects' charges; limits caches which
	// projects are unlimited (see unlimited.go).
	charges *charger
	limits  limits
	// leases hold slices of limited projects' balances (see lease.go).
	leases        leases
	slicesWG      sync.WaitGroup
	leasesClosing atomic.Bool // set by closeAllSlices: no more background opens
	useLeases     bool

	// seen collects the ids of keys used since the last flush, so
	// last_used_at is written once a minute, not per request.
	seenMu sync.Mutex
	seen   map[string]struct{}
}

var _ server.Accounts = (*Service)(nil)

// New builds a Service on a migrated store, creating the built-in
// "default" project if it does not exist yet. It fails on an unusable JWT
// configuration (a short secret, a bad key) rather than at the first token.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("build accounts: no store")
	}
	s := &Service{
		st: cfg.Store, log: cfg.Log, clock: cfg.Clock, rand: cfg.Rand,
		grace: cfg.KeyRotationGrace, rotateInterval: cfg.KeyRotationInterval, holdTTL: cfg.HoldTTL,
		retention: cfg.UsageRetention, bootstrap: cfg.AdminKey != "", onDropped: cfg.OnUsageDropped,
		seen: make(map[string]struct{}),
	}
	if s.log == nil {
		s.log = hclog.NewNullLogger()
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.grace <= 0 {
		s.grace = DefaultKeyRotationGrace
	}
	if s.holdTTL <= 0 {
		s.holdTTL = DefaultHoldTTL
	}
	if s.onDropped == nil {
		s.onDropped = func(int) {}
	}
	ttl := cfg.RevocationTTL
	if ttl <= 0 {
		ttl = DefaultRevocationTTL
	}
	s.cache = auth.NewKeyCache(ttl, s.clock)
	authn, err := auth.NewAuthenticator(auth.AuthenticatorConfig{
		Store: keyStore{s.st}, Cache: s.cache, Clock: s.clock, AdminKey: cfg.AdminKey,
	})
	if err != nil {
		return nil, fmt.Errorf("build accounts: %w", err)
	}
	s.authn = authn
	if err := s.buildTokens(cfg.JWT); err != nil {
		return nil, fmt.Errorf("build accounts: %w", err)
	}
	p, err := s.st.EnsureDefaultProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("build accounts: %w", err)
	}
	s.defaultProject = p.ID

	wopts := cfg.Usage
	userOnError := wopts.OnError
	wopts.OnError = func(err error, records int) {
		s.log.Error("usage batch lost", "records", records, "err", err)
		s.onDropped(records)
		if userOnError != nil {
			userOnError(err, records)
		}
	}
	s.usage = store.NewUsageWriter(s.st, wopts)
	s.limits.m = make(map[string]limitEntry)
	s.leases.m = make(map[string]*projectLease)
	s.useLeases = cfg.CreditLeases
	s.charges = newCharger(s.st, func(n int) { s.onDropped(n) }, s.log.Warn)
	return s, nil
}

// buildTokens sets up the issuer and sessions, or records why there are none.
func (s *Service) buildTokens(cfg JWTConfig) error {
	alg := cfg.Algorithm
	if alg == "" {
		alg = "HS256"
	}
	if alg == "HS256" && cfg.Secret == "" {
		s.noTokens = "JWT access tokens are disabled: set auth.jwt_secret (ONEFLOW_JWT_SECRET) to a random string of at least 32 bytes"
		return nil
	}
	iss, err := auth.NewIssuer(auth.IssuerConfig{
		Algorithm: alg, Secret: []byte(cfg.Secret), PrivateKeyPEM: []byte(cfg.PrivateKeyPEM),
		PublicKeyPEM: []byte(cfg.PublicKeyPEM), AccessTTL: cfg.AccessTTL, Clock: s.clock, Rand: s.rand,
	})
	if err != nil {
		return err
	}
	s.issuer = iss
	if alg == "RS256" && cfg.PrivateKeyPEM == "" {
		s.noTokens = "this replica only verifies JWTs: configure the RS256 private key to issue them"
		return nil
	}
	sess, err := auth.NewSessions(auth.SessionsConfig{
		Issuer: iss, Store: refreshStore{s.st}, RefreshTTL: cfg.RefreshTTL, Clock: s.clock, Rand: s.rand,
		Reauthorize: s.reauthorize,
	})
	if err != nil {
		return err
	}
	s.sessions = sess
	return nil
}

// DefaultProjectID is the built-in project the bootstrap admin bills to.
func (s *Service) DefaultProjectID() string { return s.defaultProject }

// UsageStats reports the usage writer's counters, for metrics.
func (s *Service) UsageStats() store.UsageWriterStats { return s.usage.Stats() }

// Close flushes the usage queue and writes pending last-used stamps; ctx
// bounds the final writes. Stop Run (cancel its context) and the HTTP
// server first: usage settled after Close is dropped and counted. The
// store stays open.
func (s *Service) Close(ctx context.Context) error {
	if err := s.closeAllSlices(ctx); err != nil {
		s.log.Warn("some credit slices were not closed; the reaper will return them", "err", err)
	}
	s.charges.close()
	touchErr := s.flushLastUsed(ctx)
	if err := s.usage.Close(ctx); err != nil {
		return fmt.Errorf("close accounts: %w", err)
	}
	if touchErr != nil {
		return fmt.Errorf("close accounts: %w", touchErr)
	}
	return nil
}

// Run does the periodic work until ctx ends, then returns nil: it reaps
// expired holds every 30 s, writes key last-used stamps every minute,
// deletes usage past retention and expired refresh tokens every hour, and
// applies the key rotation policy (see the package doc). Every replica may
// run it; each step is safe to run concurrently. Failures are logged and
// retried at the next tick.
func (s *Service) Run(ctx context.Context) error {
	type job struct {
		every time.Duration
		do    func(context.Context)
	}
	jobs := []job{
		{reapEvery, s.reap},
		{sliceLife, s.rotateSlices},
		{touchEvery, func(ctx context.Context) {
			if err := s.flushLastUsed(ctx); err != nil {
				s.log.Warn("cannot record key last use", "err", err)
			}
		}},
		{retentionEvery, s.cleanup},
	}
	if s.rotateInterval > 0 {
		jobs = append(jobs, job{min(rotationCheckEvery, s.rotateInterval), s.rotateDue})
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			t := time.NewTicker(j.every)
			defer t.Stop()
			j.do(ctx)
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					j.do(ctx)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// reap returns expired holds to their projects.
func (s *Service) reap(ctx context.Context) {
	n, err := s.st.ReapExpired(ctx, s.clock())
	if err != nil && ctx.Err() == nil {
		s.log.Error("cannot reap expired credit holds", "err", err)
	}
	if n > 0 {
		s.log.Warn("returned expired credit holds to their projects", "holds", n)
	}
}

// cleanup enforces usage retention and drops dead refresh tokens.
func (s *Service) cleanup(ctx context.Context) {
	now := s.clock()
	if s.retention > 0 {
		n, err := s.st.DeleteUsageBefore(ctx, now.Add(-s.retention))
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("cannot delete old usage records", "err", err)
		case n > 0:
			s.log.Info("deleted usage records past retention", "records", n)
		}
	}
	if _, err := s.st.DeleteAuthRefreshTokensExpiredBefore(ctx, now); err != nil && ctx.Err() == nil {
		s.log.Error("cannot delete expired refresh tokens", "err", err)
	}
}

// rotateDue applies the rotation policy: keys older than the interval get a
// grace period, after which they stop working.
func (s *Service) rotateDue(ctx context.Context) {
	now := s.clock()
	keys, err := s.st.ScheduleKeyExpiry(ctx, now.Add(-s.rotateInterval), now.Add(s.grace))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("cannot apply the key rotation policy", "err", err)
		}
		return
	}
	for _, k := range keys {
		s.cache.Delete(k.Hash)
		s.log.Warn("api key is due for rotation and stops working at the end of its grace period; rotate it to get a successor",
			"key_id", k.ID, "key_prefix", k.Prefix, "project", k.ProjectID, "grace_until", k.GraceUntil)
	}
}

// markUsed remembers that a key authenticated.
func (s *Service) markUsed(keyID string) {
	if keyID == "" {
		return
	}
	s.seenMu.Lock()
	s.seen[keyID] = struct{}{}
	s.seenMu.Unlock()
}

// flushLastUsed writes the last-used stamps collected since the last flush.
func (s *Service) flushLastUsed(ctx context.Context) error {
	s.seenMu.Lock()
	if len(s.seen) == 0 {
		s.seenMu.Unlock()
		return nil
	}
	ids := make([]string, 0, len(s.seen))
	for id := range s.seen {
		ids = append(ids, id)
	}
	clear(s.seen)
	s.seenMu.Unlock()
	if err := s.st.TouchLastUsed(ctx, s.clock(), ids...); err != nil {
		return fmt.Errorf("record last use of %d api keys: %w", len(ids), err)
	}
	return nil
}

// Ready reports whether the store answers.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.st.Ping(ctx); err != nil {
		return fmt.Errorf("accounts not ready: %w: %w", server.ErrBudgetUnavailable, err)
	}
	return nil
}
