package recent

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The answer of POST /conversation/sync: the array of WuKongIM's
// recent-conversation sync (seed 001; WuKongIMAndroidSDK entity
// WKSyncConvMsg and WKSyncRecent read the same fields), plus is_deleted on
// tombstones, a 0/1 flag in WuKongIM's style (WKSyncRecent.is_deleted
// marks a deleted message), and two headers, since an array has no room for
// the list's own version.
const (
	headerVersion = "X-Recent-Version"
	headerSync    = "X-Recent-Sync"
)

type syncRequest struct {
	UID         *string `json:"uid"`
	Version     *int64  `json:"version"`
	LastMsgSeqs *string `json:"last_msg_seqs"`
	MsgCount    *int    `json:"msg_count"`
}

type syncConversation struct {
	ChannelID       string        `json:"channel_id"`
	ChannelType     int           `json:"channel_type"`
	Unread          int           `json:"unread"`
	Timestamp       int64         `json:"timestamp"`
	LastMsgSeq      uint64        `json:"last_msg_seq"`
	LastClientMsgNo string        `json:"last_client_msg_no"`
	Version         uint64        `json:"version"`
	Recents         []syncMessage `json:"recents"`
	// IsDeleted is 1 on a tombstone and left out otherwise, so a listed
	// conversation has exactly the seed's fields.
	IsDeleted int `json:"is_deleted,omitempty"`
}

type syncHeader struct {
	NoPersist int `json:"no_persist"`
	RedDot    int `json:"red_dot"`
	SyncOnce  int `json:"sync_once"`
}

type syncMessage struct {
	Header      syncHeader `json:"header"`
	Setting     int        `json:"setting"`
	MessageID   uint64     `json:"message_id"`
	ClientMsgNo string     `json:"client_msg_no"`
	MessageSeq  uint64     `json:"message_seq"`
	FromUID     string     `json:"from_uid"`
	ChannelID   string     `json:"channel_id"`
	ChannelType int        `json:"channel_type"`
	Timestamp   int64      `json:"timestamp"`
	Payload     string     `json:"payload"`
}

// channelKey is a channel of last_msg_seqs.
type channelKey struct {
	id   string
	kind Kind
}

// parseSeqs reads "channelID:channelType:last_msg_seq|…".
func parseSeqs(s string) (map[channelKey]uint64, error) {
	out := map[channelKey]uint64{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for i, part := range strings.Split(s, "|") {
		fields := strings.Split(part, ":")
		if len(fields) != 3 || fields[0] == "" {
			return nil, fmt.Errorf("last_msg_seqs entry %d (%q) is not channelID:channelType:last_msg_seq", i+1, part)
		}
		kind, err := strconv.Atoi(fields[1])
		if err != nil || (kind != int(KindContact) && kind != int(KindGroup)) {
			return nil, fmt.Errorf("last_msg_seqs entry %d: channel type %q is not 1 (contact) or 2 (group)", i+1, fields[1])
		}
		seq, err := strconv.ParseUint(fields[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("last_msg_seqs entry %d: last_msg_seq %q is not a non-negative integer", i+1, fields[2])
		}
		out[channelKey{fields[0], Kind(kind)}] = seq
	}
	return out, nil
}

// syncQuery is a checked sync request.
type syncQuery struct {
	version uint64
	count   int
	seqs    map[channelKey]uint64
}

// syncQuery checks req; the error is the 400 answer's text.
func (h *apiHandler) syncQuery(req syncRequest) (syncQuery, error) {
	q := syncQuery{count: h.t.cfg.messages}
	if err := h.checkUID(req.UID); err != nil {
		return q, err
	}
	if req.Version != nil {
		if *req.Version < 0 {
			return q, fmt.Errorf("version must not be negative")
		}
		q.version = uint64(*req.Version)
	}
	if req.MsgCount != nil {
		if *req.MsgCount < 0 {
			return q, fmt.Errorf("msg_count must not be negative")
		}
		q.count = min(*req.MsgCount, q.count)
	}
	if req.LastMsgSeqs != nil {
		var err error
		if q.seqs, err = parseSeqs(*req.LastMsgSeqs); err != nil {
			return q, err
		}
	}
	return q, nil
}

func (h *apiHandler) sync(w http.ResponseWriter, r *http.Request, body []byte) {
	var req syncRequest
	if err := decode(body, &req, "uid", "version", "last_msg_seqs", "msg_count"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q, err := h.syncQuery(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s, err := h.t.Since(r.Context(), q.version)
	if err != nil {
		h.unavailable(r.Context(), w, err)
		return
	}
	out := make([]syncConversation, 0, len(s.Changes))
	for _, c := range s.Changes {
		if c.Deleted {
			out = append(out, tombstoneView(c))
			continue
		}
		out = append(out, syncView(c, q.count, q.seqs))
	}
	w.Header().Set(headerVersion, strconv.FormatUint(s.Version, 10))
	mode := "incremental"
	if s.Full {
		mode = "full"
	}
	w.Header().Set(headerSync, mode)
	writeJSON(w, http.StatusOK, out)
}

// tombstoneView renders a deleted conversation: its id, kind and version,
// no messages.
func tombstoneView(c Conversation) syncConversation {
	return syncConversation{
		ChannelID: c.ConversationID, ChannelType: int(c.Kind), Timestamp: c.UpdatedAt.Unix(),
		LastMsgSeq: c.LastMessageSeq, Version: c.Version, Recents: []syncMessage{}, IsDeleted: 1,
	}
}

// syncView renders c with its last count messages after the client's
// last_msg_seq for it, if it sent one.
func syncView(c Conversation, count int, seqs map[channelKey]uint64) syncConversation {
	v := syncConversation{
		ChannelID: c.ConversationID, ChannelType: int(c.Kind), Unread: c.Unread, Timestamp: c.UpdatedAt.Unix(),
		LastMsgSeq: c.LastMessageSeq, LastClientMsgNo: c.LastMessageID, Version: c.Version, Recents: []syncMessage{},
	}
	if t := c.lastActivity(); !t.IsZero() {
		v.Timestamp = t.Unix()
	}
	after, known := seqs[channelKey{c.ConversationID, c.Kind}]
	msgs := c.Messages
	if known {
		i := 0
		for i < len(msgs) && msgs[i].Seq <= after {
			i++
		}
		msgs = msgs[i:]
	}
	if len(msgs) > count {
		msgs = msgs[len(msgs)-count:]
	}
	for _, m := range msgs {
		v.Recents = append(v.Recents, syncMessage{
			Header: syncHeader{RedDot: boolInt(m.Unread)}, MessageID: m.Num, ClientMsgNo: m.MessageID,
			MessageSeq: m.Seq, FromUID: m.UserID, ChannelID: c.ConversationID, ChannelType: int(c.Kind),
			Timestamp: m.CreatedAt.Unix(), Payload: base64.StdEncoding.EncodeToString(m.Data),
		})
	}
	return v
}
