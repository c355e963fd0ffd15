# enabled = false with a store: the pipeline takes no checkpoints, so the
# store is not used. The user should see one warning on store saying so.
pipeline "generated" {
  source "generate" {
    rate = 10
  }
  sink "console" "out" {}

  checkpoint {
    enabled = false
    store   = "checkpoints"
  }
}
