# The smallest useful pipeline: generated typed events printed to the
# console. Must lint clean: 0 errors, 0 warnings.
pipeline "minimal" {
  source "generate" {
    rate  = 10
    count = 100
  }
  sink "console" "out" {}
}
