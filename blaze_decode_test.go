package mixin

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// fastSeeds are frames in the shapes the fast decoder takes and the ones
// it must leave to encoding/json.
var fastSeeds = []string{
	`{"id":"00000000-0000-4000-8000-000000000000","action":"CREATE_MESSAGE","data":{"type":"message","representative_id":"","quote_message_id":"","conversation_id":"dd219235-e83a-3b85-a13f-d0f20fa0e833","user_id":"e8e8cd79-cd40-4796-8c54-3a13cfe50115","session_id":"69738284-409c-4bef-b4f1-9754923134bf","message_id":"1a2b3c4d-0000-4000-8000-000000000001","category":"PLAIN_TEXT","data":"aGVsbG8=","data_base64":"aGVsbG8","status":"SENT","source":"CREATE_MESSAGE","silent":false,"expire_in":0,"created_at":"2022-08-19T03:06:17.363215481Z","updated_at":"2022-08-19T03:06:17.363215481Z"}}`,
	`{"id":"x","action":"ACKNOWLEDGE_MESSAGE_RECEIPT","data":{"message_id":"1a2b3c4d-0000-4000-8000-000000000001","status":"READ","source":"ACKNOWLEDGE_MESSAGE_RECEIPT","updated_at":"2026-01-01T00:00:00Z"}}`,
	`{"id":"1","action":"LIST_PENDING_MESSAGES"}`,
	` { "id" : "1" , "action" : "CREATE_MESSAGE" , "data" : null , "error" : null } `,
	`{"id":"1","action":"CREATE_MESSAGE","data":{"silent":true,"expire_in":-0,"unknown":12,"other":"x","flag":false,"nothing":null}}`,
	`{"id":"1","action":"CREATE_MESSAGE","data":{"expire_in":60,"expire_in":61,"message_id":"a","message_id":"b"}}`,
	`{"id":"1","action":"CREATE_MESSAGE","data":{"created_at":""}}`,
	`{"id":"1","action":"CREATE_MESSAGE","data":{"created_at":null,"type":null}}`,
	`{"id":"1","action":"CREATE_MESSAGE","data":{"MESSAGE_ID":"m"}}`,
	`{"ID":"1"}`,
	`{"id":"a\"b"}`,
	`{"id":"é"}`,
	`{"id":"1","error":{"status":202,"code":401,"description":"Unauthorized"}}`,
	`{"id":"1","action":"CREATE_MESSAGE","data":{"expire_in":1.5}}`,
	`{"id":"1","action":"CREATE_MESSAGE","data":{"expire_in":01}}`,
	`{"id":"1","action":"CREATE_MESSAGE","data":{"expire_in":99999999999999999999}}`,
	`{"id":"1","action":"CREATE_MESSAGE","data":{"nested":{"a":1}}}`,
	`{"id":"1","action":"CREATE_MESSAGE","data":[]}`,
	`{"id":"1","action":"CREATE_MESSAGE","data":{}} trailing`,
	`{"id":"1",}`,
	`{"id":1}`,
	`{"data":{"silent":nul}}`,
	`{"data":{"silent":"true"}}`,
	`[]`,
	`null`,
	``,
	`{`,
	`{"id":"1"`,
}

// FuzzFrameDecodeFast holds the fast decoder to encoding/json: whatever it
// accepts, encoding/json accepts too and decodes to the same frame, with
// and without a Message to decode into.
func FuzzFrameDecodeFast(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, js []byte) {
		for _, preset := range []bool{false, true} {
			var fast, std inFrame
			if preset {
				fast.Data, std.Data = new(Message), new(Message)
			}
			if !decodeFrameFast(js, &fast) {
				if preset && !reflect.DeepEqual(*fast.Data, Message{}) {
					t.Fatalf("a refused frame left data behind: %+v", *fast.Data)
				}
				continue
			}
			if err := json.Unmarshal(js, &std); err != nil {
				t.Fatalf("fast decoder took %q, which encoding/json refuses: %v", js, err)
			}
			if !reflect.DeepEqual(fast, std) {
				t.Fatalf("%q decodes differently:\nfast %+v %+v\njson %+v %+v", js, fast, fast.Data, std, std.Data)
			}
		}
	})
}

// The frames the server sends all the time take the fast path.
func TestFrameDecodeFastTakesTheCommonShapes(t *testing.T) {
	for _, s := range fastSeeds[:5] {
		var f inFrame
		if !decodeFrameFast([]byte(s), &f) {
			t.Errorf("not decoded on the fast path: %s", s)
		}
	}
}

// messageKeys lists every JSON key of Message: a field added to Message
// must be taught to the fast decoder.
func TestFastDecoderKnowsEveryMessageField(t *testing.T) {
	var keys []string
	rt := reflect.TypeFor[Message]()
	for i := range rt.NumField() {
		tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if tag != "-" && rt.Field(i).IsExported() {
			keys = append(keys, tag)
		}
	}
	if !reflect.DeepEqual(keys, messageKeys) {
		t.Fatalf("Message has JSON keys %v; the fast decoder knows %v", keys, messageKeys)
	}
}
