package mixintest

import (
	"sort"
	"strconv"
)

// getMessageStatuses implements GET /messages/status/:offset: the status
// changes (DELIVERED, READ) of the messages the caller sent, with updated_at
// at or after offset (unix nanoseconds), oldest first, at most
// WithStatusPageSize of them. The official apps page with it by passing the
// last updated_at back and stop on an empty page or when the last
// updated_at equals the offset, so the offset is inclusive (android-app
// RefreshOffsetJob, MessageService.messageStatusOffset).
func (s *Server) getMessageStatuses(c *call) (any, *apiError) {
	offset, err := strconv.ParseInt(c.r.PathValue("offset"), 10, 64)
	if err != nil || offset < 0 {
		return nil, invalidField("offset", "must be unix nanoseconds")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []statusRec
	for _, r := range s.social.statuses[c.user.UserID] {
		if r.updatedAt.UnixNano() >= offset {
			due = append(due, r)
		}
	}
	sort.SliceStable(due, func(i, j int) bool { return due[i].updatedAt.Before(due[j].updatedAt) })
	out := []receiptView{}
	for _, r := range due {
		if len(out) == s.cfg.statusPageSize {
			break
		}
		out = append(out, receiptView{Type: "message", MessageID: r.messageID, ConversationID: r.conversationID,
			Status: r.status, Source: sourceReceipt, UpdatedAt: r.updatedAt})
	}
	return out, nil
}
