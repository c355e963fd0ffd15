package pulsartest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// TestCA is a certificate authority for TLS tests of the broker and its
// clients (Options.TLSConfig, mutual TLS): it signs short-lived
// certificates and writes them, with their keys, as PEM files in a folder.
type TestCA struct {
	// CAFile is the authority's certificate as PEM, for clients to trust.
	CAFile string
	// Pool holds the authority's certificate, for tls.Config.ClientCAs.
	Pool *x509.CertPool

	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewTestCA creates an authority named name whose files go to dir.
func NewTestCA(dir, name string) (*TestCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &TestCA{dir: dir, cert: cert, key: key, Pool: x509.NewCertPool()}
	ca.Pool.AddCert(cert)
	if ca.CAFile, err = ca.write("ca.pem", "CERTIFICATE", der); err != nil {
		return nil, err
	}
	return ca, nil
}

func (ca *TestCA) write(name, typ string, der []byte) (string, error) {
	path := filepath.Join(ca.dir, name)
	return path, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

// Issue signs a server (or, with client, a client) certificate for cn,
// valid for the DNS names and IP addresses in hosts, and writes it and its
// key as PEM files named after cn.
func (ca *TestCA) Issue(cn string, client bool, hosts ...string) (cert tls.Certificate, certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return cert, "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return cert, "", "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return cert, "", "", err
	}
	if certFile, err = ca.write(cn+".pem", "CERTIFICATE", der); err != nil {
		return cert, "", "", err
	}
	if keyFile, err = ca.write(cn+"-key.pem", "PRIVATE KEY", keyDER); err != nil {
		return cert, "", "", err
	}
	cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	return cert, certFile, keyFile, err
}
