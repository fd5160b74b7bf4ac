server {
  listen     = "localhost"
  body_limit = "10XB"
}

storage {
  max_open_conns = -1
  max_idle_conns = env("IDLE", "-3")
}

pricing {
  credits_per_usd = 0
}

routing {
  max_fallbacks = -1
}

circuit_breaker {
  failure_threshold = 0
  failure_ratio     = 1.5
  half_open_probes  = 0
}

retry {
  max_attempts = 0
}

rate_limit {
  per_minute        = -60
  per_hour          = -1
  tokens_per_minute = 1.5
}
