# late_fraction is a fraction between 0 and 1; 5 (meant as 5%) is out of
# range. The user should see one error on 5 saying it must be between 0 and 1.
pipeline "synthetic" {
  source "generate" {
    rate          = 100
    late_fraction = 5
  }
  sink "console" "out" {}
}
