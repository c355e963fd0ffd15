# rate is written as the string "100": HCL converts it to a number, so this
# lints clean (0 errors); the user sees nothing. Documents the conversion.
pipeline "synthetic" {
  source "generate" {
    rate  = "100"
    count = 1000
  }
  sink "console" "out" {}
}
