package mixintest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

type attJSON struct {
	Type         string `json:"type"`
	AttachmentID string `json:"attachment_id"`
	UploadURL    string `json:"upload_url"`
	ViewURL      string `json:"view_url"`
	CreatedAt    string `json:"created_at"`
}

func put(t *testing.T, url string, body []byte, ct, acl string) int {
	t.Helper()
	req, _ := http.NewRequest("PUT", url, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if acl != "" {
		req.Header.Set("x-amz-acl", acl)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestAttachments(t *testing.T) {
	s := NewServer(t, WithPathPrefix("/v1"))
	c := newREST(t, s, s.Bot())
	var a attJSON
	c.do("POST", "/attachments", nil).ok(t, &a)
	if a.Type != "attachment" || !strings.HasPrefix(a.UploadURL, s.URL()+"/_mixintest/uploads/") ||
		!strings.HasPrefix(a.ViewURL, s.URL()+"/_mixintest/attachments/") || a.CreatedAt == "" {
		t.Fatalf("create: %+v (URL %s)", a, s.URL())
	}
	var b attJSON
	c.do("POST", "/attachments", "{}").ok(t, &b)
	if b.AttachmentID == a.AttachmentID {
		t.Fatal("ids repeat")
	}
	c.do("POST", "/attachments", "{").fails(t, 400)

	payload := bytes.Repeat([]byte("mixin"), 1000)
	if st := put(t, a.UploadURL, payload, "image/png", "public-read"); st != 403 {
		t.Fatalf("wrong content type: %d", st)
	}
	if st := put(t, a.UploadURL, payload, "application/octet-stream", ""); st != 403 {
		t.Fatalf("missing acl: %d", st)
	}
	if st := put(t, a.UploadURL+"x", payload, "application/octet-stream", "public-read"); st != 404 {
		t.Fatalf("unknown upload: %d", st)
	}
	res, err := http.Get(a.ViewURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("view before upload: %d", res.StatusCode)
	}
	if st := put(t, a.UploadURL, payload, "application/octet-stream", "public-read"); st != 200 {
		t.Fatalf("upload: %d", st)
	}
	res, err = http.Get(a.ViewURL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(got, payload) {
		t.Fatalf("download %d, %d bytes", res.StatusCode, len(got))
	}
	sum := sha256.Sum256(payload)
	info, ok := s.Attachment(a.AttachmentID)
	if !ok || !info.Uploaded || info.Size != int64(len(payload)) || info.SHA256 != hex.EncodeToString(sum[:]) || info.OwnerID != s.Bot().UserID {
		t.Fatalf("info %+v", info)
	}
	var shown attJSON
	c.do("GET", "/attachments/"+a.AttachmentID, nil).ok(t, &shown)
	if shown.UploadURL != "" || shown.ViewURL != a.ViewURL || shown.AttachmentID != a.AttachmentID {
		t.Fatalf("show %+v", shown)
	}
	c.do("GET", "/attachments/"+uuid.NewString(), nil).fails(t, 404)
}

func TestAttachmentsDiscard(t *testing.T) {
	s := NewServer(t, WithDiscardUploads())
	var a attJSON
	newREST(t, s, s.Bot()).do("POST", "/attachments", nil).ok(t, &a)
	if st := put(t, a.UploadURL, []byte("abc"), "application/octet-stream", "public-read"); st != 200 {
		t.Fatal(st)
	}
	info, _ := s.Attachment(a.AttachmentID)
	if info.Size != 3 || info.Data != nil || info.SHA256 != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("%+v", info)
	}
	res, err := http.Get(a.ViewURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusGone {
		t.Fatalf("view: %d", res.StatusCode)
	}
}
