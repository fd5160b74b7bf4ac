# Alias collisions are warnings: the file still loads.
plugin "openai" {
  kind = "provider"
  path = "bin/openai"
}
plugin "azure" {
  kind = "provider"
  path = "bin/azure"
}

provider "openai" {
  model "gpt-4o" {}
  model "gpt-4o-2024-08-06" {
    aliases = ["gpt-4o-latest"]
  }
}
provider "azure" {
  # The same model id from two providers is fine: both are candidates.
  model "gpt-4o" {}
  model "gpt-4o-azure" {
    aliases = ["gpt-4o", "gpt-4o-latest"]
  }
}
