auth {
  admin_key = env("ONEFLOW_ADMIN_KEY_UNSET")
}

telemetry {
  log_level     = env("")
  otlp_endpoint = env("A", "b", "c")
}

plugin "openai" {
  kind = "provider"
  path = "bin/openai"
}
provider "openai" {
  api_key = env("OPENAI_API_KEY_UNSET")
}
