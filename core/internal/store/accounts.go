package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// DefaultProjectName is the built-in project that EnsureDefaultProject
// creates; it is also its ID.
const DefaultProjectName = "default"

// User is a person who can sign in.
type User struct {
	ID        string
	Email     string // stored trimmed and lower-cased; unique
	Name      string
	CreatedAt time.Time
}

// Project owns credits, keys and members.
type Project struct {
	ID                  string
	Name                string
	BalanceMicroCredits int64
	// Unlimited projects are never refused for lack of credits; their
	// balance still moves with every charge (it goes negative by what they
	// used), which keeps the ledger balanced.
	Unlimited bool
	CreatedAt time.Time
}

// Role is a member's (or an API key's) power within a project.
type Role string

// Roles, strongest first.
const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleViewer Role = "viewer"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleMember || r == RoleViewer }

// Member is a user's role in one project.
type Member struct {
	ProjectID string
	UserID    string
	Role      Role
	CreatedAt time.Time
}

type userRow struct {
	ID        string `gorm:"primaryKey"`
	Email     string
	Name      string
	CreatedAt time.Time
}

func (userRow) TableName() string { return "users" }

func (r userRow) user() User {
	return User{ID: r.ID, Email: r.Email, Name: r.Name, CreatedAt: r.CreatedAt.UTC()}
}

type projectRow struct {
	ID                  string `gorm:"primaryKey"`
	Name                string
	BalanceMicroCredits int64
	Unlimited           bool
	CreatedAt           time.Time
}

func (projectRow) TableName() string { return "projects" }

func (r projectRow) project() Project {
	return Project{ID: r.ID, Name: r.Name, BalanceMicroCredits: r.BalanceMicroCredits, Unlimited: r.Unlimited, CreatedAt: r.CreatedAt.UTC()}
}

type memberRow struct {
	ProjectID string `gorm:"primaryKey"`
	UserID    string `gorm:"primaryKey"`
	Role      string
	CreatedAt time.Time
}

func (memberRow) TableName() string { return "project_members" }

// NormalizeEmail is the form emails are stored and looked up in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateUser inserts u, generating its ID when empty. A taken email returns
// ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	u.Email = NormalizeEmail(u.Email)
	if u.Email == "" {
		return User{}, fmt.Errorf("create user: empty email: %w", ErrInvalidArgument)
	}
	now := s.stamp()
	if u.ID == "" {
		u.ID = newID("usr", now)
	}
	row := userRow{ID: u.ID, Email: u.Email, Name: u.Name, CreatedAt: now}
	if err := s.wdb.WithContext(ctx).Create(&row).Error; err != nil {
		return User{}, dbErr("create user", err)
	}
	return row.user(), nil
}

// GetUser returns the user with id, or ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (User, error) {
	var row userRow
	if err := s.read(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return User{}, dbErr("get user", err)
	}
	return row.user(), nil
}

// GetUserByEmail returns the user with email (any case), or ErrNotFound.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (User, error) {
	var row userRow
	if err := s.read(ctx).Take(&row, "email = ?", NormalizeEmail(email)).Error; err != nil {
		return User{}, dbErr("get user by email", err)
	}
	return row.user(), nil
}

// ListUsers returns every user, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	var rows []userRow
	if err := s.read(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, dbErr("list users", err)
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = r.user()
	}
	return out, nil
}

// CreateProject inserts a limited project with a zero balance; credits
// arrive through TopUp so that the ledger explains every balance. A taken
// name returns ErrConflict; the name "default" is reserved.
func (s *Store) CreateProject(ctx context.Context, name string) (Project, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Project{}, fmt.Errorf("create project: empty name: %w", ErrInvalidArgument)
	}
	if name == DefaultProjectName {
		// Reserved for EnsureDefaultProject, which makes it unlimited.
		return Project{}, fmt.Errorf("create project: name %q is reserved: %w", name, ErrInvalidArgument)
	}
	now := s.stamp()
	row := projectRow{ID: newID("prj", now), Name: name, CreatedAt: now}
	if err := s.wdb.WithContext(ctx).Create(&row).Error; err != nil {
		return Project{}, dbErr(fmt.Sprintf("create project %q", name), err)
	}
	return row.project(), nil
}

// EnsureDefaultProject returns the built-in unlimited project (ID and name
// "default"), creating it on first use. Safe to call from several replicas
// at once.
func (s *Store) EnsureDefaultProject(ctx context.Context) (Project, error) {
	row := projectRow{ID: DefaultProjectName, Name: DefaultProjectName, Unlimited: true, CreatedAt: s.stamp()}
	err := s.wdb.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
	if err != nil {
		return Project{}, dbErr("create default project", err)
	}
	var got projectRow
	if err := s.wdb.WithContext(ctx).Take(&got, "name = ?", DefaultProjectName).Error; err != nil {
		return Project{}, dbErr("read default project", err)
	}
	return got.project(), nil
}

// GetProject returns the project with id, or ErrNotFound.
func (s *Store) GetProject(ctx context.Context, id string) (Project, error) {
	var row projectRow
	if err := s.read(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return Project{}, dbErr("get project", err)
	}
	return row.project(), nil
}

// GetProjectByName returns the project called name, or ErrNotFound.
func (s *Store) GetProjectByName(ctx context.Context, name string) (Project, error) {
	var row projectRow
	if err := s.read(ctx).Take(&row, "name = ?", name).Error; err != nil {
		return Project{}, dbErr("get project by name", err)
	}
	return row.project(), nil
}

// ListProjects returns every project, oldest first.
func (s *Store) ListProjects(ctx context.Context) ([]Project, error) {
	var rows []projectRow
	if err := s.read(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, dbErr("list projects", err)
	}
	out := make([]Project, len(rows))
	for i, r := range rows {
		out[i] = r.project()
	}
	return out, nil
}

// AddMember gives userID role in projectID, replacing any previous role.
// An unknown project or user returns ErrNotFound.
func (s *Store) AddMember(ctx context.Context, projectID, userID string, role Role) error {
	if !role.Valid() {
		return fmt.Errorf("add member: role %q: %w", role, ErrInvalidArgument)
	}
	row := memberRow{ProjectID: projectID, UserID: userID, Role: string(role), CreatedAt: s.stamp()}
	err := s.wdb.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "project_id"}, {Name: "user_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"role"}),
	}).Create(&row).Error
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return fmt.Errorf("add member: unknown project or user: %w", ErrNotFound)
	}
	return dbErr("add member", err)
}

// RemoveMember removes userID from projectID; ErrNotFound if not a member.
func (s *Store) RemoveMember(ctx context.Context, projectID, userID string) error {
	res := s.wdb.WithContext(ctx).Where("project_id = ? AND user_id = ?", projectID, userID).Delete(&memberRow{})
	if res.Error != nil {
		return dbErr("remove member", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("remove member: %w", ErrNotFound)
	}
	return nil
}

// MemberRole returns userID's role in projectID, or ErrNotFound.
func (s *Store) MemberRole(ctx context.Context, projectID, userID string) (Role, error) {
	var row memberRow
	if err := s.read(ctx).Take(&row, "project_id = ? AND user_id = ?", projectID, userID).Error; err != nil {
		return "", dbErr("get member role", err)
	}
	return Role(row.Role), nil
}

// ListMembers returns projectID's members, oldest first.
func (s *Store) ListMembers(ctx context.Context, projectID string) ([]Member, error) {
	var rows []memberRow
	if err := s.read(ctx).Where("project_id = ?", projectID).Order("created_at, user_id").Find(&rows).Error; err != nil {
		return nil, dbErr("list members", err)
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = Member{ProjectID: r.ProjectID, UserID: r.UserID, Role: Role(r.Role), CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// ListUserProjects returns the memberships of userID, oldest first.
func (s *Store) ListUserProjects(ctx context.Context, userID string) ([]Member, error) {
	var rows []memberRow
	if err := s.read(ctx).Where("user_id = ?", userID).Order("created_at, project_id").Find(&rows).Error; err != nil {
		return nil, dbErr("list user projects", err)
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = Member{ProjectID: r.ProjectID, UserID: r.UserID, Role: Role(r.Role), CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}
