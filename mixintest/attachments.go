package mixintest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

const (
	uploadsPath = "/_mixintest/uploads/"
	viewPath    = "/_mixintest/attachments/"
	adminPath   = "/_mixintest/"
	maxUpload   = 2 << 30
)

type attachmentView struct {
	Type         string    `json:"type"`
	AttachmentID string    `json:"attachment_id"`
	UploadURL    string    `json:"upload_url"`
	ViewURL      string    `json:"view_url"`
	CreatedAt    time.Time `json:"created_at"`
}

// createAttachment is POST /attachments: the body may be empty or the
// docs' object with empty fields, and the answer is {type:"attachment",
// attachment_id, upload_url, view_url, created_at} (developers.mixin.one
// api/messages/attachment-upload.md; Node SDK src/client/attachment.ts).
// upload_url points at this server, standing for the pre-signed S3 URL.
func (s *Server) createAttachment(c *call) (any, *apiError) {
	var req map[string]any
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	a := &attachment{id: uuid.NewString(), ownerID: c.user.UserID, createdAt: s.now()}
	s.mu.Lock()
	s.attachments[a.id] = a
	s.mu.Unlock()
	base := s.baseURL(c.r)
	return attachmentView{Type: "attachment", AttachmentID: a.id, UploadURL: base + uploadsPath + a.id,
		ViewURL: base + viewPath + a.id, CreatedAt: a.createdAt}, nil
}

// readAttachment is GET /attachments/:id: the same object without an
// upload_url, and 404 for an unknown or expired attachment (docs
// api/messages/attachment-download.md).
func (s *Server) readAttachment(c *call) (any, *apiError) {
	s.mu.Lock()
	a, ok := s.attachments[normID(c.r.PathValue("id"))]
	s.mu.Unlock()
	if !ok {
		return nil, errNotFound
	}
	return attachmentView{Type: "attachment", AttachmentID: a.id, ViewURL: s.baseURL(c.r) + viewPath + a.id,
		CreatedAt: a.createdAt}, nil
}

// serveUpload is the pre-signed upload URL: PUT only, no JWT, S3's headers
// (x-amz-acl: public-read, Content-Type: application/octet-stream: the
// docs' attachment-upload.md and every official client; any 2xx is
// success, fox-one/mixin-sdk-go attachment.go).
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodPut {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Content-Type") != "application/octet-stream" || r.Header.Get("X-Amz-Acl") != "public-read" {
		http.Error(w, "AccessDenied: Content-Type must be application/octet-stream and x-amz-acl public-read", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	a, ok := s.attachments[id]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "NoSuchUpload", http.StatusNotFound)
		return
	}
	h := sha256.New()
	var buf bytes.Buffer
	dst := io.Writer(h)
	if !s.cfg.discardUploads {
		dst = io.MultiWriter(h, &buf)
	}
	n, err := io.Copy(dst, io.LimitReader(r.Body, maxUpload+1))
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	if n > maxUpload {
		http.Error(w, "EntityTooLarge", http.StatusBadRequest)
		return
	}
	sum := hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	a.uploaded, a.size, a.sha256 = true, n, sum
	if s.cfg.discardUploads {
		a.data = nil
	} else {
		a.data = buf.Bytes()
	}
	s.mu.Unlock()
	w.Header().Set("ETag", strconv.Quote(sum))
	w.WriteHeader(http.StatusOK)
}

// serveView serves an uploaded attachment's bytes.
func (s *Server) serveView(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	a, ok := s.attachments[strings.ToLower(id)]
	var data []byte
	uploaded := false
	if ok {
		data, uploaded = a.data, a.uploaded
	}
	s.mu.Unlock()
	switch {
	case !ok || !uploaded:
		http.Error(w, "NoSuchKey", http.StatusNotFound)
	case s.cfg.discardUploads:
		http.Error(w, "content discarded (WithDiscardUploads)", http.StatusGone)
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(data)
		}
	}
}
