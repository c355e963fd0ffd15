package pgtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var server *Server

func TestMain(m *testing.M) { os.Exit(Main(m, &server)) }

// TestServer connects to two fresh databases of the server and checks
// they are separate and empty.
func TestServer(t *testing.T) {
	s := Need(t, server)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 2 {
		conn, err := pgx.Connect(ctx, s.Database(t))
		if err != nil {
			t.Fatal(err)
		}
		var tables int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("a new database holds %d tables", tables)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
		_ = conn.Close(ctx)
	}
}
