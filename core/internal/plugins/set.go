package plugins

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Set is the plugin processes of one config generation.
type Set struct {
	byName map[string]*Instance
	order  []string
}

// Launch starts an instance per spec, in parallel. Specs listed in
// unconfigured are not started; they are recorded with the given reason.
// If strict, any launch failure stops the instances already started and
// returns the errors joined — a reload uses this to keep the old set. If
// not strict (first start), failed instances keep retrying in the
// background and the errors are only returned for logging.
func Launch(ctx context.Context, specs []Spec, unconfigured map[string]string, opts Options, log hclog.Logger, strict bool) (*Set, error) {
	s := &Set{byName: make(map[string]*Instance, len(specs))}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, spec := range specs {
		if _, dup := s.byName[spec.Name]; dup {
			return nil, fmt.Errorf("two plugin instances named %q", spec.Name)
		}
		in := NewInstance(spec, opts, log)
		s.byName[spec.Name] = in
		s.order = append(s.order, spec.Name)
		if reason, ok := unconfigured[spec.Name]; ok {
			in.MarkUnconfigured(reason)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := in.Start(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Strings(s.order)
	err := errors.Join(errs...)
	if err != nil && strict {
		s.Stop(0)
		return nil, err
	}
	return s, err
}

// Get returns the instance named name.
func (s *Set) Get(name string) (*Instance, bool) {
	in, ok := s.byName[name]
	return in, ok
}

// Instances returns every instance, sorted by name.
func (s *Set) Instances() []*Instance {
	out := make([]*Instance, len(s.order))
	for i, n := range s.order {
		out[i] = s.byName[n]
	}
	return out
}

// Statuses returns a snapshot of every instance, sorted by name.
func (s *Set) Statuses() []Status {
	out := make([]Status, len(s.order))
	for i, n := range s.order {
		out[i] = s.byName[n].Status()
	}
	return out
}

// Stop drains and kills every instance in parallel; drain bounds the wait
// for in-flight calls.
func (s *Set) Stop(drain time.Duration) {
	var wg sync.WaitGroup
	for _, in := range s.byName {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.Stop(drain)
		}()
	}
	wg.Wait()
}
