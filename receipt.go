package mixin

import (
	"context"
	"strconv"
	"time"
)

// ReadMessageStatuses returns the status changes (DELIVERED, READ) of
// messages the bot sent, with updated_at at or after since, oldest first:
// GET /messages/status/:offset, where offset is unix nanoseconds (the
// official apps' RefreshOffsetJob). Each [Message] carries MessageID,
// Status and UpdatedAt. It catches up on receipts missed while no blaze
// connection was open: call it again with the last UpdatedAt until a page
// comes back empty or its last UpdatedAt equals since (the offset is
// inclusive, so the last item of one page opens the next).
func (c *Client) ReadMessageStatuses(ctx context.Context, since time.Time) ([]Message, error) {
	offset := int64(0)
	if !since.IsZero() {
		if since.Before(time.Unix(0, 0)) || since.After(time.Unix(0, 1<<63-1)) {
			return nil, &FieldError{Field: "offset", Reason: "must lie between 1970 and 2262"}
		}
		offset = since.UnixNano()
	}
	out := []Message{}
	if err := c.do(ctx, request{method: "GET", path: "/messages/status/" + strconv.FormatInt(offset, 10), out: &out}); err != nil {
		return nil, err
	}
	return out, nil
}
