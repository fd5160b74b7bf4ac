plugin "no-kind" {
  path = "bin/a"
}
plugin "bad-kind" {
  kind = "router"
  path = "bin/b"
}
plugin "no-path" {
  kind = "provider"
}
plugin "empty-path" {
  kind = "provider"
  path = ""
}
plugin "short-sum" {
  kind   = "provider"
  path   = "bin/c"
  sha256 = "abc123"
}
plugin "not-hex" {
  kind   = "strategy"
  path   = "bin/d"
  sha256 = "zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
}
plugin "" {
  kind = "provider"
  path = "bin/e"
}
