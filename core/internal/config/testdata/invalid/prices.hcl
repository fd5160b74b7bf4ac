plugin "p" {
  kind = "provider"
  path = "bin/p"
}

provider "p" {
  model "negative" {
    input_price = -0.5
  }
  model "sub-micro" {
    input_price  = 0.0000001
    output_price = 0.00000015
  }
  model "not-a-number" {
    input_price = "cheap"
  }
  model "from-env-bad" {
    output_price = env("PRICE", "1.2345678")
  }
  model "huge" {
    input_price = 1e20
  }
  model "list" {
    input_price = [1]
  }
  model "bad-keys" {
    modality = "image"
    image_prices = {
      "1024x1024"    = 0.04
      "1024 x 1024"  = 0.04
      "/hd"          = 0.08
      "1024x1024/"   = 0.08
      "a/b/c"        = 0.08
      "1024x1024"    = 0.05
      "512x512"      = -1
    }
  }
  model "empty-images" {
    modality     = "image"
    image_prices = {}
  }
  model "image-map-not-numbers" {
    modality     = "image"
    image_prices = { "*" = "free" }
  }
  model "bad-date" {
    input_price = 1
    effective   = "2024-13-01"
  }
  model "bad-date-format" {
    input_price = 1
    effective   = "01/10/2024"
  }
}
