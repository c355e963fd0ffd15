package parse

import (
	"fmt"
	"testing"
)

// BenchmarkCSVParse measures the reference event shape as CSV lines in
// batches of 1024.
func BenchmarkCSVParse(b *testing.B) {
	c := &CSV{Fields: csvEventFields}
	in, size := benchBatch(1024, func(i int) string {
		return fmt.Sprintf(`%d,%s,%d,%s`, 100000+i*7919%900000, benchActions[i%len(benchActions)], 1700000000+i/10, benchDevices[i%len(benchDevices)])
	})
	runBench(b, c.Output(), c.Parse, in, size)
}
