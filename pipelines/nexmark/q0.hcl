# Nexmark query 0, pass-through: every bid with the columns of the published
# query (auction, bidder, price, date_time, extra). It measures the cost of
# reading and writing alone. docs/nexmark.md describes the source.
pipeline "nexmark_q0" {
  source "nexmark" {
    stream = "bid"
    events = 1000000
  }

  map {
    drop = ["channel", "url"]
  }

  sink "file" "out" {
    path = env("SLUICE_OUT", "/tmp/sluice/nexmark_q0.ndjson")
  }
}

# Run with: sluice test pipelines/
# testdata/bids.ndjson, the input of most Nexmark tests, is
# `sluice nexmark generate --events 500 --event-rate 25 --stream bid`:
# 460 bids over 20 seconds of event time.
test "nexmark_q0_fixture" {
  pipeline = "nexmark_q0"
  input    = "testdata/bids.ndjson"
  expect   = "testdata/q0.expected.ndjson"
}
