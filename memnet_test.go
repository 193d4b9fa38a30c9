package mixin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/stretchr/testify/require"
)

// handlerTransport serves requests with an http.Handler in memory, so a
// test can run client and emulator inside a synctest bubble (no sockets).
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	sr := r.Clone(r.Context())
	sr.RequestURI = r.URL.RequestURI()
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, sr)
	res := rec.Result()
	res.Request = r
	return res, nil
}

// memServer is an unstarted emulator and a client for its bot that reach
// each other in memory.
func memServer(t *testing.T, sopts []mixintest.Option, copts ...mixin.Option) (*mixintest.Server, *mixin.Client) {
	t.Helper()
	s := mixintest.NewUnstartedServer(sopts...)
	t.Cleanup(s.Close)
	ks, err := mixin.ParseKeystore(s.KeystoreJSON())
	require.NoError(t, err)
	opts := append([]mixin.Option{mixin.WithBaseURL("http://mixin.test"),
		mixin.WithHTTPClient(&http.Client{Transport: handlerTransport{s.Handler()}})}, copts...)
	c, err := mixin.NewClient(ks, opts...)
	require.NoError(t, err)
	return s, c
}
