package mixintest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TLS: clients that insist on https:// and wss:// (the official Go client
// builds wss:// blaze URLs, the Node SDK dials wss://blaze.mixin.one, fox-one's
// UseBlazeHost builds wss://) reach the emulator when it serves TLS with a
// certificate they trust. The server generates a fresh self-signed ECDSA
// P-256 certificate, valid for localhost, 127.0.0.1, ::1 and the hosts given
// with WithTLSHosts, and hands it out as PEM (CertificatePEM,
// WriteCertificate) so that a client can add it to its trust store: Go reads
// SSL_CERT_FILE, Node NODE_EXTRA_CA_CERTS, curl --cacert.

// defaultTLSHosts are always in the generated certificate.
var defaultTLSHosts = []string{"localhost", "127.0.0.1", "::1"}

// WithTLSHosts adds DNS names or IP addresses to the certificate the server
// generates for TLS (it always covers localhost, 127.0.0.1 and ::1).
func WithTLSHosts(hosts ...string) Option {
	return serverOption(func(c *config) {
		for _, h := range hosts {
			if h = strings.TrimSpace(h); h != "" && !slices.Contains(c.tlsHosts, h) {
				c.tlsHosts = append(c.tlsHosts, h)
			}
		}
	})
}

// NewTLSServer starts a new emulator serving HTTPS and WSS with a generated
// certificate and registers t.Cleanup(s.Close). Its Client trusts the
// certificate; other clients trust CertificatePEM.
func NewTLSServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewUnstartedServer(opts...)
	s.t = t
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// StartTLS starts listening on 127.0.0.1 on a random port with TLS, using
// the server's generated certificate. It panics if the server was already
// started.
func (s *Server) StartTLS() {
	if s.ts != nil {
		panic("mixintest: Server already started")
	}
	s.ts = httptest.NewUnstartedServer(s.handler)
	s.ts.TLS = s.TLSConfig()
	s.ts.StartTLS()
}

// TLSConfig returns a server TLS configuration holding the generated
// certificate, for serving Handler on a listener of your own (as
// cmd/mixintest does) with tls.NewListener or http.Server.ServeTLS.
func (s *Server) TLSConfig() *tls.Config {
	cert := s.tlsCert()
	return &tls.Config{Certificates: []tls.Certificate{cert.pair}, MinVersion: tls.VersionTLS12}
}

// Certificate returns the generated certificate (self-signed, so it is its
// own root).
func (s *Server) Certificate() *x509.Certificate { return s.tlsCert().leaf }

// CertificatePEM returns the generated certificate in PEM form, the format
// SSL_CERT_FILE, NODE_EXTRA_CA_CERTS and curl --cacert read.
func (s *Server) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.tlsCert().leaf.Raw})
}

// WriteCertificate writes CertificatePEM to path (mode 0644: it is public).
func (s *Server) WriteCertificate(path string) error {
	if path == "" {
		return errors.New("mixintest: empty certificate path")
	}
	return os.WriteFile(path, s.CertificatePEM(), 0o644)
}

// CertPool returns a pool holding only the generated certificate.
func (s *Server) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.tlsCert().leaf)
	return pool
}

// HTTPClient returns an HTTP client for this server: for a TLS server it
// trusts only the generated certificate; otherwise it is a plain client.
func (s *Server) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.isTLS() {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}
}

func (s *Server) isTLS() bool { return s.ts != nil && s.ts.TLS != nil }

type generatedCert struct {
	pair tls.Certificate
	leaf *x509.Certificate
}

// tlsCert generates the certificate on first use.
func (s *Server) tlsCert() *generatedCert {
	s.certOnce.Do(func() {
		c, err := generateCert(append(slices.Clone(defaultTLSHosts), s.cfg.tlsHosts...), time.Now())
		if err != nil {
			panic("mixintest: generate TLS certificate: " + err.Error()) // crypto/rand never fails
		}
		s.cert = c
	})
	return s.cert
}

// generateCert makes a self-signed certificate for hosts, usable both as
// the server certificate and as the root a client trusts. Validity is taken
// from the wall clock (clients verify against it), not the server clock.
func generateCert(hosts []string, now time.Time) (*generatedCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"mixintest"}, CommonName: "mixintest emulator"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &generatedCert{pair: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf: leaf}, nil
}
