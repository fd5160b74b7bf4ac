package server

import (
	"context"
	"errors"
	"time"
)

// Accounts is the identity, money and usage side of the core, as the HTTP
// layer needs it. Implementations return errors wrapping the sentinels
// below so the handlers can answer with the right status.
type Accounts interface {
	// Authenticate resolves an API key or a JWT access token.
	Authenticate(ctx context.Context, credential string) (*Principal, error)
	// Reserve holds credits for one call of p (see Backend.Reserve).
	Reserve(ctx context.Context, p *Principal, requestID string, maxMicroCredits int64) (AccountHold, error)

	CreateUser(ctx context.Context, email, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	CreateProject(ctx context.Context, name string) (Project, error)
	ListProjects(ctx context.Context) ([]Project, error)
	GetProject(ctx context.Context, id string) (Project, error)
	// TopUp adds credits; requestID makes a retried top-up a no-op.
	TopUp(ctx context.Context, projectID string, microCredits int64, requestID string) (balance int64, err error)
	AddMember(ctx context.Context, projectID, userID, role string) error
	CreateKey(ctx context.Context, req KeyRequest) (CreatedKey, error)
	ListKeys(ctx context.Context, projectID string) ([]Key, error)
	// RotateKey issues a successor; the old key works until GraceUntil.
	RotateKey(ctx context.Context, id string) (CreatedKey, error)
	RevokeKey(ctx context.Context, id string) (Key, error)

	// IssueTokens exchanges an API key for a JWT access and refresh token.
	IssueTokens(ctx context.Context, apiKey string) (Tokens, error)
	// RefreshTokens rotates a refresh token.
	RefreshTokens(ctx context.Context, refreshToken string) (Tokens, error)

	UsageSeries(ctx context.Context, f UsageFilter) ([]UsageRow, error)
	UsageSummary(ctx context.Context, f UsageFilter) (UsageSummary, error)

	// Ready reports whether the store answers.
	Ready(ctx context.Context) error
}

// AccountHold settles one reservation.
type AccountHold interface {
	// Settle charges microCredits (releasing the rest of the hold) and
	// records the call's usage. charged may be 0 (a failed call).
	Settle(ctx context.Context, microCredits int64, rec UsageRecord) (charged int64, err error)
}

// The errors an Accounts implementation reports.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("already exists")
	ErrInvalid      = errors.New("invalid argument")
	ErrUnauthorized = errors.New("invalid credentials")
	// ErrInsufficientCredits and ErrBudgetUnavailable are in call.go.
)

// User is a person who can hold keys and project memberships.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Project owns a credit balance and keys.
type Project struct {
	ID                  string
	Name                string
	BalanceMicroCredits int64
	Unlimited           bool
	CreatedAt           time.Time
}

// KeyRequest asks for a new API key.
type KeyRequest struct {
	ProjectID string
	UserID    string
	Name      string
	Role      string
	ExpiresAt *time.Time
}

// Key is a stored API key, without its secret.
type Key struct {
	ID         string     `json:"id"`
	Prefix     string     `json:"prefix"`
	ProjectID  string     `json:"project_id"`
	UserID     string     `json:"user_id,omitempty"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	GraceUntil *time.Time `json:"grace_until,omitempty"`
	RotatedTo  string     `json:"rotated_to,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// CreatedKey is a new key with its plaintext, shown this once.
type CreatedKey struct {
	Key
	Plaintext string
	// Replaces is the rotated key's id and OldGraceUntil its end of grace.
	Replaces      string
	OldGraceUntil *time.Time
}

// Tokens is a JWT access token and its refresh token.
type Tokens struct {
	AccessToken      string    `json:"access_token"`
	TokenType        string    `json:"token_type"`
	ExpiresIn        int64     `json:"expires_in"`
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
}

// UsageRecord is one call as stored for analytics.
type UsageRecord struct {
	RequestID             string
	Time                  time.Time
	UserID                string
	ProjectID             string
	KeyID                 string
	Provider              string
	Model                 string
	Strategy              string
	InputTokens           int64
	CachedInputTokens     int64
	CacheWriteTokens      int64
	OutputTokens          int64
	EstimatedMicroCredits int64
	LatencyMS             int64
	Status                string
	Attempts              int
	PriceVersion          string
	Unpriced              bool
}

// UsageFilter selects usage for analytics.
type UsageFilter struct {
	ProjectIDs []string
	UserID     string
	Provider   string
	Model      string
	From, To   time.Time
	// GroupBy is "day", "model" or "provider".
	GroupBy string
}

// UsageRow is one group of usage.
type UsageRow struct {
	Key         string
	Requests    int64
	Errors      int64
	InputTokens int64
	// CachedInputTokens and CacheWriteTokens are the parts of InputTokens
	// the vendor read from and wrote to its prompt cache.
	CachedInputTokens int64
	CacheWriteTokens  int64
	OutputTokens      int64
	MicroCredits      int64
}

// UsageSummary is the cost breakdown of a filter.
type UsageSummary struct {
	TotalMicroCredits int64
	Requests          int64
	Errors            int64
	ByProvider        []UsageRow
	ByModel           []UsageRow
	TopProjects       []UsageRow
}
