plugin "p" {
  kind = "provider"
  path = "bin/p"
}

provider "p" {
  model "negative" {
    input_price        = 3
    cached_input_price = -0.3
    cache_write_price  = -3.75
  }
  model "too-precise" {
    input_price        = 0.15
    cached_input_price = 0.0000075
  }
  model "not-a-number" {
    input_price       = 3
    cache_write_price = "a lot"
  }
  model "no-input-price" {
    output_price       = 15
    cached_input_price = 0.30
    cache_write_price  = 3.75
  }
  model "decimal-slipped" {
    input_price        = 2.50
    cached_input_price = 12.5
    cache_write_price  = 0.375
  }
  model "fine" {
    input_price        = 3
    output_price       = 15
    cached_input_price = 0.30
    cache_write_price  = 3.75
  }
  model "free-reads" {
    input_price        = 1
    cached_input_price = 0
  }
  model "embedding" {
    modality           = "embedding"
    input_price        = 0.02
    cached_input_price = 0.01
  }
  model "image" {
    modality          = "image"
    image_prices      = { "*" = 0.04 }
    cache_write_price = 1
  }
  model "speech" {
    modality           = "audio"
    per_1k_chars       = 0.015
    cached_input_price = 0.01
  }
}
