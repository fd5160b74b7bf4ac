server {
  read_timeout     = "30"
  write_timeout    = "forever"
  shutdown_timeout = "-5s"
}

storage {
  usage_retention = 90
}

auth {
  access_token_ttl = "0s"
}

routing {
  strategy_timeout = "0"
}

circuit_breaker {
  timeout     = "10m"
  max_timeout = "5m"
  window      = ""
}

retry {
  base_delay = "1s"
  max_delay  = "100ms"
  deadline   = "1 minute"
}

plugin "p" {
  kind = "provider"
  path = "bin/p"
}
provider "p" {
  connect_timeout = "-1s"
  read_timeout    = env("READ_TIMEOUT", "30 seconds")
}
