package accounts

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/pricing"
	"github.com/oneflow-ai/oneflow/core/internal/server"
)

// CLIUsage lists the commands RunCLI understands.
const CLIUsage = `usage:
  oneflow users create -email EMAIL [-name NAME]
  oneflow users list
  oneflow projects create -name NAME
  oneflow projects list
  oneflow projects topup PROJECT_ID -credits AMOUNT
  oneflow projects add-member PROJECT_ID -user USER_ID [-role member]
  oneflow keys create -project PROJECT_ID [-name NAME] [-role member] [-user USER_ID] [-expires 720h]
  oneflow keys list [-project PROJECT_ID]
  oneflow keys rotate KEY_ID
  oneflow keys revoke KEY_ID`

// ErrUsage is wrapped by RunCLI errors caused by the command line itself
// (unknown command, bad flag, missing argument), so the caller can print
// CLIUsage and exit with status 2.
var ErrUsage = errors.New("usage error")

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}

// RunCLI runs `oneflow users|projects|keys ...`: args starts with the
// noun ("users", "projects" or "keys"). Results go to stdout; a new key's
// plaintext is printed once, there and nowhere else. Errors are returned,
// never printed.
func RunCLI(ctx context.Context, svc *Service, args []string, stdout io.Writer) error {
	if len(args) < 2 {
		return usageErr("expected a noun and a verb, e.g. \"keys list\"")
	}
	noun, verb, rest := args[0], args[1], args[2:]
	c := cli{ctx: ctx, svc: svc, out: stdout}
	cmds := map[string]func([]string) error{
		"users create":        c.usersCreate,
		"users list":          c.usersList,
		"projects create":     c.projectsCreate,
		"projects list":       c.projectsList,
		"projects topup":      c.projectsTopUp,
		"projects add-member": c.projectsAddMember,
		"keys create":         c.keysCreate,
		"keys list":           c.keysList,
		"keys rotate":         c.keysRotate,
		"keys revoke":         c.keysRevoke,
	}
	run, ok := cmds[noun+" "+verb]
	if !ok {
		return usageErr("unknown command %q", noun+" "+verb)
	}
	if err := run(rest); err != nil {
		return fmt.Errorf("%s %s: %w", noun, verb, err)
	}
	return nil
}

type cli struct {
	ctx context.Context
	svc *Service
	out io.Writer
}

// newFlags makes a flag set that reports errors instead of printing them.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args and, when wantID, one positional id that may come
// before or after the flags.
func parse(fs *flag.FlagSet, args []string, wantID bool) (string, error) {
	id := ""
	if wantID && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", usageErr("%v", err)
	}
	rest := fs.Args()
	if wantID && id == "" && len(rest) > 0 {
		id, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		return "", usageErr("unexpected arguments %q", rest)
	}
	if wantID && id == "" {
		return "", usageErr("an id is required")
	}
	return id, nil
}

func (c cli) usersCreate(args []string) error {
	fs := newFlags("users create")
	email := fs.String("email", "", "email address")
	name := fs.String("name", "", "display name")
	if _, err := parse(fs, args, false); err != nil {
		return err
	}
	if !strings.Contains(*email, "@") {
		return usageErr("-email must be an email address")
	}
	u, err := c.svc.CreateUser(c.ctx, *email, *name)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.out, "created user %s (%s)\n", u.ID, u.Email)
	return err
}

func (c cli) usersList(args []string) error {
	if _, err := parse(newFlags("users list"), args, false); err != nil {
		return err
	}
	us, err := c.svc.ListUsers(c.ctx)
	if err != nil {
		return err
	}
	return c.table([]string{"ID", "EMAIL", "NAME", "CREATED"}, len(us), func(i int) []string {
		return []string{us[i].ID, us[i].Email, us[i].Name, stamp(us[i].CreatedAt)}
	})
}

func (c cli) projectsCreate(args []string) error {
	fs := newFlags("projects create")
	name := fs.String("name", "", "project name")
	if _, err := parse(fs, args, false); err != nil {
		return err
	}
	if *name == "" {
		return usageErr("-name is required")
	}
	p, err := c.svc.CreateProject(c.ctx, *name)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.out, "created project %s (%s); top it up with: oneflow projects topup %s -credits AMOUNT\n", p.ID, p.Name, p.ID)
	return err
}

func (c cli) projectsList(args []string) error {
	if _, err := parse(newFlags("projects list"), args, false); err != nil {
		return err
	}
	ps, err := c.svc.ListProjects(c.ctx)
	if err != nil {
		return err
	}
	return c.table([]string{"ID", "NAME", "BALANCE", "CREATED"}, len(ps), func(i int) []string {
		bal := pricing.FormatCredits(ps[i].BalanceMicroCredits)
		if ps[i].Unlimited {
			bal = "unlimited (used " + pricing.FormatCredits(-ps[i].BalanceMicroCredits) + ")"
		}
		return []string{ps[i].ID, ps[i].Name, bal, stamp(ps[i].CreatedAt)}
	})
}

func (c cli) projectsTopUp(args []string) error {
	fs := newFlags("projects topup")
	credits := fs.String("credits", "", "credits to add, an exact decimal such as 12.5")
	id, err := parse(fs, args, true)
	if err != nil {
		return err
	}
	mc, err := pricing.ParseCredits(*credits)
	if err != nil || mc <= 0 {
		return usageErr("-credits must be a positive decimal with at most 6 decimals, e.g. 12.5")
	}
	// No request id: every command-line top-up is a new one.
	bal, err := c.svc.TopUp(c.ctx, id, mc, "")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.out, "added %s credits to project %s; balance %s\n", pricing.FormatCredits(mc), id, pricing.FormatCredits(bal))
	return err
}

func (c cli) projectsAddMember(args []string) error {
	fs := newFlags("projects add-member")
	user := fs.String("user", "", "user id")
	role := fs.String("role", "member", "admin, member or viewer")
	id, err := parse(fs, args, true)
	if err != nil {
		return err
	}
	if *user == "" {
		return usageErr("-user is required")
	}
	if err := c.svc.AddMember(c.ctx, id, *user, *role); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.out, "user %s is %s of project %s\n", *user, *role, id)
	return err
}

func (c cli) keysCreate(args []string) error {
	fs := newFlags("keys create")
	project := fs.String("project", "", "project id")
	name := fs.String("name", "", "key name")
	role := fs.String("role", "member", "admin, member or viewer")
	user := fs.String("user", "", "user id the key acts as (optional)")
	expires := fs.Duration("expires", 0, "lifetime, e.g. 720h (0: never expires)")
	if _, err := parse(fs, args, false); err != nil {
		return err
	}
	if *project == "" {
		return usageErr("-project is required")
	}
	if *expires < 0 {
		return usageErr("-expires must not be negative")
	}
	req := server.KeyRequest{ProjectID: *project, UserID: *user, Name: *name, Role: *role}
	if *expires > 0 {
		t := c.svc.clock().Add(*expires)
		req.ExpiresAt = &t
	}
	k, err := c.svc.CreateKey(c.ctx, req)
	if err != nil {
		return err
	}
	return c.printCreated(k)
}

func (c cli) printCreated(k server.CreatedKey) error {
	var b strings.Builder
	fmt.Fprintf(&b, "created key %s (%s) in project %s, role %s", k.ID, k.Prefix, k.ProjectID, k.Role)
	if k.ExpiresAt != nil {
		fmt.Fprintf(&b, ", expires %s", stamp(*k.ExpiresAt))
	}
	b.WriteString("\n")
	if k.Replaces != "" {
		fmt.Fprintf(&b, "it replaces key %s, which keeps working until %s\n", k.Replaces, stamp(*k.OldGraceUntil))
	}
	fmt.Fprintf(&b, "api key (shown only this once; store it now):\n%s\n", k.Plaintext)
	_, err := io.WriteString(c.out, b.String())
	return err
}

func (c cli) keysList(args []string) error {
	fs := newFlags("keys list")
	project := fs.String("project", "", "project id (default: every project)")
	if _, err := parse(fs, args, false); err != nil {
		return err
	}
	ks, err := c.svc.ListKeys(c.ctx, *project)
	if err != nil {
		return err
	}
	now := c.svc.clock()
	return c.table([]string{"ID", "PREFIX", "PROJECT", "USER", "NAME", "ROLE", "STATUS", "CREATED", "LAST USED"}, len(ks), func(i int) []string {
		k := ks[i]
		last := "never"
		if k.LastUsedAt != nil {
			last = stamp(*k.LastUsedAt)
		}
		return []string{k.ID, k.Prefix, k.ProjectID, dash(k.UserID), dash(k.Name), k.Role, keyStatus(k, now), stamp(k.CreatedAt), last}
	})
}

func (c cli) keysRotate(args []string) error {
	id, err := parse(newFlags("keys rotate"), args, true)
	if err != nil {
		return err
	}
	k, err := c.svc.RotateKey(c.ctx, id)
	if err != nil {
		return err
	}
	return c.printCreated(k)
}

func (c cli) keysRevoke(args []string) error {
	id, err := parse(newFlags("keys revoke"), args, true)
	if err != nil {
		return err
	}
	k, err := c.svc.RevokeKey(c.ctx, id)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.out, "revoked key %s (%s); other replicas stop accepting it within %s\n", k.ID, k.Prefix, c.svc.cache.TTL())
	return err
}

// table prints rows aligned under a header.
func (c cli) table(header []string, n int, row func(int) []string) error {
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for i := range n {
		fmt.Fprintln(tw, strings.Join(row(i), "\t"))
	}
	return tw.Flush()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
