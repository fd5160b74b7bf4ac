# No routing block: default_strategy defaults to "balanced", which is not
# declared while other strategies are.
plugin "cost" {
  kind = "strategy"
  path = "bin/cost"
}
strategy "cost" {}
