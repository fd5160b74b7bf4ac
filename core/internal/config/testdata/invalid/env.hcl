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

# Evaluation errors are reported once, without follow-on errors about the
# values that could not be computed.
plugin "local" {
  kind = env("PLUGIN_KIND_UNSET")
  path = env("PLUGIN_PATH_UNSET")
}
provider "local" {
  plugin = env("PROVIDER_PLUGIN_UNSET")
}
routing {
  default_strategy = env("DEFAULT_STRATEGY_UNSET")
}
strategy "cost" {
  plugin = env("STRATEGY_PLUGIN_UNSET")
}
