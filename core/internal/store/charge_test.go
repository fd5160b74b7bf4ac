package store

import (
	"errors"
	"testing"
)

func TestChargeUnlimited(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		def, err := s.EnsureDefaultProject(ctx)
		if err != nil {
			t.Fatal(err)
		}
		limited, err := s.CreateProject(ctx, "limited")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ChargeUnlimited(ctx, []Charge{
			{ProjectID: def.ID, LedgerID: "c1", MicroCredits: 150},
			{ProjectID: def.ID, LedgerID: "c2", MicroCredits: 50},
			{ProjectID: def.ID, LedgerID: "c3", MicroCredits: 0},
		}); err != nil {
			t.Fatal(err)
		}
		if bal, err := s.Balance(ctx, def.ID); err != nil || bal != -200 {
			t.Fatalf("default balance %d, %v; want -200 (unlimited projects go negative by what they used)", bal, err)
		}
		if err := s.VerifyLedger(ctx); err != nil {
			t.Fatal(err)
		}
		err = s.ChargeUnlimited(ctx, []Charge{
			{ProjectID: def.ID, LedgerID: "c4", MicroCredits: 1},
			{ProjectID: limited.ID, LedgerID: "c5", MicroCredits: 1},
		})
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("charging a limited project: %v", err)
		}
		if bal, _ := s.Balance(ctx, def.ID); bal != -200 {
			t.Fatalf("a refused batch changed the balance to %d", bal)
		}
	})
}
