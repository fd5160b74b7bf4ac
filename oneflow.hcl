# OneFlow configuration. Every value may use env("NAME"), env("NAME", "default")
# and file("path"). Send SIGHUP (or POST /api/v1/admin/reload) to apply edits;
# an invalid file is refused and the running config keeps serving.

server {
  listen           = env("ONEFLOW_LISTEN", "127.0.0.1:8080")
  read_timeout     = env("HTTP_TIMEOUT", "30s")
  write_timeout    = "300s"
  shutdown_timeout = "30s"
  body_limit       = "10MB"
  cors_origins     = []
}

storage {
  # Embedded SQLite by default; set a postgres:// URL for production.
  database_url   = env("ONEFLOW_DATABASE_URL", "sqlite://data/oneflow.db")
  max_open_conns = env("DATABASE_POOL_SIZE", "20")
  max_idle_conns = env("DATABASE_MAX_OVERFLOW", "10")
  usage_retention = "2160h"
}

redis {
  # Empty: rate limits and idempotency keys live in this process.
  url = env("REDIS_URL", "")
}

auth {
  admin_key          = env("ONEFLOW_ADMIN_KEY", "")
  jwt_algorithm      = "HS256"
  jwt_secret         = env("ONEFLOW_JWT_SECRET", "")
  access_token_ttl   = "15m"
  refresh_token_ttl  = "720h"
  key_rotation_grace = "24h"
  # Keys older than this go on their grace period automatically ("0s": off).
  key_rotation_interval = env("ONEFLOW_KEY_ROTATION_INTERVAL", "0s")
}

telemetry {
  log_level     = env("ONEFLOW_LOG_LEVEL", "info")
  log_format    = "json"
  tracing       = env("ENABLE_TRACING", "false")
  otlp_endpoint = env("OTEL_EXPORTER_OTLP_ENDPOINT", "")
}

pricing {
  credits_per_usd = 100
  allow_unpriced  = false
}

routing {
  default_strategy = "balanced"
  strategy_timeout = "50ms"
  max_fallbacks    = 3
}

circuit_breaker {
  failure_threshold = env("CIRCUIT_BREAKER_FAILURE_THRESHOLD", "5")
  failure_ratio     = 0.5
  window            = "60s"
  timeout           = env("CIRCUIT_BREAKER_TIMEOUT", "30s")
  max_timeout       = "5m"
  half_open_probes  = 1
}

retry {
  max_attempts = 3
  base_delay   = "100ms"
  max_delay    = "2s"
  deadline     = "60s"
}

rate_limit {
  per_minute        = env("ONEFLOW_RATE_LIMIT_PER_MINUTE", "60")
  per_hour          = env("ONEFLOW_RATE_LIMIT_PER_HOUR", "1000")
  tokens_per_minute = 0
  fail_open         = true
}

# Per-project spending caps on one provider, in credits per UTC day and per
# calendar month. A call that would pass a cap goes to another provider in
# its plan, or is refused with 429 quota_exceeded.
# quota "openai" {
#   daily_credits   = 500
#   monthly_credits = 10000
# }

# ---------------------------------------------------------------- plugins
# Paths are relative to this file. Set sha256 to pin a binary.

plugin "openai" {
  kind = "provider"
  path = "bin/plugins/oneflow-provider-openai"
}

plugin "anthropic" {
  kind = "provider"
  path = "bin/plugins/oneflow-provider-anthropic"
}

plugin "stability" {
  kind = "provider"
  path = "bin/plugins/oneflow-provider-stability"
}

plugin "elevenlabs" {
  kind = "provider"
  path = "bin/plugins/oneflow-provider-elevenlabs"
}

plugin "cost" {
  kind = "strategy"
  path = "bin/plugins/oneflow-strategy-cost"
}

plugin "latency" {
  kind = "strategy"
  path = "bin/plugins/oneflow-strategy-latency"
}

plugin "quality" {
  kind = "strategy"
  path = "bin/plugins/oneflow-strategy-quality"
}

plugin "balanced" {
  kind = "strategy"
  path = "bin/plugins/oneflow-strategy-balanced"
}

# ---------------------------------------------------------------- strategies

strategy "cost" {
  plugin = "cost"
}

strategy "latency" {
  plugin = "latency"
}

strategy "quality" {
  plugin = "quality"
}

strategy "balanced" {
  plugin = "balanced"
  params = {
    cost_weight    = "0.4"
    latency_weight = "0.3"
    quality_weight = "0.3"
  }
}

# ---------------------------------------------------------------- providers
# Prices are USD: per 1M tokens (input/output), per image, per 1K characters.
# cached_input_price and cache_write_price (per 1M tokens) price the prompt tokens
# a vendor reads from or writes to its prompt cache; left out, they cost input_price.
# They are set only where the vendor publishes them for the model.

provider "openai" {
  plugin          = "openai"
  enabled         = true
  api_key         = env("OPENAI_API_KEY", "")
  base_url        = env("OPENAI_BASE_URL", "https://api.openai.com/v1")
  connect_timeout = "10s"
  read_timeout    = "30s" # longest wait for the answer's headers, then for each next chunk

  model "gpt-4o" {
    modality           = "text"
    input_price        = 2.50
    output_price       = 10.00
    cached_input_price = 1.25 # prompt-cache hits: half the input price
    quality            = 90
    context_window     = 128000
    tokenizer          = "o200k_base"
    effective          = "2024-10-01"
  }
  model "gpt-4o-mini" {
    modality           = "text"
    input_price        = 0.15
    output_price       = 0.60
    cached_input_price = 0.075
    quality            = 75
    context_window     = 128000
    tokenizer          = "o200k_base"
    effective          = "2024-07-18"
  }
  model "gpt-4-turbo" {
    modality       = "text"
    input_price    = 10
    output_price   = 30
    quality        = 85
    context_window = 128000
    tokenizer      = "cl100k_base"
    effective      = "2024-04-09"
  }
  model "gpt-4" {
    modality       = "text"
    input_price    = 30
    output_price   = 60
    quality        = 80
    context_window = 8192
    tokenizer      = "cl100k_base"
    effective      = "2023-03-14"
  }
  model "gpt-3.5-turbo" {
    modality       = "text"
    input_price    = 0.50
    output_price   = 1.50
    quality        = 60
    context_window = 16385
    tokenizer      = "cl100k_base"
    effective      = "2024-01-25"
  }
  model "text-embedding-3-small" {
    modality       = "embedding"
    input_price    = 0.02
    quality        = 70
    context_window = 8191
    tokenizer      = "cl100k_base"
    effective      = "2024-01-25"
  }
  model "dall-e-3" {
    modality  = "image"
    quality   = 80
    effective = "2023-11-06"
    image_prices = {
      "1024x1024"    = 0.040
      "1024x1792"    = 0.080
      "1792x1024"    = 0.080
      "1024x1024/hd" = 0.080
      "1024x1792/hd" = 0.120
      "1792x1024/hd" = 0.120
    }
  }
  model "tts-1" {
    modality         = "audio"
    quality          = 70
    per_1k_chars     = 0.015
    effective        = "2023-11-06"
  }
}

# Any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, LM Studio):
# point base_url at it and list its models. Local models cost nothing, so
# their prices are an explicit 0.
provider "local" {
  plugin   = "openai"
  enabled  = false
  api_key  = env("LOCAL_API_KEY", "not-needed")
  base_url = env("LOCAL_BASE_URL", "http://127.0.0.1:11434/v1")

  model "llama3.1:8b" {
    modality       = "text"
    input_price    = 0
    output_price   = 0
    quality        = 55
    context_window = 131072
    effective      = "2024-07-23"
  }
}

provider "anthropic" {
  plugin          = "anthropic"
  enabled         = true
  api_key         = env("ANTHROPIC_API_KEY", "")
  base_url        = env("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
  connect_timeout = "10s"
  read_timeout    = "30s"

  model "claude-3-opus-20240229" {
    aliases            = ["claude-3-opus"]
    modality           = "text"
    input_price        = 15
    output_price       = 75
    cached_input_price = 1.50  # cache reads: a tenth of the input price
    cache_write_price  = 18.75 # 5-minute cache writes: 1.25 times it
    quality            = 92
    context_window     = 200000
    effective          = "2024-02-29"
  }
  model "claude-3-sonnet-20240229" {
    aliases        = ["claude-3-sonnet"]
    modality       = "text"
    input_price    = 3
    output_price   = 15
    quality        = 82
    context_window = 200000
    effective      = "2024-02-29"
  }
  model "claude-3-haiku-20240307" {
    aliases            = ["claude-3-haiku"]
    modality           = "text"
    input_price        = 0.25
    output_price       = 1.25
    cached_input_price = 0.03 # as Anthropic publishes them, not exactly 0.1x and 1.25x
    cache_write_price  = 0.30
    quality            = 70
    context_window     = 200000
    effective          = "2024-03-07"
  }
  model "claude-3-5-sonnet-20241022" {
    aliases            = ["claude-3-5-sonnet-latest"]
    modality           = "text"
    input_price        = 3
    output_price       = 15
    cached_input_price = 0.30
    cache_write_price  = 3.75
    quality            = 91
    context_window     = 200000
    effective          = "2024-10-22"
  }
  model "claude-3-5-haiku-20241022" {
    aliases            = ["claude-3-5-haiku-latest"]
    modality           = "text"
    input_price        = 0.80
    output_price       = 4
    cached_input_price = 0.08
    cache_write_price  = 1
    quality            = 80
    context_window     = 200000
    effective          = "2024-10-22"
  }
}

provider "stability" {
  plugin          = "stability"
  enabled         = true
  api_key         = env("STABILITY_API_KEY", "")
  base_url        = env("STABILITY_BASE_URL", "https://api.stability.ai")
  connect_timeout = "10s"
  read_timeout    = "60s"

  # Stability bills credits per image at $0.01 each.
  model "stable-image-ultra" {
    modality     = "image"
    quality      = 88
    image_prices = { "*" = 0.08 }
    effective    = "2024-06-01"
  }
  model "stable-image-core" {
    modality     = "image"
    quality      = 75
    image_prices = { "*" = 0.03 }
    effective    = "2024-06-01"
  }
  model "sd3.5-large" {
    modality     = "image"
    quality      = 82
    image_prices = { "*" = 0.065 }
    effective    = "2024-10-22"
  }
  model "sd3.5-medium" {
    modality     = "image"
    quality      = 72
    image_prices = { "*" = 0.035 }
    effective    = "2024-10-29"
  }
}

provider "elevenlabs" {
  plugin          = "elevenlabs"
  enabled         = true
  api_key         = env("ELEVENLABS_API_KEY", "")
  base_url        = env("ELEVENLABS_BASE_URL", "https://api.elevenlabs.io")
  connect_timeout = "10s"
  read_timeout    = "60s"
  options = {
    default_voice_id = "21m00Tcm4TlvDq8ikWAM"
  }

  model "eleven_multilingual_v2" {
    modality     = "audio"
    quality      = 90
    per_1k_chars = 0.30
    effective    = "2024-01-01"
  }
}
