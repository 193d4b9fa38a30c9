package mixintest

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Sticker is a sticker of the emulator's catalogue, in the shape GET
// /stickers/:id answers (the apps' sticker lookup: ios-app
// ReceiveMessageService parseSticker; android-app vo/Sticker.kt). The app
// check flags a PLAIN_STICKER naming a sticker that is not in the
// catalogue, since iOS drops such a message without showing it.
type Sticker struct {
	StickerID   string    `json:"sticker_id"`
	AlbumID     string    `json:"album_id"`
	Name        string    `json:"name"`
	AssetURL    string    `json:"asset_url"`
	AssetType   string    `json:"asset_type"` // e.g. "image/webp", "json" (Lottie)
	AssetWidth  int       `json:"asset_width"`
	AssetHeight int       `json:"asset_height"`
	CreatedAt   time.Time `json:"created_at"`
}

// builtinAlbum is the album of the built-in stickers.
const builtinAlbum = "b2c8d9a2-6f1e-4c3b-9a7d-0e5f4a1b2c3d"

// BuiltinStickers returns the stickers every emulator starts with, so a
// test can send a sticker without registering one. Their ids are fixed and
// belong to this emulator only, not to the live catalogue.
func BuiltinStickers() []Sticker {
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id, name string) Sticker {
		return Sticker{StickerID: id, AlbumID: builtinAlbum, Name: name, AssetURL: "https://mixintest.invalid/stickers/" + name + ".webp",
			AssetType: "image/webp", AssetWidth: 256, AssetHeight: 256, CreatedAt: at}
	}
	return []Sticker{
		mk("0f6c3c6e-3a53-4b73-8c1a-1d2b6f0e4a01", "hi"),
		mk("6d1b2f9e-8e4a-4f0c-9b6d-3c2a1e5f7b02", "thanks"),
		mk("a3e5c7d9-1b2f-4a6c-8e0d-5f7b9c1a3e03", "ok"),
		mk("c9b7a5e3-2d4f-4e6a-9c8b-7d5f3b1e9a04", "laugh"),
	}
}

// stickersLocked returns the catalogue, filling in the built-in stickers
// on first use. s.mu is held.
func (s *Server) stickersLocked() map[string]*Sticker {
	if s.stickers == nil {
		s.stickers = make(map[string]*Sticker)
		for _, st := range BuiltinStickers() {
			s.stickers[st.StickerID] = &st
		}
	}
	return s.stickers
}

// AddSticker adds st to the catalogue (or replaces the sticker with its id)
// and returns it as stored: an empty StickerID gets a random one, an empty
// AlbumID the built-in album, a zero CreatedAt the server clock.
func (s *Server) AddSticker(st Sticker) Sticker {
	st.StickerID = normID(st.StickerID)
	if st.StickerID == "" {
		st.StickerID = uuid.NewString()
	}
	if st.AlbumID == "" {
		st.AlbumID = builtinAlbum
	}
	if st.CreatedAt.IsZero() {
		st.CreatedAt = s.now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stickersLocked()[st.StickerID] = &st
	return st
}

// Stickers returns the catalogue, ordered by sticker id.
func (s *Server) Stickers() []Sticker {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Sticker, 0, len(s.stickersLocked()))
	for _, st := range s.stickersLocked() {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b Sticker) int { return strings.Compare(a.StickerID, b.StickerID) })
	return out
}

type stickerView struct {
	Type string `json:"type"`
	Sticker
}

// getSticker is GET /stickers/:id, the lookup the apps make for a sticker
// they do not hold; 404 for one the catalogue does not have.
func (s *Server) getSticker(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stickersLocked()[normID(c.r.PathValue("id"))]
	if st == nil {
		return nil, errNotFound
	}
	return stickerView{Type: "sticker", Sticker: *st}, nil
}

// adminAddSticker serves POST /_mixintest/stickers.
func (s *Server) adminAddSticker(w http.ResponseWriter, r *http.Request) {
	var st Sticker
	if err := readAdminBody(r, &st); err != nil {
		s.adminError(w, r, http.StatusBadRequest, errBadRequest)
		return
	}
	if st.StickerID != "" && !validUUID(normID(st.StickerID)) {
		s.adminError(w, r, http.StatusBadRequest, invalidField("sticker_id", "must be a UUID"))
		return
	}
	s.writeJSON(w, r, http.StatusOK, s.AddSticker(st))
}

// adminStickers serves GET /_mixintest/stickers.
func (s *Server) adminStickers(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, s.Stickers())
}
