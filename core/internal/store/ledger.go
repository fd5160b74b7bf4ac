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

// Ledger accounts that are not per project or per hold.
const (
	AccountRevenue  = "revenue"  // credited with every settled charge
	AccountTopUp    = "topup"    // debited with every top-up (money coming in)
	AccountWriteOff = "writeoff" // debited with usage a limited project could not pay
)

// EntryKind says why a ledger entry was written.
type EntryKind string

// Entry kinds.
const (
	KindTopUp    EntryKind = "topup"
	KindReserve  EntryKind = "reserve"
	KindSettle   EntryKind = "settle"
	KindRelease  EntryKind = "release"
	KindExpire   EntryKind = "expire"
	KindWriteOff EntryKind = "writeoff"
)

// ProjectAccount is the ledger account of a project's balance.
func ProjectAccount(projectID string) string { return "project:" + projectID }

// HoldAccount is the ledger account of one request's hold.
func HoldAccount(requestID string) string { return "hold:" + requestID }

// LedgerEntry is one signed movement on one account.
type LedgerEntry struct {
	ID                 string
	TxID               string
	Account            string
	AmountMicroCredits int64
	RequestID          string
	Kind               EntryKind
	CreatedAt          time.Time
}

// Hold is credit set aside for a request in flight.
type Hold struct {
	RequestID          string
	ProjectID          string
	AmountMicroCredits int64
	ExpiresAt          time.Time
	CreatedAt          time.Time
}

// Settlement reports how Settle closed a hold. Charged + Refunded equals
// Held plus whatever overshoot was taken from the balance; WrittenOff is
// reported usage that could not be charged (actual = Charged + WrittenOff).
type Settlement struct {
	RequestID              string
	ProjectID              string
	HeldMicroCredits       int64
	ChargedMicroCredits    int64
	RefundedMicroCredits   int64
	WrittenOffMicroCredits int64
}

type ledgerRow struct {
	ID                 string `gorm:"primaryKey"`
	TxID               string
	Account            string
	AmountMicroCredits int64
	RequestID          string
	Kind               string
	CreatedAt          time.Time
}

func (ledgerRow) TableName() string { return "ledger_entries" }

type holdRow struct {
	RequestID          string `gorm:"primaryKey"`
	ProjectID          string
	AmountMicroCredits int64
	ExpiresAt          time.Time
	CreatedAt          time.Time
}

func (holdRow) TableName() string { return "holds" }

func (r holdRow) hold() Hold {
	return Hold{RequestID: r.RequestID, ProjectID: r.ProjectID, AmountMicroCredits: r.AmountMicroCredits,
		ExpiresAt: r.ExpiresAt.UTC(), CreatedAt: r.CreatedAt.UTC()}
}

// posting is one leg of a ledger transaction before it gets IDs.
type posting struct {
	account string
	amount  int64
	kind    EntryKind
}

// post writes the legs of one balanced transaction. Zero legs are skipped;
// legs that do not sum to zero are a programming error caught here rather
// than by VerifyLedger later.
func (s *Store) post(tx *gorm.DB, requestID string, legs ...posting) error {
	var sum int64
	rows := make([]ledgerRow, 0, len(legs))
	now := s.stamp()
	txID := newID("ltx", now)
	for _, l := range legs {
		sum += l.amount
		if l.amount == 0 {
			continue
		}
		rows = append(rows, ledgerRow{
			ID: newID("le", now), TxID: txID, Account: l.account, AmountMicroCredits: l.amount,
			RequestID: requestID, Kind: string(l.kind), CreatedAt: now,
		})
	}
	if sum != 0 {
		return fmt.Errorf("post ledger transaction for request %q: legs sum to %d, not 0", requestID, sum)
	}
	if len(rows) == 0 {
		return nil
	}
	if err := tx.Create(&rows).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return fmt.Errorf("post ledger transaction: %w", ErrDuplicateRequest)
		}
		return dbErr("post ledger transaction", err)
	}
	return nil
}

// addBalance moves a project's balance by delta unconditionally (refunds,
// top-ups). ErrNotFound if the project does not exist.
func addBalance(tx *gorm.DB, projectID string, delta int64) error {
	if delta == 0 {
		return nil
	}
	res := tx.Model(&projectRow{}).Where("id = ?", projectID).
		Update("balance_micro_credits", gorm.Expr("balance_micro_credits + ?", delta))
	if res.Error != nil {
		return dbErr("update project balance", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("update project balance: project %q: %w", projectID, ErrNotFound)
	}
	return nil
}

// TopUp adds amount micro-credits to a project and returns the new balance.
// Ledger: topup -amount, project:<id> +amount. requestID makes it
// idempotent: a second top-up with the same requestID returns
// ErrDuplicateRequest and changes nothing (an empty requestID gets a fresh
// one, so it is never deduplicated).
func (s *Store) TopUp(ctx context.Context, projectID string, amount int64, requestID string) (int64, error) {
	if amount <= 0 {
		return 0, fmt.Errorf("top up project %q: amount %d: %w", projectID, amount, ErrInvalidArgument)
	}
	if requestID == "" {
		requestID = newID("topup", s.now())
	}
	var balance int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := addBalance(tx, projectID, amount); err != nil {
			return err
		}
		if err := s.post(tx, requestID,
			posting{AccountTopUp, -amount, KindTopUp},
			posting{ProjectAccount(projectID), amount, KindTopUp},
		); err != nil {
			return err
		}
		return tx.Model(&projectRow{}).Where("id = ?", projectID).Pluck("balance_micro_credits", &balance).Error
	})
	if err != nil {
		return 0, fmt.Errorf("top up project %q: %w", projectID, err)
	}
	return balance, nil
}

// Reserve sets amount aside for requestID until it is settled, released or
// it expires (after ttl). A limited project must have balance >= amount,
// else ErrInsufficientCredits; an unlimited project is never refused.
// Ledger: project:<id> -amount, hold:<request> +amount.
//
// Concurrency: the balance check and the debit are one conditional UPDATE
// (balance = balance - amount WHERE balance >= amount). On PostgreSQL the
// row lock it takes makes concurrent reservations, from any number of
// replicas, queue on the project row and re-check the condition against the
// committed balance, so a balance is never over-committed. On SQLite the
// single writer connection serializes the transactions.
func (s *Store) Reserve(ctx context.Context, projectID, requestID string, amount int64, ttl time.Duration) error {
	if requestID == "" || amount < 0 || ttl <= 0 {
		return fmt.Errorf("reserve credits: request %q, amount %d, ttl %s: %w", requestID, amount, ttl, ErrInvalidArgument)
	}
	now := s.stamp()
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&projectRow{}).
			Where("id = ? AND (unlimited = ? OR balance_micro_credits >= ?)", projectID, true, amount).
			Update("balance_micro_credits", gorm.Expr("balance_micro_credits - ?", amount))
		if res.Error != nil {
			return dbErr("debit project", res.Error)
		}
		if res.RowsAffected == 0 {
			var n int64
			if err := tx.Model(&projectRow{}).Where("id = ?", projectID).Count(&n).Error; err != nil {
				return dbErr("look up project", err)
			}
			if n == 0 {
				return fmt.Errorf("project %q: %w", projectID, ErrNotFound)
			}
			return ErrInsufficientCredits
		}
		h := holdRow{RequestID: requestID, ProjectID: projectID, AmountMicroCredits: amount,
			ExpiresAt: dbTime(now.Add(ttl)), CreatedAt: now}
		if err := tx.Create(&h).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrDuplicateRequest
			}
			return dbErr("insert hold", err)
		}
		// A closed hold leaves its reserve entries behind; their unique key
		// (account, kind, request) refuses a second reservation under the
		// same request id.
		return s.post(tx, requestID,
			posting{ProjectAccount(projectID), -amount, KindReserve},
			posting{HoldAccount(requestID), amount, KindReserve},
		)
	})
	if err != nil {
		return fmt.Errorf("reserve %d credits for request %q on project %q: %w", amount, requestID, projectID, err)
	}
	return nil
}

// claimHold deletes the open hold of requestID and returns it, or
// ErrHoldNotFound. Deleting first (rather than reading) makes two
// concurrent closers race on the row: exactly one gets it. DELETE ...
// RETURNING is supported by PostgreSQL and by SQLite since 3.35.
func claimHold(tx *gorm.DB, requestID string, expiredBefore *time.Time) (holdRow, error) {
	var rows []holdRow
	q := "DELETE FROM holds WHERE request_id = ? RETURNING request_id, project_id, amount_micro_credits"
	args := []any{requestID}
	if expiredBefore != nil {
		q = "DELETE FROM holds WHERE request_id = ? AND expires_at < ? RETURNING request_id, project_id, amount_micro_credits"
		args = append(args, *expiredBefore)
	}
	if err := tx.Raw(q, args...).Scan(&rows).Error; err != nil {
		return holdRow{}, dbErr("claim hold", err)
	}
	if len(rows) == 0 {
		return holdRow{}, ErrHoldNotFound
	}
	return rows[0], nil
}

// Settle closes requestID's hold, charging actual micro-credits.
//
// The rule, so that a limited project's balance never goes negative:
//   - actual <= hold: charge actual, refund hold - actual to the project.
//   - actual > hold (the vendor reported more than estimated): charge the
//     hold plus as much of the overshoot as the project's balance covers;
//     what remains is recorded as a write-off (account "writeoff", kind
//     writeoff) rather than debt. Unlimited projects are charged in full.
//
// Ledger: hold:<request> -hold, project:<id> +refund or -extra, revenue
// +actual, writeoff -(actual - charged); the legs sum to zero. An unknown or
// already closed hold returns ErrHoldNotFound and changes nothing, so a
// retried Settle is harmless.
func (s *Store) Settle(ctx context.Context, requestID string, actual int64) (Settlement, error) {
	if actual < 0 {
		return Settlement{}, fmt.Errorf("settle request %q: actual %d: %w", requestID, actual, ErrInvalidArgument)
	}
	var out Settlement
	err := s.write(ctx, func(tx *gorm.DB) error {
		h, err := claimHold(tx, requestID, nil)
		if err != nil {
			return err
		}
		held := h.AmountMicroCredits
		charged := actual
		if actual > held {
			var p projectRow
			// Lock the row: the extra debit below must see the balance it
			// is computed from (SQLite ignores FOR UPDATE; it has one writer).
			if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
				Select("balance_micro_credits", "unlimited").Take(&p, "id = ?", h.ProjectID).Error; err != nil {
				return dbErr("read project balance", err)
			}
			if !p.Unlimited {
				extra := min(actual-held, max(p.BalanceMicroCredits, 0))
				charged = held + extra
			}
		}
		delta := held - charged // > 0 refund, < 0 extra debit
		if err := addBalance(tx, h.ProjectID, delta); err != nil {
			return err
		}
		writeOff := actual - charged
		if err := s.post(tx, requestID,
			posting{HoldAccount(requestID), -held, KindSettle},
			posting{ProjectAccount(h.ProjectID), delta, KindSettle},
			posting{AccountRevenue, actual, KindSettle},
			posting{AccountWriteOff, -writeOff, KindWriteOff},
		); err != nil {
			return err
		}
		out = Settlement{RequestID: requestID, ProjectID: h.ProjectID, HeldMicroCredits: held,
			ChargedMicroCredits: charged, RefundedMicroCredits: max(delta, 0), WrittenOffMicroCredits: writeOff}
		return nil
	})
	if err != nil {
		return Settlement{}, fmt.Errorf("settle request %q: %w", requestID, err)
	}
	return out, nil
}

// Release returns requestID's whole hold to its project (the request
// failed before any billable work). ErrHoldNotFound if there is no open hold.
func (s *Store) Release(ctx context.Context, requestID string) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		_, err := s.releaseHold(tx, requestID, nil, KindRelease)
		return err
	})
	if err != nil {
		return fmt.Errorf("release hold of request %q: %w", requestID, err)
	}
	return nil
}

func (s *Store) releaseHold(tx *gorm.DB, requestID string, expiredBefore *time.Time, kind EntryKind) (holdRow, error) {
	h, err := claimHold(tx, requestID, expiredBefore)
	if err != nil {
		return holdRow{}, err
	}
	if err := addBalance(tx, h.ProjectID, h.AmountMicroCredits); err != nil {
		return holdRow{}, err
	}
	return h, s.post(tx, requestID,
		posting{HoldAccount(requestID), -h.AmountMicroCredits, kind},
		posting{ProjectAccount(h.ProjectID), h.AmountMicroCredits, kind},
	)
}

// reapBatch bounds how many expired holds one ReapExpired query picks up.
const reapBatch = 100

// ReapExpired releases every hold whose expires_at is before now (its
// request's core was killed mid-flight, or forgot to settle) and returns
// how many it released. Each hold is released in its own short
// transaction, so reaping never holds the writer for long, and a hold that
// a concurrent Settle closes first is skipped.
func (s *Store) ReapExpired(ctx context.Context, now time.Time) (int, error) {
	now = dbTime(now)
	reaped := 0
	for {
		var ids []string
		if err := s.read(ctx).Model(&holdRow{}).Where("expires_at < ?", now).
			Order("expires_at").Limit(reapBatch).Pluck("request_id", &ids).Error; err != nil {
			return reaped, dbErr("list expired holds", err)
		}
		for _, id := range ids {
			err := s.write(ctx, func(tx *gorm.DB) error {
				_, err := s.releaseHold(tx, id, &now, KindExpire)
				return err
			})
			switch {
			case err == nil:
				reaped++
			case errors.Is(err, ErrHoldNotFound):
			default:
				return reaped, fmt.Errorf("reap expired hold of request %q: %w", id, err)
			}
		}
		if len(ids) < reapBatch {
			return reaped, nil
		}
	}
}

// Balance returns a project's balance in micro-credits, or ErrNotFound.
func (s *Store) Balance(ctx context.Context, projectID string) (int64, error) {
	var rows []int64
	if err := s.read(ctx).Model(&projectRow{}).Where("id = ?", projectID).
		Pluck("balance_micro_credits", &rows).Error; err != nil {
		return 0, dbErr("read balance", err)
	}
	if len(rows) == 0 {
		return 0, fmt.Errorf("read balance of project %q: %w", projectID, ErrNotFound)
	}
	return rows[0], nil
}

// GetHold returns requestID's open hold, or ErrHoldNotFound.
func (s *Store) GetHold(ctx context.Context, requestID string) (Hold, error) {
	var rows []holdRow
	if err := s.read(ctx).Where("request_id = ?", requestID).Limit(1).Find(&rows).Error; err != nil {
		return Hold{}, dbErr("get hold", err)
	}
	if len(rows) == 0 {
		return Hold{}, fmt.Errorf("get hold of request %q: %w", requestID, ErrHoldNotFound)
	}
	return rows[0].hold(), nil
}

// LedgerEntriesForRequest returns every entry written for requestID,
// ordered by id (creation time to the millisecond); for support and audits.
func (s *Store) LedgerEntriesForRequest(ctx context.Context, requestID string) ([]LedgerEntry, error) {
	var rows []ledgerRow
	if err := s.read(ctx).Where("request_id = ?", requestID).Order("id").Find(&rows).Error; err != nil {
		return nil, dbErr("list ledger entries", err)
	}
	out := make([]LedgerEntry, len(rows))
	for i, r := range rows {
		out[i] = LedgerEntry{ID: r.ID, TxID: r.TxID, Account: r.Account, AmountMicroCredits: r.AmountMicroCredits,
			RequestID: r.RequestID, Kind: EntryKind(r.Kind), CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// LedgerError lists every inconsistency VerifyLedger found.
type LedgerError struct {
	Problems []string
}

func (e *LedgerError) Error() string {
	return "ledger inconsistent: " + strings.Join(e.Problems, "; ")
}

// VerifyLedger checks the books: all entries sum to zero; every project's
// balance equals the sum of its account's entries; every open hold's amount
// equals its account's sum, and every closed hold's account sums to zero.
// It returns a *LedgerError listing what disagrees. It scans the whole
// ledger, so it is for audits and tests, not for the request path. It reads
// in one read-only transaction, a consistent snapshot on PostgreSQL
// (REPEATABLE READ) and on SQLite (WAL), so it may run while traffic flows
// and never blocks writers.
func (s *Store) VerifyLedger(ctx context.Context) error {
	var problems []string
	err := s.read(ctx).Transaction(func(tx *gorm.DB) error {
		if s.dialect == DialectPostgres {
			if err := tx.Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").Error; err != nil {
				return dbErr("set snapshot isolation", err)
			}
		}
		var total struct{ N, Sum int64 }
		if err := tx.Raw("SELECT COUNT(*) AS n, CAST(COALESCE(SUM(amount_micro_credits), 0) AS BIGINT) AS sum FROM ledger_entries").
			Scan(&total).Error; err != nil {
			return dbErr("sum ledger", err)
		}
		if total.Sum != 0 {
			problems = append(problems, fmt.Sprintf("all %d entries sum to %d, not 0", total.N, total.Sum))
		}
		var projects []struct {
			ID      string
			Balance int64
			Sum     int64
		}
		if err := tx.Raw(`SELECT p.id AS id, p.balance_micro_credits AS balance,
			CAST(COALESCE(SUM(e.amount_micro_credits), 0) AS BIGINT) AS sum
			FROM projects p LEFT JOIN ledger_entries e ON e.account = 'project:' || p.id
			GROUP BY p.id, p.balance_micro_credits ORDER BY p.id`).Scan(&projects).Error; err != nil {
			return dbErr("sum project accounts", err)
		}
		for _, p := range projects {
			if p.Balance != p.Sum {
				problems = append(problems, fmt.Sprintf("project %q balance %d but its entries sum to %d", p.ID, p.Balance, p.Sum))
			}
		}
		var open []holdRow
		if err := tx.Find(&open).Error; err != nil {
			return dbErr("list open holds", err)
		}
		want := make(map[string]int64, len(open))
		for _, h := range open {
			if h.AmountMicroCredits != 0 {
				want[HoldAccount(h.RequestID)] = h.AmountMicroCredits
			}
		}
		var holds []struct {
			Account string
			Sum     int64
		}
		if err := tx.Raw(`SELECT account, CAST(SUM(amount_micro_credits) AS BIGINT) AS sum FROM ledger_entries
			WHERE account LIKE 'hold:%' GROUP BY account HAVING SUM(amount_micro_credits) <> 0`).Scan(&holds).Error; err != nil {
			return dbErr("sum hold accounts", err)
		}
		for _, h := range holds {
			w, ok := want[h.Account]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("closed %s still holds %d", h.Account, h.Sum))
			case w != h.Sum:
				problems = append(problems, fmt.Sprintf("open %s is %d but its entries sum to %d", h.Account, w, h.Sum))
			}
			delete(want, h.Account)
		}
		for acct, w := range want {
			problems = append(problems, fmt.Sprintf("open %s of %d has no reserve entries", acct, w))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify ledger: %w", err)
	}
	if len(problems) > 0 {
		return &LedgerError{Problems: problems}
	}
	return nil
}
