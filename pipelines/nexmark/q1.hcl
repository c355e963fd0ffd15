# Nexmark query 1, currency conversion: each bid's price in euros, as the
# published query computes it (0.908 × the price in dollar cents).
pipeline "nexmark_q1" {
  source "nexmark" {
    stream = "bid"
    events = 1000000
  }

  map {
    set  = { price = "price * 0.908" }
    drop = ["channel", "url"]
  }

  sink "file" "out" {
    path = env("SLUICE_OUT", "/tmp/sluice/nexmark_q1.ndjson")
  }
}

# Run with: sluice test pipelines/
test "nexmark_q1_fixture" {
  pipeline = "nexmark_q1"
  input    = "testdata/bids.ndjson"
  expect   = "testdata/q1.expected.ndjson"
}
