server {}
server {}

plugin "openai" {
  kind = "provider"
  path = "bin/a"
}
plugin "openai" {
  kind = "provider"
  path = "bin/b"
}
plugin "balanced" {
  kind = "strategy"
  path = "bin/s"
}

strategy "balanced" {}
strategy "balanced" {}

provider "openai" {
  api_key = env("SECRET_KEY")
  model "gpt-4o" {}
  model "gpt-4o" {}
}
provider "openai" {
  api_key = env("SECRET_KEY")
}
