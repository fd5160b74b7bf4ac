plugin "openai" {
  kind = "provider"
  path = "bin/openai"
}
plugin "cost" {
  kind = "strategy"
  path = "bin/cost"
}

routing {
  default_strategy = "fastest"
}

strategy "cost" {}
strategy "latency" {}
strategy "by-provider" {
  plugin = "openai"
}

provider "openai" {}
provider "anthropic" {
  api_key = env("SECRET_KEY")
}
provider "wrong-kind" {
  plugin = "cost"
}
