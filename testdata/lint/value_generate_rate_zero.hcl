# rate must be more than zero: the user should see one error on 0.
pipeline "synthetic" {
  source "generate" {
    rate  = 0
    count = 100
  }
  sink "console" "out" {}
}
