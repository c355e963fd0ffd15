# Nexmark query 7, highest bid: in each 10-second window, the bids with the
# highest price (every one of them on a tie), with their auction, bidder,
# price and time.
pipeline "nexmark_q7" {
  source "nexmark" {
    stream = "bid"
    events = 1000000
  }

  window "tumbling" {
    event_time = "date_time"
    size       = "10s"
    keep       = "max(price)"
  }

  map {
    drop = ["channel", "url", "extra"]
  }

  sink "file" "out" {
    path = env("SLUICE_OUT", "/tmp/sluice/nexmark_q7.ndjson")
  }
}

# Run with: sluice test pipelines/
test "nexmark_q7_fixture" {
  pipeline = "nexmark_q7"
  input    = "testdata/bids.ndjson"
  expect   = "testdata/q7.expected.ndjson"
}
