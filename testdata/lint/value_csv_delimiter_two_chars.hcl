# The CSV delimiter must be a single character: the user should see one error
# on ";;".
pipeline "clicks" {
  source "file" {
    path = "events.csv"
  }
  parse "csv" {
    delimiter = ";;"
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
