plugin "p" {
  kind = "provider"
  path = "bin/p"
}

provider "p" {
  model "video-1" {
    modality = "video"
  }
  model "chat-with-images" {
    modality     = "text"
    input_price  = 1
    image_prices = { "*" = 0.04 }
  }
  model "chat-per-char" {
    modality     = "text"
    per_1k_chars = 0.01
  }
  model "embed-per-image" {
    modality     = "embedding"
    image_prices = { "*" = 0.04 }
  }
  model "image-per-token" {
    modality     = "image"
    input_price  = 5
    output_price = 10
  }
  model "speech-per-token" {
    modality     = "audio"
    output_price = 10
    image_prices = { "*" = 1 }
  }
  model "too-good" {
    quality = 101
  }
  model "too-bad" {
    quality = -1
  }
  model "bad-window" {
    context_window = -8192
  }
  model "bad-alias" {
    aliases = ["ok", ""]
  }
  model "" {}
}
