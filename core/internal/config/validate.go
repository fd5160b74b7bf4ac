package config

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// validate runs the checks that need the whole file: unique names and
// references between plugins, strategies, providers and routing.
func (d *decoder) validate(cfg *Config, r *refs) {
	plugins := map[string]*Plugin{}
	for i := range cfg.Plugins {
		p := &cfg.Plugins[i]
		if first, dup := plugins[p.Name]; dup {
			d.errorAt(p.Range, "Duplicate plugin",
				fmt.Sprintf("plugin %q is already declared at %s; plugin names must be unique.", p.Name, pos(first.Range)))
			continue
		}
		plugins[p.Name] = p
	}

	strategies := map[string]*Strategy{}
	for i := range cfg.Strategies {
		s := &cfg.Strategies[i]
		if first, dup := strategies[s.Name]; dup {
			d.errorAt(s.Range, "Duplicate strategy",
				fmt.Sprintf("strategy %q is already declared at %s; strategy names must be unique.", s.Name, pos(first.Range)))
			continue
		}
		strategies[s.Name] = s
		d.checkPluginRef(plugins, "strategy", s.Name, s.Plugin, KindStrategy, r.strategyPlugin[i])
	}

	providers := map[string]*Provider{}
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		if first, dup := providers[p.Name]; dup {
			d.errorAt(p.Range, "Duplicate provider",
				fmt.Sprintf("provider %q is already declared at %s; provider names must be unique.", p.Name, pos(first.Range)))
			continue
		}
		providers[p.Name] = p
		d.checkPluginRef(plugins, "provider", p.Name, p.Plugin, KindProvider, r.providerPlugin[i])
	}

	d.checkDefaultStrategy(cfg, strategies, r)
	d.checkAliases(cfg, r)
}

// checkPluginRef checks that a provider or strategy names a declared
// plugin of the matching kind.
func (d *decoder) checkPluginRef(plugins map[string]*Plugin, blockType, name, plugin string, want PluginKind, rng hcl.Range) {
	if plugin == "" {
		return // evaluating the plugin attribute failed and was reported
	}
	p, ok := plugins[plugin]
	if !ok {
		d.errorAt(rng, "Unknown plugin",
			fmt.Sprintf("%s %q uses plugin %q, which is not declared. Declare it with plugin %q { kind = %q, path = \"...\" }, or use one of: %s.",
				blockType, name, plugin, plugin, want, pluginNames(plugins, want)))
		return
	}
	if p.Kind != "" && p.Kind != want {
		d.errorAt(rng, "Wrong plugin kind",
			fmt.Sprintf("%s %q uses plugin %q, which is a %s plugin (declared at %s); a %s needs a %s plugin. Use one of: %s.",
				blockType, name, plugin, p.Kind, pos(p.Range), blockType, want, pluginNames(plugins, want)))
	}
}

func pluginNames(plugins map[string]*Plugin, kind PluginKind) string {
	var names []string
	for name, p := range plugins {
		if p.Kind == kind {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf("(no %s plugins are declared)", kind)
	}
	sort.Strings(names)
	return quoteList(names)
}

// checkDefaultStrategy requires routing.default_strategy to name a
// declared strategy. A file that declares no strategies and leaves the
// default alone is accepted: the router then uses its built-in order.
func (d *decoder) checkDefaultStrategy(cfg *Config, strategies map[string]*Strategy, r *refs) {
	name := cfg.Routing.DefaultStrategy
	if _, ok := strategies[name]; ok || r.defaultStrategyFailed {
		return
	}
	if !r.defaultStrategySet && len(cfg.Strategies) == 0 {
		return
	}
	var rng hcl.Range
	switch {
	case r.defaultStrategySet:
		rng = r.defaultStrategy
	case r.routingBlock != nil:
		rng = *r.routingBlock
	default:
		rng = cfg.Strategies[0].Range
	}
	names := make([]string, 0, len(strategies))
	for n := range strategies {
		names = append(names, n)
	}
	sort.Strings(names)
	declared := "no strategies are declared"
	if len(names) > 0 {
		declared = "declared strategies: " + quoteList(names)
	}
	prefix := ""
	if !r.defaultStrategySet {
		prefix = "routing.default_strategy is not set and defaults to \"balanced\". "
	}
	d.errorAt(rng, "Unknown default strategy",
		fmt.Sprintf("%srouting.default_strategy %q is not a declared strategy; add strategy %q { plugin = \"...\" } or pick one of the %s.",
			prefix, name, name, declared))
}

// checkAliases warns when an alias is also another model's id, or when two
// models claim the same alias: requests for that name would reach a model
// the user may not expect.
func (d *decoder) checkAliases(cfg *Config, r *refs) {
	type owner struct{ provider, model string }
	ids := map[string]owner{}
	for _, p := range cfg.Providers {
		for _, m := range p.Models {
			if _, ok := ids[m.ID]; !ok {
				ids[m.ID] = owner{p.Name, m.ID}
			}
		}
	}
	aliases := map[string]owner{}
	for pi, p := range cfg.Providers {
		for mi, m := range p.Models {
			rng := m.Range
			if pi < len(r.modelAliases) && mi < len(r.modelAliases[pi]) {
				rng = r.modelAliases[pi][mi]
			}
			for _, a := range m.Aliases {
				if o, ok := ids[a]; ok && o.model != m.ID {
					d.warnAt(rng, "Model alias shadows a model id",
						fmt.Sprintf("alias %q of model %q (provider %q) is also the id of a model of provider %q; requests for %q may reach either. Rename the alias.",
							a, m.ID, p.Name, o.provider, a))
					continue
				}
				if o, ok := aliases[a]; ok && o.model != m.ID {
					d.warnAt(rng, "Model alias used twice",
						fmt.Sprintf("alias %q of model %q (provider %q) is also an alias of model %q (provider %q); requests for %q may reach either.",
							a, m.ID, p.Name, o.model, o.provider, a))
					continue
				}
				aliases[a] = owner{p.Name, m.ID}
			}
		}
	}
}
