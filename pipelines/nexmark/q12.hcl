# Nexmark query 12, processing-time windows: the bids of each bidder per 10
# seconds of processing time. Which window a bid lands in depends on when
# sluice reads it, so results change from run to run; only their totals
# do not.
pipeline "nexmark_q12" {
  source "nexmark" {
    stream = "bid"
    events = 1000000
    rate   = 100000
  }

  window "tumbling" {
    event_time = "processing_time"
    size       = "10s"
    group_by   = ["bidder"]
    aggregate = {
      bid_count = "count()"
    }
  }

  sink "file" "out" {
    path = env("SLUICE_OUT", "/tmp/sluice/nexmark_q12.ndjson")
  }
}

# The test checks what does not depend on timing: q12's windows, summed
# per bidder over the whole input, give every bidder's number of bids.
pipeline "nexmark_q12_totals" {
  source "nexmark" {
    stream = "bid"
    events = 1000000
  }

  window "tumbling" {
    event_time = "processing_time"
    size       = "10s"
    group_by   = ["bidder"]
    aggregate = {
      bid_count = "count()"
    }
  }

  map {
    set = { all = "date('2024-01-01T00:00:00Z')" }
  }

  window "tumbling" {
    event_time = "all"
    size       = "1d"
    group_by   = ["bidder"]
    aggregate = {
      bids    = "sum(bid_count)"
      windows = "count()"
    }
  }

  map {
    drop = ["window_start", "window_end", "windows"]
  }

  sink "file" "out" {
    path = env("SLUICE_OUT", "/tmp/sluice/nexmark_q12_totals.ndjson")
  }
}

# Run with: sluice test pipelines/
test "nexmark_q12_totals_fixture" {
  pipeline = "nexmark_q12_totals"
  input    = "testdata/bids.ndjson"
  expect   = "testdata/q12_totals.expected.ndjson"
}
