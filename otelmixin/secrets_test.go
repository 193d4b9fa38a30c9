package otelmixin_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/mixintest"
	"github.com/gomixin/mixin/otelmixin"
)

var uuidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// No metric attribute and no span carries a secret, content or a raw
// path: the REST calls below put conversation and user ids and a phone
// number in their paths, the messages carry recognisable content, and the
// bot's key and tokens are known; none of it may appear. Metric attributes
// carry no id at all (they would make a series per id); spans carry a
// message's and a conversation's id only under the messaging keys meant
// for them.
func TestNoSecretOrRawPathInAttributes(t *testing.T) {
	g := newRig(t, mixintest.WithBotCapabilities("CONTACT", "GROUP", "ENCRYPTED"))
	const phone = "+8613800138000"
	const content = "the-content-never-leaves"
	alice := g.srv.NewUser("Alice")
	var seen atomic.Int64
	g.runLoop(t, mixin.HandlerFunc(func(ctx context.Context, m *mixin.Message) error {
		seen.Add(1)
		_, err := g.client.Reply(ctx, m, mixin.TextPayload(content+" (reply)"))
		return err
	}))
	ctx := t.Context()
	if _, err := alice.SendText(ctx, g.srv.Bot().UserID, content); err != nil {
		t.Fatal(err)
	}
	conv := alice.ContactConversationID(g.srv.Bot().UserID)
	if _, err := g.client.ReadConversation(ctx, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := g.client.ReadUser(ctx, alice.UserID); err != nil {
		t.Fatal(err)
	}
	_, _ = g.client.SearchUser(ctx, phone) // found or not, the number must not show
	eventually(t, "the message handled and acknowledged", func() bool { return seen.Load() == 1 && g.srv.Pending(g.srv.Bot().UserID) == 0 })
	// The emulator retires the message before the client has its answer
	// and measures the request: wait for the measurement too.
	eventually(t, "the acknowledgement measured", func() bool {
		return total(g.collect(t), otelmixin.MetricRequestDuration, semconv.URLTemplate("/acknowledgements")) > 0
	})

	ks := g.client.Keystore()
	secrets := []string{phone, strings.TrimPrefix(phone, "+"), content, "Bearer", "eyJ", ks.SessionID}
	if js, err := ks.ExportJSON(); err == nil {
		secrets = append(secrets, keyMaterial(t, js)...)
	}
	rm := g.collect(t)
	checkMetricAttrs(t, rm, secrets, conv, alice.UserID)
	checkSpanAttrs(t, g, secrets, conv, alice.UserID)
}

// keyMaterial returns the private key of an exported keystore in the forms
// it could leak in.
func keyMaterial(t *testing.T, js []byte) []string {
	t.Helper()
	var out []string
	for _, field := range []string{`"private_key":"`, `"session_private_key":"`} {
		i := strings.Index(string(js), field)
		if i < 0 {
			continue
		}
		v := string(js[i+len(field):])
		v = v[:strings.IndexByte(v, '"')]
		out = append(out, v)
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
			if b, err := enc.DecodeString(v); err == nil && len(b) >= 32 {
				out = append(out, hex.EncodeToString(b[:32]), base64.StdEncoding.EncodeToString(b[:32]))
			}
		}
		if b, err := hex.DecodeString(v); err == nil && len(b) >= 32 {
			out = append(out, base64.RawURLEncoding.EncodeToString(b[:32]))
		}
	}
	if len(out) == 0 {
		t.Fatal("found no private key in the exported keystore: the test would check nothing")
	}
	return out
}

func checkValue(t *testing.T, where string, kv attribute.KeyValue, secrets []string) {
	t.Helper()
	v := kv.Value.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(v, s) {
			t.Errorf("%s: attribute %s carries a secret or content: %q", where, kv.Key, v)
		}
	}
	if kv.Key == semconv.URLTemplateKey && (uuidRE.MatchString(v) || strings.ContainsAny(v, "?+0123456789")) {
		t.Errorf("%s: url.template %q is a raw path", where, v)
	}
}

func checkMetricAttrs(t *testing.T, rm metricdata.ResourceMetrics, secrets []string, ids ...string) {
	t.Helper()
	templates := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, set := range metricSets(m) {
				for _, kv := range set.ToSlice() {
					checkValue(t, "metric "+m.Name, kv, append(secrets, ids...))
					if uuidRE.MatchString(kv.Value.String()) {
						t.Errorf("metric %s: attribute %s carries an id: %q", m.Name, kv.Key, kv.Value.String())
					}
					if kv.Key == semconv.URLTemplateKey {
						templates++
					}
				}
			}
		}
	}
	if templates < 5 {
		t.Errorf("only %d url.template attributes recorded: the calls were not measured", templates)
	}
}

func metricSets(m metricdata.Metrics) []attribute.Set {
	var out []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	}
	return out
}

// idKeys may carry ids on spans: that is what they are for.
var idKeys = map[attribute.Key]bool{
	semconv.MessagingMessageIDKey:             true,
	semconv.MessagingMessageConversationIDKey: true,
	otelmixin.KeyRequestID:                    true,
}

func checkSpanAttrs(t *testing.T, g *rig, secrets []string, ids ...string) {
	t.Helper()
	spans := g.spans.Ended()
	if len(spans) < 5 {
		t.Fatalf("only %d spans recorded", len(spans))
	}
	for _, s := range spans {
		where := "span " + s.Name()
		if uuidRE.MatchString(s.Name()) || strings.Contains(s.Name(), "+") {
			t.Errorf("span name %q carries an id or a number", s.Name())
		}
		if d := s.Status().Description; uuidRE.MatchString(d) || containsAny(d, secrets) {
			t.Errorf("%s: status %q carries an id or a secret", where, d)
		}
		all := s.Attributes()
		for _, e := range s.Events() {
			all = append(all, e.Attributes...)
		}
		for _, kv := range all {
			if idKeys[kv.Key] {
				checkValue(t, where, kv, secrets)
				continue
			}
			checkValue(t, where, kv, append(secrets, ids...))
			if uuidRE.MatchString(kv.Value.String()) {
				t.Errorf("%s: attribute %s carries an id: %q", where, kv.Key, kv.Value.String())
			}
		}
	}
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if x != "" && strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// An ENCRYPTED_* message that cannot be decrypted is counted as a decrypt
// failure with its reason and as dead-lettered for decrypt.
func TestDecryptFailureCounted(t *testing.T) {
	owner := &brokenOK{TB: t} // the emulator rightly reports the garbage below as broken
	g := newRigOwned(t, owner, mixintest.WithBotCapabilities("CONTACT", "GROUP", "ENCRYPTED"))
	alice := g.srv.NewUser("Alice")
	var dead atomic.Int64
	g.runLoop(t, mixin.HandlerFunc(func(context.Context, *mixin.Message) error { return nil }),
		mixin.WithDeadLetter(func(context.Context, *mixin.Message, error) { dead.Add(1) }))
	if _, err := alice.SendText(t.Context(), g.srv.Bot().UserID, "hello"); err != nil { // the contact conversation
		t.Fatal(err)
	}
	conv := alice.ContactConversationID(g.srv.Bot().UserID)
	if _, err := alice.Send(t.Context(), mixintest.MessageRequest{ConversationID: conv, Category: mixin.CategoryEncryptedText,
		Data: []byte("\x01garbage that is no envelope at all, not even close")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the message dead-lettered", func() bool { return dead.Load() == 1 })
	eventually(t, "counted", func() bool {
		return total(g.collect(t), otelmixin.MetricDecryptFailures, otelmixin.KeyDecryptReason.String(mixin.DecryptReasonMalformed.String())) == 1
	})
	rm := g.collect(t)
	if got := total(rm, otelmixin.MetricDeadLettered, otelmixin.KeyDeadLetterReason.String("decrypt"),
		otelmixin.KeyCategory.String(string(mixin.CategoryEncryptedText))); got != 1 {
		t.Errorf("dead-lettered for decrypt = %d, want 1", got)
	}
	if owner.mu.Lock(); len(owner.reported) == 0 {
		t.Error("the emulator did not report the undecryptable message")
	}
	owner.mu.Unlock()
}
