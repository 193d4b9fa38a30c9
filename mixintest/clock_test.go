package mixintest

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func fixedClock(t time.Time) Option { return WithClock(func() time.Time { return t }) }

func TestClockHeadersOnREST(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 678900000, time.UTC)
	cases := []struct {
		h              ClockHeader
		serverTime, dt bool
	}{
		{ClockHeaderServerTime | ClockHeaderDate, true, true},
		{ClockHeaderServerTime, true, false},
		{ClockHeaderDate, false, true},
		{0, false, false},
	}
	for _, tc := range cases {
		opts := []Option{fixedClock(at)}
		if tc.h != ClockHeaderServerTime|ClockHeaderDate {
			opts = append(opts, WithClockHeaders(tc.h))
		}
		s := NewServer(t, opts...)
		c := newREST(t, s, s.Bot())
		for _, r := range []resp{c.do("GET", "/me", nil), c.do("GET", "/conversations/nope", nil)} {
			st, date := r.header.Get("X-Server-Time"), r.header.Get("Date")
			if tc.serverTime != (st != "") || tc.dt != (date != "") {
				t.Fatalf("headers %v: X-Server-Time %q Date %q", tc.h, st, date)
			}
			if st != "" && st != strconv.FormatInt(at.UnixNano(), 10) {
				t.Fatalf("X-Server-Time %q, want nanoseconds of %v", st, at)
			}
			if date != "" && date != at.Format(http.TimeFormat) {
				t.Fatalf("Date %q", date)
			}
		}
	}
}

func TestClockHeadersOnBlazeUpgradeAndRefusal(t *testing.T) {
	at := time.Now().Add(time.Hour).UTC()
	s := NewServer(t, fixedClock(at), WithBlazeAuthFailure(BlazeAuthFailureHTTP401))
	conn, res, err := dialAs(t, s, s.Bot(), nil, "Mixin-Blaze-1")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if res.Header.Get("X-Server-Time") != strconv.FormatInt(at.UnixNano(), 10) || res.Header.Get("Date") == "" {
		t.Fatalf("101 headers %v", res.Header)
	}
	// A token signed by a clock an hour slow: refused at the upgrade, with
	// the server's clock in the answer.
	slow := func(ts *tokenSpec) {
		ts.claims["iat"] = at.Add(-time.Hour).Unix()
		ts.claims["exp"] = at.Add(-time.Hour + 5*time.Minute).Unix()
	}
	_, res, err = dialAs(t, s, s.Bot(), slow, "Mixin-Blaze-1")
	if err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("slow clock: %v %v", res, err)
	}
	if res.Header.Get("X-Server-Time") == "" {
		t.Fatalf("401 headers %v", res.Header)
	}
}

// By default a bad blaze token gets the ERROR frame the official apps act
// on, after the upgrade.
func TestBlazeAuthFailureAsErrorFrame(t *testing.T) {
	s := NewServer(t)
	bad := func(ts *tokenSpec) { ts.claims["sig"] = "0" }
	conn, res, err := dialAs(t, s, s.Bot(), bad, "Mixin-Blaze-1")
	if err != nil {
		t.Fatalf("the upgrade is accepted: %v", err)
	}
	if res.Header.Get("X-Server-Time") == "" {
		t.Fatalf("101 headers %v", res.Header)
	}
	f := mustRecv(t, conn)
	if f.Action != "ERROR" || f.Error == nil || f.Error.Code != 401 {
		t.Fatalf("frame %+v", f)
	}
	if _, err := recv(conn, 3*time.Second); err == nil {
		t.Fatal("the server closes after the ERROR frame")
	}
	// A good token still connects.
	dial(t, s, s.Bot())
}

func TestMaxClockSkew(t *testing.T) {
	old := func(ts *tokenSpec) {
		now := time.Now()
		ts.claims["iat"] = now.Add(-10 * time.Minute).Unix()
		ts.claims["exp"] = now.Add(24 * time.Hour).Unix()
	}
	s := NewServer(t)
	c := newREST(t, s, s.Bot())
	c.mutate = old
	c.do("GET", "/me", nil).ok(t, nil) // by default a long-lived token passes

	s = NewServer(t, WithMaxClockSkew(5*time.Minute))
	c = newREST(t, s, s.Bot())
	c.mutate = old
	c.do("GET", "/me", nil).fails(t, 401)
	c.mutate = nil
	c.do("GET", "/me", nil).ok(t, nil)
}
