# Wrongly typed secrets must be reported without their values.
auth {
  admin_key  = ["sk-golden-secret-value"]
  jwt_secret = { value = env("SECRET_KEY") }
}

redis {
  url = ["redis://:sk-golden-secret-value@localhost:6379"]
}

plugin "openai" {
  kind = "provider"
  path = "bin/openai"
}
provider "openai" {
  api_key = [env("SECRET_KEY")]
}
