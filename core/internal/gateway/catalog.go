package gateway

import (
	"strings"

	"github.com/oneflow-ai/oneflow/core/internal/config"
)

// Entry is one model a configured provider offers.
type Entry struct {
	Provider string
	Model    config.Model
}

// Catalog indexes the enabled providers' models by id and alias.
type Catalog struct {
	entries []*Entry
	byName  map[string][]*Entry
}

// NewCatalog builds the catalog of every enabled provider in cfg.
func NewCatalog(cfg *config.Config) *Catalog {
	c := &Catalog{byName: make(map[string][]*Entry)}
	for _, p := range cfg.Providers {
		if !p.Enabled {
			continue
		}
		for _, m := range p.Models {
			e := &Entry{Provider: p.Name, Model: m}
			c.entries = append(c.entries, e)
			c.byName[m.ID] = append(c.byName[m.ID], e)
			for _, a := range m.Aliases {
				c.byName[a] = append(c.byName[a], e)
			}
			// "provider/model" always names exactly one entry.
			c.byName[p.Name+"/"+m.ID] = []*Entry{e}
		}
	}
	return c
}

// Lookup returns the entries a concrete model name denotes.
func (c *Catalog) Lookup(name string) []*Entry { return c.byName[name] }

// Entries returns every entry in config order.
func (c *Catalog) Entries() []*Entry { return c.entries }

// ParseAlias reports whether model is a routing alias ("auto" or
// "auto:NAME") and which strategy it names; "" means the default.
func ParseAlias(model string) (strategy string, ok bool) {
	if model == "auto" {
		return "", true
	}
	if s, found := strings.CutPrefix(model, "auto:"); found {
		return s, true
	}
	return "", false
}
