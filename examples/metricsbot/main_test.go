package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomixin/mixin/examples/internal/demo"
)

// Without -metrics the bot runs its scripted conversation on the emulator,
// prints the key series and stops by itself.
func TestRunPrintsTheKeySeries(t *testing.T) {
	demo.RunTranscript(t, "Metrics Bot", func(ctx context.Context, env *demo.Env) error { return run(ctx, env, nil) },
		"bot → bob: 26 characters",
		"metric mixin_blaze_connected 1",
		`metric mixin_blaze_messages_handled_total{mixin_message_category="PLAIN_TEXT",mixin_message_kind="message"} 3`,
		`metric mixin_blaze_messages_dead_lettered_total{mixin_dead_letter_reason="handler",mixin_message_category="PLAIN_TEXT",mixin_message_kind="message"} 1`,
		"metric mixin_blaze_queue_messages 0",
		"metric mixin_blaze_acks_pending 0",
	)
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// With -metrics, the endpoint serves the series while the users talk: a
// scrape after a few messages shows messages received, handled and
// dead-lettered, the lag, the acknowledgements, the connection and the
// REST calls by route template, and no id anywhere.
func TestMetricsEndpointServesTheSeries(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- demo.Emulate(ctx, "Metrics Bot", io.Discard, func(ctx context.Context, env *demo.Env) error { return run(ctx, env, ln) })
	}()
	url := "http://" + ln.Addr().String() + "/metrics"
	var page string
	for i := 0; ; i++ {
		page = get(t, url)
		if value(page, `mixin_blaze_messages_handled_total{mixin_message_category="PLAIN_TEXT",mixin_message_kind="message"}`) >= 3 &&
			value(page, `mixin_blaze_messages_dead_lettered_total{mixin_dead_letter_reason="handler",mixin_message_category="PLAIN_TEXT",mixin_message_kind="message"}`) >= 1 &&
			value(page, `mixin_blaze_acks_total{mixin_ack_result="acked"}`) >= 4 {
			break
		}
		if i > 3000 {
			t.Fatalf("the series never showed the conversation:\n%s", page)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"mixin_blaze_connected{",
		`messaging_client_consumed_messages_total{messaging_operation_name="receive",messaging_system="mixin",mixin_message_category="PLAIN_TEXT",mixin_message_kind="message"`,
		`mixin_blaze_lag_seconds_bucket{mixin_message_category="PLAIN_TEXT"`,
		`mixin_blaze_ack_delay_seconds_count{`,
		`mixin_blaze_acks_total{mixin_ack_result="acked"`,
		"mixin_blaze_acks_pending{",
		"mixin_blaze_queue_messages{",
		"mixin_blaze_queue_deepest{",
		`messaging_process_duration_seconds_count{error_type="permanent"`,
		`http_client_request_duration_seconds_count{http_request_method="POST",http_response_status_code="200"`,
		`url_template="/messages"`,
		`url_template="/acknowledgements"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
	if id := uuidRE.FindString(page); id != "" {
		t.Errorf("the scrape carries an id, %s: a series per id", id)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// value returns the value of the series whose line starts with prefix
// (labels may follow), or -1.
func value(page, prefix string) float64 {
	prefix = strings.TrimSuffix(prefix, "}")
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, prefix) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}
