# Nexmark query 5, hot items: the bids per auction in 10-second windows
# sliding every 2 seconds, and of each window only the auctions with the
# most bids (every one of them on a tie).
pipeline "nexmark_q5" {
  source "nexmark" {
    stream = "bid"
    events = 1000000
  }

  window "sliding" {
    event_time = "date_time"
    size       = "10s"
    slide      = "2s"
    group_by   = ["auction"]
    aggregate = {
      num = "count()"
    }
    keep = "max(num)"
  }

  sink "file" "out" {
    path = env("SLUICE_OUT", "/tmp/sluice/nexmark_q5.ndjson")
  }
}

# Run with: sluice test pipelines/
test "nexmark_q5_fixture" {
  pipeline = "nexmark_q5"
  input    = "testdata/bids.ndjson"
  expect   = "testdata/q5.expected.ndjson"
}
