package mixin

import (
	"crypto/rand"
	"testing"
	"time"
)

// BenchmarkEncryptPerRecipientRatio encrypts one text for a group of ten
// members with five sessions each, as the client sends it (one entry per
// member, each sealed for that member's sessions), against the baseline of
// one envelope for all fifty sessions (the form no official client sends).
// Shared secrets are cached in both, as on every send after the first.
func BenchmarkEncryptPerRecipientRatio(b *testing.B) {
	k := testKey(b, seedVector())
	peers := benchPeers(b, 50)
	users := make([]string, 10)
	for i := range users {
		users[i] = NewUUID()
	}
	for i, p := range peers {
		p.userID = users[i/5]
	}
	info := &ConversationInfo{sessions: peers}
	c := &Client{cfg: &config{maxMessageBody: 128 << 10}, ks: &Keystore{AppID: NewUUID()}}
	m := MessageRequest{ConversationID: NewUUID(), MessageID: NewUUID(), Category: CategoryPlainText}
	if _, err := sealEnvelope(k, peers, bench50Text, rand.Reader); err != nil { // cache the secrets
		b.Fatal(err)
	}
	var ours, base time.Duration
	for b.Loop() {
		t0 := time.Now()
		bodies, err := c.encryptBodies(k, info, m, bench50Text, nil)
		if err != nil || len(bodies) != 10 {
			b.Fatal(err, len(bodies))
		}
		t1 := time.Now()
		env, err := sealEnvelope(k, peers, bench50Text, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		_ = EncodeBase64Data(env)
		t2 := time.Now()
		ours += t1.Sub(t0)
		base += t2.Sub(t1)
	}
	b.ReportMetric(float64(ours)/float64(base), "x-baseline")
}
