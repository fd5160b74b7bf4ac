package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// Charge is a settled call of an unlimited project: there is no hold to
// close, only the debit to record.
type Charge struct {
	ProjectID string
	// LedgerID must be unique: it keys the ledger entries.
	LedgerID     string
	MicroCredits int64
}

// ChargeUnlimited records charges of unlimited projects in one
// transaction. Unlimited projects need no hold — they cannot be refused —
// so their calls cost the request path no write; the accounts service
// batches these off it. The batch is booked as one double-entry movement
// per project (project debited, revenue credited, keyed by the first
// charge's ledger id): the ledger stays balanced at a fraction of the
// cost, and each call's own charge is in its usage record. A charge for a
// project that is not unlimited is refused, and the whole batch with it.
func (s *Store) ChargeUnlimited(ctx context.Context, charges []Charge) error {
	if len(charges) == 0 {
		return nil
	}
	type total struct {
		ledgerID string
		amount   int64
	}
	totals := map[string]*total{}
	var order []string
	for _, c := range charges {
		if c.MicroCredits <= 0 {
			continue
		}
		t := totals[c.ProjectID]
		if t == nil {
			t = &total{ledgerID: c.LedgerID}
			totals[c.ProjectID] = t
			order = append(order, c.ProjectID)
		}
		t.amount += c.MicroCredits
	}
	// Like usage, these charges were queued in memory and are lossy on a
	// crash anyway (see the accounts package), so the commit need not wait
	// for the disk.
	err := s.writeLazy(ctx, func(tx *gorm.DB) error {
		for _, project := range order {
			t := totals[project]
			res := tx.Model(&projectRow{}).Where("id = ? AND unlimited", project).
				Update("balance_micro_credits", gorm.Expr("balance_micro_credits - ?", t.amount))
			if res.Error != nil {
				return dbErr("charge unlimited project", res.Error)
			}
			if res.RowsAffected == 0 {
				return fmt.Errorf("charge project %q: not an unlimited project: %w", project, ErrInvalidArgument)
			}
			if err := s.post(tx, t.ledgerID,
				posting{ProjectAccount(project), -t.amount, KindSettle},
				posting{AccountRevenue, t.amount, KindSettle},
			); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %d charges: %w", len(charges), err)
	}
	return nil
}
