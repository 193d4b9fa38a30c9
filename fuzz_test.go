package mixin

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// fuzzMaxDecompressed is deliberately small so gzip bombs hit the limit
// quickly; the fuzzer must never make the decoder hold more than a few
// times this.
const fuzzMaxDecompressed = 64 << 10

func gzipBytes(tb testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// frameSeeds are the interesting shapes of an inbound frame; the same
// inputs are in testdata/fuzz/FuzzFrameDecode.
func frameSeeds(tb testing.TB) [][]byte {
	valid := seedPushFrame(tb, "1a2b3c4d-0000-4000-8000-000000000001")
	bomb := gzipBytes(tb, make([]byte, 1<<20)) // 1 MiB of zeros in ~1 KiB
	receipt := gzipBytes(tb, []byte(`{"id":"x","action":"ACKNOWLEDGE_MESSAGE_RECEIPT","data":{"message_id":"1a2b3c4d-0000-4000-8000-000000000001","status":"READ"}}`))
	return [][]byte{
		valid,
		valid[:len(valid)/2],    // truncated gzip
		valid[:10],              // header only
		append(valid, valid...), // two gzip members (multistream off)
		append(valid[:len(valid):len(valid)], 0, 1, 2), // trailing garbage
		bomb,
		gzipBytes(tb, []byte(`{"id":"1","action":"LIST_PENDING_MESSAGES"}`)),
		gzipBytes(tb, []byte(`{"id":"1","action":"ERROR","error":{"status":202,"code":401,"description":"Unauthorized"}}`)),
		gzipBytes(tb, []byte(`{"id":"1","action":"NO_SUCH_ACTION","data":{"message_id":"m"}}`)),
		gzipBytes(tb, []byte(`{"id":"1","action":"CREATE_MESSAGE","data":null}`)),
		gzipBytes(tb, []byte(`{"id":"1","action":"CREATE_MESSAGE","data":[]}`)),
		gzipBytes(tb, []byte(`{"id":1,"action":{}}`)),
		gzipBytes(tb, []byte(`not json at all`)),
		gzipBytes(tb, nil),
		receipt,
		[]byte(`{"id":"1","action":"CREATE_MESSAGE"}`), // plain JSON, not gzip
		{},
		{0x1f, 0x8b},
		{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff},
	}
}

// FuzzFrameDecode feeds arbitrary bytes to the blaze frame decoder: it must
// never panic, fail only with a *FrameError (or, for a sound frame whose
// message data does not decode, a *MessageDecodeError with what could be
// read), never hold much more than the decompression limit, and a decoded
// frame whose data is an object must carry a *Message.
func FuzzFrameDecode(f *testing.F) {
	for _, s := range frameSeeds(f) {
		f.Add(s)
	}
	shared := &frameDecoder{maxDecompressed: fuzzMaxDecompressed} // reused: state must not leak between frames
	f.Fuzz(func(t *testing.T, frame []byte) {
		for _, dec := range []*frameDecoder{{maxDecompressed: fuzzMaxDecompressed}, shared} {
			var fr inFrame
			err := dec.decodeBytes(frame, &fr)
			if c := dec.out.Cap(); c > 4*fuzzMaxDecompressed {
				t.Fatalf("decoder holds a %d-byte buffer; the limit is %d", c, fuzzMaxDecompressed)
			}
			if err != nil {
				var fe *FrameError
				var me *MessageDecodeError
				switch {
				case errors.As(err, &me):
					if fr.Data == nil {
						t.Fatalf("a MessageDecodeError without the message: %v", err)
					}
				case !errors.As(err, &fe):
					t.Fatalf("error %T %v, want *FrameError", err, err)
				}
				continue
			}
			// Decoded: the JSON was within the limit; check data independently.
			zr, zerr := gzip.NewReader(bytes.NewReader(frame))
			if zerr != nil {
				t.Fatalf("decoded a frame that is not gzip: %v", zerr)
			}
			zr.Multistream(false)
			js, _ := io.ReadAll(io.LimitReader(zr, fuzzMaxDecompressed+1))
			if len(js) > fuzzMaxDecompressed {
				t.Fatalf("decoded a frame of more than %d bytes", fuzzMaxDecompressed)
			}
			var raw map[string]json.RawMessage
			if json.Unmarshal(js, &raw) == nil {
				if d := bytes.TrimSpace(raw["data"]); len(d) > 0 && d[0] == '{' && fr.Data == nil {
					t.Fatalf("data object decoded to a nil *Message: %q", js)
				}
			}
		}
	})
}

// TestFrameDecodeBombIsRefused pins the gzip-bomb case outside fuzzing: 10
// MiB of zeros (about 10 KiB compressed) fails fast under a small limit.
// (TestBlazeSurvivesHostileFrames sends a 100 MiB one through the loop.)
func TestFrameDecodeBombIsRefused(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for range 10 {
		_, _ = zw.Write(zero)
	}
	_ = zw.Close()
	dec := frameDecoder{maxDecompressed: fuzzMaxDecompressed}
	var fr inFrame
	err := dec.decodeBytes(buf.Bytes(), &fr)
	var fe *FrameError
	if !errors.As(err, &fe) || !strings.Contains(fe.Reason, "decompresses to more than") {
		t.Fatalf("got %v, want a decompression-limit FrameError", err)
	}
	if dec.out.Cap() > 4*fuzzMaxDecompressed {
		t.Fatalf("decoder grew to %d bytes for a %d-byte limit", dec.out.Cap(), fuzzMaxDecompressed)
	}
}

// keystoreSeeds are keystores of every format, valid and broken; the same
// inputs are in testdata/fuzz/FuzzParseKeystore.
func keystoreSeeds() []string {
	seedHex := hex.EncodeToString(testSeed())
	legacy := base64.RawURLEncoding.EncodeToString(append(testSeed(), []byte(strings.Repeat("\x00", 32))...))
	return []string{
		string(dashboardJSON(seedHex)),
		string(dashboardJSON(seedHex[:63])),
		string(dashboardJSON("zz" + seedHex[2:])),
		`{"client_id":"` + testAppID + `","session_id":"` + testSessionID + `","private_key":"` + legacy + `","pin_token":"abc"}`,
		`{"client_id":"` + testAppID + `","session_id":"` + testSessionID + `","private_key":"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----"}`,
		`{"user_id":"` + testAppID + `","session_id":"` + testSessionID + `","private_key":"` + base64.StdEncoding.EncodeToString(testSeed()) + `"}`,
		`{"app_id":"` + testAppID + `","session_id":"` + testSessionID + `","session_private_key":"` + seedHex + `","server_public_key":"zz"}`,
		`{"app_id":"` + seedHex[:36] + `","session_id":"` + testSessionID + `","session_private_key":"` + seedHex + `"}`,
		`{"app_id":1}`,
		`[]`,
		`null`,
		``,
		`{"session_private_key":"` + seedHex + `"`,
	}
}

// FuzzParseKeystore: ParseKeystore never panics, fails only with a
// *FieldError, and its error never quotes the private key it was given.
func FuzzParseKeystore(f *testing.F) {
	for _, s := range keystoreSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := ParseKeystore(data)
		if err == nil {
			if ks == nil || ks.key == nil {
				t.Fatal("nil keystore or key without an error")
			}
			return
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("error %T %v, want *FieldError", err, err)
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(data, &fields) != nil {
			return
		}
		for _, name := range []string{"session_private_key", "private_key"} {
			var secret string
			if json.Unmarshal(fields[name], &secret) != nil || len(secret) < 8 {
				continue
			}
			for _, form := range []string{secret, strconvQuote(secret)} {
				if !strings.Contains(err.Error(), form) && !strings.Contains(fe.Reason, form) {
					continue
				}
				// The text might contain it by coincidence (another field with
				// the same value, or a value that spells part of the message).
				// Swap only the key for another of the same length: if the
				// text then no longer contains the value, the key leaked.
				fields[name], _ = json.Marshal(strings.Repeat("Q", len(secret)))
				variant, _ := json.Marshal(fields)
				_, err2 := ParseKeystore(variant)
				if err2 == nil || !strings.Contains(err2.Error(), form) {
					t.Fatalf("error %q quotes the %s value", err, name)
				}
				break
			}
		}
	})
}

// TestParseKeystoreErrorsNeverEchoKeyMaterial: a keystore whose key landed
// in the wrong field (an easy copy-paste slip) must not print the key in
// the error either. FuzzParseKeystore exempts this case (the value is
// echoed from an id field); this test pins it.
func TestParseKeystoreErrorsNeverEchoKeyMaterial(t *testing.T) {
	seedHex := hex.EncodeToString(testSeed())
	b64Key := base64.RawURLEncoding.EncodeToString(append(testSeed(), make([]byte, 32)...))
	cases := map[string]string{
		"seed in app_id":        `{"app_id":"` + seedHex + `","session_id":"` + testSessionID + `","session_private_key":"` + seedHex + `"}`,
		"seed in session_id":    `{"app_id":"` + testAppID + `","session_id":"` + seedHex + `","session_private_key":"` + seedHex + `"}`,
		"seed in client_id":     `{"client_id":"` + seedHex + `","session_id":"` + testSessionID + `"}`,
		"legacy key in user_id": `{"user_id":"` + b64Key + `","session_id":"` + testSessionID + `"}`,
		"seed as both ids":      `{"app_id":"` + seedHex[:36] + `","session_id":"` + seedHex[:36] + `"}`,
	}
	for name, data := range cases {
		_, err := ParseKeystore([]byte(data))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, secret := range []string{seedHex, seedHex[:36], b64Key[:40]} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q quotes key material", name, err)
			}
		}
	}
}
