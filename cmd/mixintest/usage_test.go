package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelp: -h prints every flag and the admin reference and is not an error.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{arg}, &out); err != nil {
			t.Fatalf("run %s: %v", arg, err)
		}
		var o options
		newFlagSet(&o).VisitAll(func(f *flag.Flag) {
			if !strings.Contains(out.String(), "  -"+f.Name) {
				t.Errorf("%s output lacks flag -%s", arg, f.Name)
			}
		})
		if !strings.Contains(out.String(), usage) {
			t.Errorf("%s output lacks the reference text", arg)
		}
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"-nope"}, &out)
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "-h") {
		t.Fatalf("bad flag: %v", err)
	}
}

// TestDocMatchesUsage: the package doc carries usage.txt verbatim, so go doc
// and -h say the same thing.
func TestDocMatchesUsage(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, line := range strings.Split(strings.TrimRight(usage, "\n"), "\n") {
		if line == "" {
			want.WriteString("//\n")
		} else {
			want.WriteString("//\t" + line + "\n")
		}
	}
	if !strings.Contains(string(src), want.String()+"package main") {
		t.Fatal("doc.go does not end with usage.txt as a code block; regenerate it from usage.txt")
	}
}

// TestRunTLS: with -tls the emulator serves HTTPS and WSS with the
// certificate it writes, and a client that trusts only that file verifies
// the connection; a client that does not trust it is refused.
func TestRunTLS(t *testing.T) {
	certPath := filepath.Join(t.TempDir(), "emu.pem")
	st := startRunScheme(t, "https", "-tls", "-cert", certPath, "-tls-host", "emu.test")
	pemBytes, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("cert file holds no PEM certificate")
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", st.api+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+token(t, st.ks, "GET", "/me", nil))
	res, err := trusting.Do(req)
	if err != nil {
		t.Fatalf("verified HTTPS: %v", err)
	}
	var me struct {
		Data struct {
			UserID string `json:"user_id"`
		} `json:"data"`
	}
	err = json.NewDecoder(res.Body).Decode(&me)
	res.Body.Close()
	if err != nil || me.Data.UserID != st.ks.AppID {
		t.Fatalf("/me over TLS: %+v %v", me, err)
	}
	if res.TLS == nil || len(res.TLS.VerifiedChains) == 0 {
		t.Fatal("no verified chain")
	}
	if err := res.TLS.PeerCertificates[0].VerifyHostname("emu.test"); err != nil {
		t.Fatalf("-tls-host not in the certificate: %v", err)
	}
	// A client with the default roots does not trust it.
	if _, err := http.Get(st.api + "/me"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted client: %v", err)
	}
	if err := st.stop(); err != nil {
		t.Fatal(err)
	}
}
