server {
  listen     = "127.0.0.1:http"
  body_limit = -1
}
