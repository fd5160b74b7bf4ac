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
// transaction: each debits the project and credits revenue, so the ledger
// balances as for a settled hold. Unlimited projects need no hold — they
// cannot be refused — so their calls cost the request path no write; the
// accounts service batches these off it. A charge for a project that is
// not unlimited is refused, and the whole batch with it.
func (s *Store) ChargeUnlimited(ctx context.Context, charges []Charge) error {
	if len(charges) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		for _, c := range charges {
			if c.MicroCredits <= 0 {
				continue
			}
			res := tx.Model(&projectRow{}).Where("id = ? AND unlimited", c.ProjectID).
				Update("balance_micro_credits", gorm.Expr("balance_micro_credits - ?", c.MicroCredits))
			if res.Error != nil {
				return dbErr("charge unlimited project", res.Error)
			}
			if res.RowsAffected == 0 {
				return fmt.Errorf("charge project %q: not an unlimited project: %w", c.ProjectID, ErrInvalidArgument)
			}
			if err := s.post(tx, c.LedgerID,
				posting{ProjectAccount(c.ProjectID), -c.MicroCredits, KindSettle},
				posting{AccountRevenue, c.MicroCredits, KindSettle},
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
