server {
  listen     = "127.0.0.1:99999"
  body_limit = "0"
}
