package pulsartest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/sluice-io/sluice/internal/pulsartest/pulsarpb"
)

// handshakeTimeout bounds the TLS handshake and the wait for CONNECT's
// answer to be written when a client is refused.
const handshakeTimeout = 10 * time.Second

// AuthRequest is what a connecting client presents, for
// Options.Authenticate.
type AuthRequest struct {
	// Method is the CONNECT's auth_method_name, as pulsar-client-go names
	// its providers: "token" (tokens and OAuth 2.0 access tokens), "tls"
	// (the client certificate authenticates), "basic", "athenz", or ""
	// without authentication.
	Method string
	// Data is the CONNECT's auth_data: the token for "token", empty for
	// "tls".
	Data []byte
	// TLS is the state of the TLS connection, nil without TLS. With mutual
	// TLS its PeerCertificates (and VerifiedChains, when the broker's
	// TLSConfig verifies client certificates) hold the client's
	// certificate, which is what the "tls" method authenticates with.
	TLS *tls.ConnectionState
}

// PeerCertificate returns the client's certificate of a mutual TLS
// connection, or nil.
func (r AuthRequest) PeerCertificate() *x509.Certificate {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}

// tlsHandshake completes the TLS handshake of a TLS connection, so that
// the client certificate is known before CONNECT. It returns false if the
// handshake failed.
func (c *conn) tlsHandshake() bool {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return true
	}
	tc.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.Handshake(); err != nil {
		c.log.Info("TLS handshake failed", "err", err)
		return false
	}
	tc.SetDeadline(time.Time{})
	return true
}

// authenticateConnect checks the credentials of cmd with
// Options.Authenticate. A refused client gets an ERROR frame of type
// AuthenticationError, written before the connection closes; the client
// logs its message ("Failed to establish connection with broker: ...").
func (c *conn) authenticateConnect(cmd *pb.CommandConnect) bool {
	if c.b.authenticate == nil {
		return true
	}
	req := AuthRequest{Method: cmd.GetAuthMethodName(), Data: cmd.GetAuthData()}
	if tc, ok := c.nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		req.TLS = &st
	}
	err := c.b.authenticate(req)
	if err == nil {
		return true
	}
	method := req.Method
	if method == "" {
		method = "none"
	}
	msg := fmt.Sprintf("pulsartest: authentication failed (method %q): %v", method, err)
	c.log.Info("client refused", "method", method, "err", err)
	frame := encodeCommand(&pb.BaseCommand{
		Type: pb.BaseCommand_ERROR.Enum(),
		Error: &pb.CommandError{
			RequestId: proto.Uint64(0),
			Error:     pb.ServerError_AuthenticationError.Enum(),
			Message:   proto.String(msg),
		},
	})
	// Nothing else is written before CONNECTED: write directly, so that
	// the frame is out before the connection closes.
	c.nc.SetWriteDeadline(time.Now().Add(handshakeTimeout))
	c.nc.Write(frame)
	return false
}

// serviceURLs returns the broker URLs for LOOKUP_RESPONSE: the client picks
// brokerServiceUrlTls when it uses TLS and brokerServiceUrl otherwise.
func (b *Broker) serviceURLs(resp *pb.CommandLookupTopicResponse) {
	if b.tls {
		resp.BrokerServiceUrlTls = proto.String(b.url)
	} else {
		resp.BrokerServiceUrl = proto.String(b.url)
	}
}
