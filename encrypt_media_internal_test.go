package mixin

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"testing"
	"testing/iotest"
)

// TestAttachmentStreamsRoundTrip encrypts through small reads and decrypts
// through one-byte and large writes, for sizes around the block boundaries.
func TestAttachmentStreamsRoundTrip(t *testing.T) {
	for _, n := range []int{1, 15, 16, 17, 31, 32, 33, 1000, 40_000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			file := make([]byte, n)
			for i := range file {
				file[i] = byte(i * 7)
			}
			enc, err := newAttachmentEncrypter(bytes.NewReader(file), int64(n))
			if err != nil {
				t.Fatal(err)
			}
			upload, err := io.ReadAll(iotest.OneByteReader(enc))
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(upload)) != enc.length {
				t.Fatalf("uploaded %d bytes, announced %d", len(upload), enc.length)
			}
			key, digest := enc.keyAndDigest()
			k, _ := DecodeBase64Data(key)
			d, _ := DecodeBase64Data(digest)
			for _, chunk := range []int{1, 7, len(upload)} {
				var out bytes.Buffer
				dec, err := newAttachmentDecrypter(&out, k, d)
				if err != nil {
					t.Fatal(err)
				}
				for off := 0; off < len(upload); off += chunk {
					if _, err := dec.Write(upload[off:min(off+chunk, len(upload))]); err != nil {
						t.Fatal(err)
					}
				}
				if err := dec.Close(); err != nil {
					t.Fatalf("chunk %d: %v", chunk, err)
				}
				if !bytes.Equal(out.Bytes(), file) || dec.written != int64(n) {
					t.Fatalf("chunk %d: decrypted %d bytes, want the %d of the file", chunk, out.Len(), n)
				}
			}
			bad := append([]byte(nil), upload...)
			bad[len(bad)-1] ^= 1
			dec, _ := newAttachmentDecrypter(io.Discard, k, d)
			_, _ = dec.Write(bad)
			if err := dec.Close(); !errors.Is(err, ErrAttachmentIntegrity) {
				t.Fatalf("a damaged MAC: %v", err)
			}
		})
	}
}

func TestCheckAttachmentKey(t *testing.T) {
	key := EncodeBase64Data(make([]byte, 64))
	digest := EncodeBase64Data(make([]byte, 32))
	for _, tc := range []struct {
		key, digest string
		ok          bool
	}{
		{"", "", true},
		{key, digest, true},
		{key, "", false},
		{"", digest, false},
		{EncodeBase64Data(make([]byte, 32)), digest, false},
		{key, EncodeBase64Data(make([]byte, 16)), false},
		{"***", digest, false},
	} {
		if err := checkAttachmentKey(tc.key, tc.digest); (err == nil) != tc.ok {
			t.Errorf("checkAttachmentKey(%q, %q) = %v", tc.key, tc.digest, err)
		}
	}
	if err := (ImagePayload{AttachmentID: NewUUID(), MimeType: "image/png", Width: 1, Height: 1, Size: 1, Key: key}).Validate(); err == nil {
		t.Fatal("an image payload with a key and no digest validated")
	}
}
