# env() of a variable that is not set and has no default: the user should see
# one error on the env(...) call naming SLUICE_LINT_TEST_UNSET_VAR and
# suggesting env("NAME", "default") or exporting the variable.
pipeline "clicks" {
  source "file" {
    path = env("SLUICE_LINT_TEST_UNSET_VAR")
  }
  parse "json" {
    field "action" { type = "string" }
  }
  sink "console" "out" {}
}
