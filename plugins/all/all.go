// Package all registers every plugin of this build. Import it for its side
// effect:
//
//	import _ "github.com/sluice-io/sluice/plugins/all"
package all

import (
	_ "github.com/sluice-io/sluice/plugins/console"       // sink "console"
	_ "github.com/sluice-io/sluice/plugins/delta"         // sink "delta"
	_ "github.com/sluice-io/sluice/plugins/elasticsearch" // sink "elasticsearch"
	_ "github.com/sluice-io/sluice/plugins/file"          // source, sink and dead_letter "file"
	_ "github.com/sluice-io/sluice/plugins/filter"        // filter
	_ "github.com/sluice-io/sluice/plugins/generate"      // source "generate"
	_ "github.com/sluice-io/sluice/plugins/kafka"         // source and sink "kafka"
	_ "github.com/sluice-io/sluice/plugins/mapping"       // map
	_ "github.com/sluice-io/sluice/plugins/nexmark"       // source "nexmark"
	_ "github.com/sluice-io/sluice/plugins/parquet"       // sink "parquet"
	_ "github.com/sluice-io/sluice/plugins/parse"         // parse "json" and "csv"
	_ "github.com/sluice-io/sluice/plugins/postgres"      // sink "postgres"
	_ "github.com/sluice-io/sluice/plugins/pulsar"        // source, sink and dead_letter "pulsar"
	_ "github.com/sluice-io/sluice/plugins/window"        // window "tumbling", "sliding", "session"
)
