package mixintest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
)

// TestTLSServer: a TLS server's REST and blaze URLs are https:// and wss://,
// its Client trusts the generated certificate for both, and a client that
// trusts the written PEM file (and nothing else) verifies the connection.
func TestTLSServer(t *testing.T) {
	s := mixintest.NewTLSServer(t, mixintest.WithTLSHosts("bot.example"))
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") || !strings.HasPrefix(s.BlazeURL(), "wss://127.0.0.1:") {
		t.Fatalf("urls %s %s", s.URL(), s.BlazeURL())
	}
	cert := s.Certificate()
	if err := cert.VerifyHostname("bot.example"); err != nil {
		t.Fatal(err)
	}
	if err := cert.VerifyHostname("localhost"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	client, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.ReadMe(ctx); err != nil {
		t.Fatalf("Me over HTTPS: %v", err)
	}
	alice := s.NewUser("Alice")
	if _, err := alice.SendText(ctx, s.Bot().UserID, "over wss"); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	bctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- client.RunBlaze(bctx, mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
			got <- m.Text()
			return nil
		}))
	}()
	select {
	case text := <-got:
		if text != "over wss" {
			t.Fatalf("got %q", text)
		}
	case err := <-done:
		t.Fatalf("RunBlaze over WSS: %v", err)
	case <-ctx.Done():
		t.Fatal("no message over WSS")
	}
	stop()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}

	// Trust the PEM file only.
	path := filepath.Join(t.TempDir(), "cert.pem")
	if err := s.WriteCertificate(path); err != nil {
		t.Fatal(err)
	}
	pemBytes, _ := os.ReadFile(path)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no PEM")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := hc.Get(s.URL() + "/_mixintest/users")
	if err != nil {
		t.Fatalf("verified GET: %v", err)
	}
	res.Body.Close()
	if len(res.TLS.VerifiedChains) == 0 {
		t.Fatal("unverified")
	}
	// Without the certificate the connection is refused.
	if _, err := http.Get(s.URL() + "/_mixintest/users"); err == nil {
		t.Fatal("a client without the certificate connected")
	}
	// A client built without the server's HTTP client fails too: trust is
	// not implied.
	ks, _ := mixin.ParseKeystore(s.KeystoreJSON())
	plain, err := mixin.NewClient(ks, mixin.WithBaseURL(s.URL()), mixin.WithBlazeURL(s.BlazeURL()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.ReadMe(ctx); err == nil {
		t.Fatal("untrusting client succeeded")
	}
}
