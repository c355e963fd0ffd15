package pulsartest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"google.golang.org/protobuf/proto"

	pb "github.com/sluice-io/sluice/internal/pulsartest/pulsarpb"
)

// testCA is a TestCA that fails the test on errors.
type testCA struct {
	*TestCA
	t testing.TB
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	ca, err := NewTestCA(t.TempDir(), "pulsartest CA")
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{TestCA: ca, t: t}
}

func (ca *testCA) issue(cn string, client bool, hosts ...string) (tls.Certificate, string, string) {
	ca.t.Helper()
	cert, certFile, keyFile, err := ca.Issue(cn, client, hosts...)
	if err != nil {
		ca.t.Fatal(err)
	}
	return cert, certFile, keyFile
}

// TestTLSAndAuthentication runs clients against a TLS broker that requires
// a token, or a client certificate, and checks who gets in.
func TestTLSAndAuthentication(t *testing.T) {
	ca := newTestCA(t)
	serverCert, _, _ := ca.issue("localhost", false, "localhost", "127.0.0.1")
	_, clientCert, clientKey := ca.issue("client-1", true)
	var mu sync.Mutex
	var seen []AuthRequest
	b, err := Start(Options{
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{serverCert},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    ca.Pool,
		},
		Authenticate: func(r AuthRequest) error {
			mu.Lock()
			seen = append(seen, r)
			mu.Unlock()
			switch r.Method {
			case "token":
				if string(r.Data) != "secret" {
					return errors.New("invalid token")
				}
				return nil
			case "tls":
				if c := r.PeerCertificate(); c == nil || c.Subject.CommonName != "client-1" {
					return errors.New("no client certificate")
				}
				return nil
			}
			return errors.New("authentication required")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if !strings.HasPrefix(b.URL(), "pulsar+ssl://127.0.0.1:") {
		t.Fatalf("URL = %q", b.URL())
	}
	for _, tc := range []struct {
		name    string
		auth    pulsar.Authentication
		wantErr bool
	}{
		{"token", pulsar.NewAuthenticationToken("secret"), false},
		{"client certificate", pulsar.NewAuthenticationTLS(clientCert, clientKey), false},
		{"wrong token", pulsar.NewAuthenticationToken("guess"), true},
		{"no credentials", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := pulsar.NewClient(pulsar.ClientOptions{
				URL:                   b.URL(),
				TLSTrustCertsFilePath: ca.CAFile,
				TLSValidateHostname:   true,
				Authentication:        tc.auth,
				OperationTimeout:      time.Second,
				ConnectionTimeout:     time.Second,
				Logger:                plog.DefaultNopLogger(),
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := testContext(t, 10*time.Second)
			p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: "secure"})
			if tc.wantErr {
				if err == nil {
					t.Fatal("producer created without valid credentials")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cons := subscribe(t, c, pulsar.ConsumerOptions{Topic: "secure", SubscriptionName: tc.name})
			produce(t, ctx, p, "x", 3)
			receive(t, ctx, cons, 3, true)
		})
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 || seen[0].TLS == nil {
			t.Errorf("Authenticate saw %+v", seen)
		}
	})
}

// TestAuthenticationErrorFrame checks the wire: a refused CONNECT gets an
// ERROR frame of type AuthenticationError, then the connection closes.
func TestAuthenticationErrorFrame(t *testing.T) {
	b, err := Start(Options{Authenticate: func(r AuthRequest) error {
		return fmt.Errorf("token %q is not welcome", r.Data)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	nc, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write(encodeCommand(&pb.BaseCommand{
		Type: pb.BaseCommand_CONNECT.Enum(),
		Connect: &pb.CommandConnect{ClientVersion: proto.String("raw"), ProtocolVersion: proto.Int32(20),
			AuthMethodName: proto.String("token"), AuthData: []byte("abc")},
	}))
	r := bufio.NewReader(nc)
	cmd, _, err := readFrame(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `pulsartest: authentication failed (method "token"): token "abc" is not welcome`
	if cmd.GetError().GetError() != pb.ServerError_AuthenticationError || cmd.GetError().GetMessage() != want {
		t.Fatalf("answer to CONNECT: %v", cmd)
	}
	if _, _, err := readFrame(r); err == nil {
		t.Fatal("connection still open")
	}
}
