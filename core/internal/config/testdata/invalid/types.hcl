server {
  cors_origins = "https://example.com"
}

storage {
  max_open_conns = "lots"
}

pricing {
  allow_unpriced = "yes please"
}

plugin "p" {
  kind = "provider"
  path = "bin/p"
  args = "-v"
  env  = ["A=1"]
}

strategy "s" {
  plugin = "p2"
  params = "weights"
}

plugin "p2" {
  kind = "strategy"
  path = "bin/p2"
}

provider "p" {
  enabled = "maybe"
  options = ["a"]
  model "m" {
    aliases = "m2"
  }
}
