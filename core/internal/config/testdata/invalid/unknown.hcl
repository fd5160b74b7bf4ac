# Misspelled blocks and attributes, at every level.
servr {
  listen = "127.0.0.1:8080"
}

server {
  listn = "127.0.0.1:8080"
}

log_level = "debug"

plugin "openai" {
  kind = "provider"
  path = "bin/p"
  checksum = "abc"
}

provider "openai" {
  api_kye = env("SECRET_KEY")
  modle "gpt-4o" {}
  model "gpt-4o" {
    input_prise = 2.5
  }
}
