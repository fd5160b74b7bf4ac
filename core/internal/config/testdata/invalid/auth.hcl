auth {
  admin_key     = env("SECRET_KEY")
  jwt_algorithm = "none"
  jwt_secret    = env("SECRET_KEY")
}

telemetry {
  log_level  = "verbose"
  log_format = "xml"
  tracing    = "sometimes"
}

storage {
  database_url = "mysql://root:sk-golden-secret-value@db/oneflow"
}
