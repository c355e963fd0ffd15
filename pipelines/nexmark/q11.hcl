# Nexmark query 11, user sessions: the bids of each bidder in sessions that
# end after 10 seconds without a bid.
pipeline "nexmark_q11" {
  source "nexmark" {
    stream = "bid"
    events = 1000000
  }

  window "session" {
    event_time = "date_time"
    gap        = "10s"
    group_by   = ["bidder"]
    aggregate = {
      bid_count = "count()"
    }
  }

  sink "file" "out" {
    path = env("SLUICE_OUT", "/tmp/sluice/nexmark_q11.ndjson")
  }
}

# Run with: sluice test pipelines/
test "nexmark_q11_fixture" {
  pipeline = "nexmark_q11"
  input    = "testdata/bids.ndjson"
  expect   = "testdata/q11.expected.ndjson"
}
