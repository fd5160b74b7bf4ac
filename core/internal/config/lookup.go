package config

// Provider returns the provider named name. The pointer refers into c, so
// callers must not keep it across a reload.
func (c *Config) Provider(name string) (*Provider, bool) {
	for i := range c.Providers {
		if c.Providers[i].Name == name {
			return &c.Providers[i], true
		}
	}
	return nil, false
}

// Plugin returns the plugin named name.
func (c *Config) Plugin(name string) (*Plugin, bool) {
	for i := range c.Plugins {
		if c.Plugins[i].Name == name {
			return &c.Plugins[i], true
		}
	}
	return nil, false
}

// Strategy returns the strategy named name.
func (c *Config) Strategy(name string) (*Strategy, bool) {
	for i := range c.Strategies {
		if c.Strategies[i].Name == name {
			return &c.Strategies[i], true
		}
	}
	return nil, false
}

// Model returns the provider's model with the given id or alias.
func (p *Provider) Model(idOrAlias string) (*Model, bool) {
	for i := range p.Models {
		if p.Models[i].ID == idOrAlias {
			return &p.Models[i], true
		}
	}
	for i := range p.Models {
		for _, a := range p.Models[i].Aliases {
			if a == idOrAlias {
				return &p.Models[i], true
			}
		}
	}
	return nil, false
}
