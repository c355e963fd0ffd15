// Package pgtest starts a throwaway PostgreSQL server for the tests of one
// test binary: a fresh cluster (initdb) in a temporary folder, listening
// on 127.0.0.1 on a free port with trust authentication, stopped and
// deleted when the tests end.
//
// It uses the server binaries of the machine, found under
// /usr/lib/postgresql/*/bin (Debian's postgresql package) or on the PATH.
// initdb refuses to run as root, so as root the server runs as the
// "postgres" user (runuser). Without the binaries the tests that need a
// server skip, except in CI (CI=true), where that is a failure.
//
// Use it from TestMain:
//
//	var server *pgtest.Server
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &server)) }
//
//	func TestX(t *testing.T) {
//		dsn := pgtest.Need(t, server).Database(t)
//		…
//	}
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries is returned by Start when no PostgreSQL server binaries
// are installed.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin or on the PATH: install them, e.g. apt-get install postgresql")

// Server is a running throwaway PostgreSQL server.
type Server struct {
	// Port is the TCP port it listens on, on 127.0.0.1.
	Port int
	dir  string // the temporary folder: data/, socket/ and log
	bin  string // the folder of initdb and pg_ctl
	// asUser is the user the server runs as ("" for the current one).
	asUser string
	dbs    atomic.Int64
}

// Start creates a cluster in a new temporary folder and starts a server on
// it. The caller must Stop it.
func Start() (*Server, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		s.asUser = "postgres"
	}
	if s.dir, err = os.MkdirTemp("", "sluice-pgtest-"); err != nil {
		return nil, err
	}
	if err := s.prepareDir(); err != nil {
		_ = os.RemoveAll(s.dir)
		return nil, err
	}
	if out, err := s.command("initdb", "-D", s.dataDir(), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		_ = os.RemoveAll(s.dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, bytes.TrimSpace(out))
	}
	for try := 0; ; try++ {
		if s.Port, err = freePort(); err == nil {
			err = s.start()
		}
		if err == nil {
			return s, nil
		}
		if try == 4 {
			_ = os.RemoveAll(s.dir)
			return nil, err
		}
	}
}

// findBinaries returns the folder holding initdb and pg_ctl, the newest
// version first.
func findBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if d := filepath.Dir(p); isFile(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

// version is the major version in a /usr/lib/postgresql/N/bin path.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// prepareDir makes the temporary folder the server's user's own.
func (s *Server) prepareDir() error {
	if err := os.Mkdir(s.socketDir(), 0o700); err != nil {
		return err
	}
	if s.asUser == "" {
		return nil
	}
	u, err := user.Lookup(s.asUser)
	if err != nil {
		return fmt.Errorf("running as root, the server needs the %q user: %w", s.asUser, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range []string{s.dir, s.socketDir()} {
		if err := os.Chown(p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) dataDir() string   { return filepath.Join(s.dir, "data") }
func (s *Server) socketDir() string { return filepath.Join(s.dir, "socket") }
func (s *Server) logFile() string   { return filepath.Join(s.dir, "server.log") }

// command runs one of the server's programs as the server's user.
func (s *Server) command(program string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, program)
	if s.asUser == "" {
		return exec.Command(path, args...)
	}
	return exec.Command("runuser", append([]string{"-u", s.asUser, "--", path}, args...)...)
}

// start starts the server on s.Port and waits until it accepts
// connections.
func (s *Server) start() error {
	opts := strings.Join([]string{
		"-c listen_addresses=127.0.0.1",
		"-c port=" + strconv.Itoa(s.Port),
		"-k " + s.socketDir(),
		// Durability of the server itself is not under test.
		"-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
		"-c max_connections=200",
	}, " ")
	out, err := s.command("pg_ctl", "start", "-w", "-t", "60", "-D", s.dataDir(), "-l", s.logFile(), "-o", opts).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(s.logFile())
		return fmt.Errorf("pg_ctl start: %v: %s\n%s", err, bytes.TrimSpace(out), log)
	}
	return nil
}

// freePort returns a TCP port of 127.0.0.1 free at the time of the call.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DSN returns the connection string of database on the server, as the
// superuser "postgres" over TCP.
func (s *Server) DSN(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, database)
}

// CreateDatabase creates a new, empty database and returns its DSN.
func (s *Server) CreateDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("test_%d", s.dbs.Add(1))
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return s.DSN(name), nil
}

// Database creates a new, empty database for the test and returns its DSN.
func (s *Server) Database(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, err := s.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// Stop stops the server at once (pg_ctl stop -m immediate) and deletes its
// folder.
func (s *Server) Stop() error {
	out, err := s.command("pg_ctl", "stop", "-m", "immediate", "-w", "-D", s.dataDir()).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("pg_ctl stop: %v: %s", err, bytes.TrimSpace(out))
	}
	if rerr := os.RemoveAll(s.dir); err == nil {
		err = rerr
	}
	return err
}

// Main starts a server, runs the tests with *server set to it, stops it
// and returns the exit code for os.Exit. Without server binaries it runs
// the tests with *server nil, so that Need skips those that need one;
// when the environment variable CI is "true" it fails instead.
func Main(m *testing.M, server **Server) int {
	s, err := Start()
	switch {
	case errors.Is(err, ErrNoBinaries) && os.Getenv("CI") != "true":
		fmt.Fprintf(os.Stderr, "pgtest: %v; the tests that need PostgreSQL skip\n", err)
		return m.Run()
	case err != nil:
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}
	*server = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Need returns server, or skips the test when there is none (no server
// binaries outside CI, see Main).
func Need(t testing.TB, server *Server) *Server {
	t.Helper()
	if server == nil {
		t.Skip("PostgreSQL server binaries are not installed (apt-get install postgresql); skipping a test that needs a server")
	}
	return server
}
