# Nexmark query 2, selection: the auction and price of the bids on every
# 123rd auction.
pipeline "nexmark_q2" {
  source "nexmark" {
    stream = "bid"
    events = 1000000
  }

  filter {
    where = "auction % 123 == 0"
  }

  map {
    drop = ["bidder", "channel", "url", "date_time", "extra"]
  }

  sink "file" "out" {
    path = env("SLUICE_OUT", "/tmp/sluice/nexmark_q2.ndjson")
  }
}

# Run with: sluice test pipelines/
# The input is the last 460 bids of
# `sluice nexmark generate --events 5000 --event-rate 100 --stream bid`:
# the first few thousand events name no auction id divisible by 123.
test "nexmark_q2_fixture" {
  pipeline = "nexmark_q2"
  input    = "testdata/bids_tail.ndjson"
  expect   = "testdata/q2.expected.ndjson"
}
