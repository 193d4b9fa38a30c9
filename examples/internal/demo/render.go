package demo

import (
	"fmt"
	"strings"

	"github.com/gomixin/mixin"
)

// Render shows a message's content on one transcript line: text as is,
// anything else as [kind details].
func (e *Env) Render(category string, data []byte) string {
	p, err := mixin.DecodePayload(mixin.Category(category), data)
	if err != nil {
		return fmt.Sprintf("[%s, %s]", category, Size(int64(len(data))))
	}
	switch p := p.(type) {
	case mixin.TextPayload:
		return string(p)
	case mixin.PostPayload:
		return "[post] " + strings.ReplaceAll(string(p), "\n", " ⏎ ")
	case mixin.ImagePayload:
		return fmt.Sprintf("[image %d×%d %s, %s]", p.Width, p.Height, p.MimeType, Size(p.Size))
	case mixin.DataPayload:
		return fmt.Sprintf("[file %q %s, %s]", p.Name, p.MimeType, Size(p.Size))
	case mixin.VideoPayload:
		return fmt.Sprintf("[video %d×%d %s, %s]", p.Width, p.Height, p.MimeType, Size(p.Size))
	case mixin.AudioPayload:
		return fmt.Sprintf("[voice %.1fs]", float64(p.Duration)/1000)
	case mixin.StickerPayload:
		return "[sticker " + p.StickerID[:8] + "]"
	case mixin.ContactPayload:
		return "[contact card]"
	case mixin.LocationPayload:
		return fmt.Sprintf("[location %.4f, %.4f %s]", p.Latitude, p.Longitude, p.Name)
	case mixin.AppCardPayload:
		return fmt.Sprintf("[app card %q: %s]", p.Title, p.Description)
	case mixin.ButtonGroupPayload:
		labels := make([]string, len(p))
		for i, b := range p {
			labels[i] = "(" + b.Label + ")"
		}
		return "[buttons " + strings.Join(labels, " ") + "]"
	case mixin.RecallPayload:
		return "[recalled message " + p.MessageID[:8] + "]"
	case mixin.PinPayload:
		return fmt.Sprintf("[%s %d message(s)]", strings.ToLower(string(p.Action)), len(p.MessageIDs))
	case mixin.SystemConversationPayload:
		who := e.Name(p.ParticipantID)
		switch p.Action {
		case mixin.SystemConversationActionCreate:
			return "[created the group]"
		case mixin.SystemConversationActionAdd:
			return "[added " + who + "]"
		case mixin.SystemConversationActionRemove:
			return "[removed " + who + "]"
		case mixin.SystemConversationActionJoin:
			return "[" + who + " joined]"
		case mixin.SystemConversationActionExit:
			return "[" + who + " left]"
		case mixin.SystemConversationActionRole:
			if p.Role == mixin.ParticipantRoleAdmin {
				return "[made " + who + " admin]"
			}
			return "[made " + who + " a member]"
		case mixin.SystemConversationActionUpdate:
			return "[updated the group]"
		}
		return fmt.Sprintf("[system: %s %s]", p.Action, who)
	}
	return "[" + category + "]"
}

// Size formats a byte count.
func Size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
