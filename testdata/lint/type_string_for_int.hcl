# rate is an int but is given as a string that is not a number: the user
# should see one "Incorrect value type" error on "fast" saying a number is
# required.
pipeline "synthetic" {
  source "generate" {
    rate  = "fast"
    count = 1000
  }
  sink "console" "out" {}
}
