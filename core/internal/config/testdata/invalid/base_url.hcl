plugin "p" {
  kind = "provider"
  path = "bin/p"
}

provider "no-scheme" {
  plugin   = "p"
  base_url = "api.openai.com/v1"
}
provider "ftp" {
  plugin   = "p"
  base_url = "ftp://files.example.com"
}
provider "no-host" {
  plugin   = "p"
  base_url = "https://"
}
provider "relative" {
  plugin   = "p"
  base_url = "/v1"
}
provider "empty-is-fine" {
  plugin   = "p"
  base_url = ""
}
