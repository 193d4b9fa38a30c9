package mixintest

import (
	"sync"
	"testing"
	"time"
)

func TestFailNext(t *testing.T) {
	s := NewServer(t)
	c := newREST(t, s, s.Bot())
	s.FailNext(Failure{Method: "GET", Path: "/me", Times: 2, Status: 500, Code: 7000})
	s.FailNext(Failure{Times: 1, Status: 202, Code: 20116})
	c.do("GET", "/safe/me", nil).fails(t, 20116) // the catch-all rule
	c.do("GET", "/me", nil).fails(t, 7000)
	c.do("GET", "/me", nil).fails(t, 7000)
	c.do("GET", "/me", nil).ok(t, nil)
	s.FailNext(Failure{Method: "POST", Path: "/messages", Times: 1, Status: 429, Code: 429, RetryAfter: 1500 * time.Millisecond})
	r := c.do("POST", "/messages", "[]")
	if r.status != 429 || r.env.Error.Code != 429 || r.header.Get("Retry-After") != "2" {
		t.Fatalf("429: %d %s %v", r.status, r.raw, r.header)
	}
	// The injected answers are recorded as answered.
	recs := s.Requests()
	if len(recs) != 5 || recs[0].Code != 20116 || recs[1].Status != 500 || recs[1].Code != 7000 || recs[3].Code != 0 || recs[4].Status != 429 {
		t.Fatalf("records %+v", recs)
	}
	s.ResetRequests()
	if len(s.Requests()) != 0 {
		t.Fatal("reset")
	}
	// Unauthenticated requests never consume injected faults.
	s.FailNext(Failure{Times: 1, Status: 500, Code: 500})
	c.mutate = func(ts *tokenSpec) { ts.claims["sig"] = "x" }
	c.do("GET", "/me", nil).fails(t, 401)
	c.mutate = nil
	c.do("GET", "/me", nil).fails(t, 500)
}

func TestRandomFaults(t *testing.T) {
	s := NewServer(t, WithFaults(Faults{Seed: 1, ErrorRate: 1, ErrorPaths: []string{"/me"}}))
	c := newREST(t, s, s.Bot())
	c.do("GET", "/me", nil).fails(t, 500)
	c.do("GET", "/safe/me", nil).ok(t, nil)

	// Rate limits come in the documented envelope (HTTP 202, code 429) or,
	// on request, as HTTP 429.
	s.SetFaults(Faults{Seed: 1, RateLimitRate: 1, RetryAfter: 3 * time.Second})
	r := c.do("GET", "/safe/me", nil)
	if r.status != 202 || r.env.Error.Code != 429 || r.header.Get("Retry-After") != "3" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	s.SetFaults(Faults{Seed: 1, RateLimitRate: 1, RateLimitHTTP: true})
	r = c.do("GET", "/safe/me", nil)
	if r.status != 429 || r.env.Error.Code != 429 || r.header.Get("Retry-After") != "" {
		t.Fatalf("%d %s %v", r.status, r.raw, r.header)
	}
	// A seeded rate gives a deterministic, partial pattern.
	pattern := func() []int {
		s.SetFaults(Faults{Seed: 42, ErrorRate: 0.5})
		var out []int
		for i := 0; i < 20; i++ {
			out = append(out, c.do("GET", "/me", nil).status)
		}
		return out
	}
	p1, p2 := pattern(), pattern()
	fails := 0
	for i := range p1 {
		if p1[i] != p2[i] {
			t.Fatalf("not deterministic: %v vs %v", p1, p2)
		}
		if p1[i] == 500 {
			fails++
		}
	}
	if fails == 0 || fails == 20 {
		t.Fatalf("rate 0.5 gave %d/20 failures", fails)
	}

	s.SetFaults(Faults{Latency: 150 * time.Millisecond})
	start := time.Now()
	c.do("GET", "/me", nil).ok(t, nil)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	s.SetFaults(Faults{})
	// SetFaults is safe while serving.
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				s.SetFaults(Faults{Seed: int64(j), ErrorRate: 0.1})
				newREST(t, s, s.Bot()).do("GET", "/me", nil)
			}
		}()
	}
	wg.Wait()
}
