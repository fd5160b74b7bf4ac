server {
  listen = var.listen
}
