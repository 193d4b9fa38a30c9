package mixin

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"

	"github.com/gorilla/websocket"
)

// acceptListed plays the server's side of a blaze handshake for the fake
// servers of the benchmarks and memory tests: it upgrades the request,
// reads the client's LIST_PENDING_MESSAGES, answers it, and drains what the
// client sends afterwards (pings, the hang-up). It returns nil when the
// client went away first; the caller closes the connection.
func acceptListed(w http.ResponseWriter, r *http.Request) *websocket.Conn {
	upgrader := websocket.Upgrader{Subprotocols: []string{blazeSubprotocol}}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil
	}
	_, rd, err := conn.NextReader()
	if err != nil {
		_ = conn.Close()
		return nil
	}
	raw, _ := io.ReadAll(rd)
	var list struct {
		ID string `json:"id"`
	}
	if zr, err := gzip.NewReader(bytes.NewReader(raw)); err == nil {
		_ = json.NewDecoder(zr).Decode(&list)
	}
	reply, _ := encodeFrame(outFrame{ID: list.ID, Action: actionListPending})
	if conn.WriteMessage(websocket.BinaryMessage, reply) != nil {
		_ = conn.Close()
		return nil
	}
	go func() {
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	return conn
}
