# Five-minute sliding averages per device, refreshed every minute, keeping
# only the windows where a device ran hot. The filter after the window sees
# the window's output columns (window_start, window_end, device, ...).
pipeline "iot_sensors" {
  source "file" {
    path = "../testdata/sensor_readings.ndjson"
  }

  parse "json" {
    field "device" { type = "string" }
    field "temperature" { type = "float" }
    field "humidity" {
      type     = "float"
      required = false
    }
    field "ts" {
      type = "timestamp"
      unit = "ms"
    }
  }

  filter {
    where = "temperature > -50 && temperature < 150"
  }

  window "sliding" {
    event_time   = "ts"
    size         = "5m"
    slide        = "1m"
    watermark    = "30s"
    idle_timeout = "1m"
    group_by     = ["device"]
    aggregate = {
      avg_temp = "avg(temperature)"
      max_temp = "max(temperature)"
      p95_temp = "approx_percentile(temperature, 0.95)"
      readings = "count()"
    }
  }

  filter {
    where = "avg_temp > 30.0 && readings >= 3"
  }

  sink "console" "hot_devices" {
    format = "json"
  }

  dead_letter "file" {
    path = "/tmp/sluice/iot_sensors.dead.ndjson"
  }
}

# Run with: sluice test pipelines/
test "iot_sensors_fixture" {
  pipeline = "iot_sensors"
  input    = "../testdata/sensor_readings.ndjson"
  expect   = "../testdata/expected/iot_sensors.ndjson"
}
