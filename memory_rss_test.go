package mixin

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// rssChildEnv makes the test binary run the backlog instead of the test.
const rssChildEnv = "MIXIN_RSS_CHILD"

// TestBlazePeakRSSWithOneProc runs a 200,000-message backlog through the
// loop in a child process with GOMAXPROCS=1, where the reader can outrun
// the acknowledgements, and checks the process's peak RSS (VmHWM): the
// acknowledgement queue is bounded by slowing intake, not by memory.
func TestBlazePeakRSSWithOneProc(t *testing.T) {
	if os.Getenv(rssChildEnv) != "" {
		rssChild(t)
		return
	}
	if testing.Short() || raceEnabled {
		t.Skip("peak RSS test: skipped with -short and under the race detector")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("peak RSS test: needs /proc")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBlazePeakRSSWithOneProc$", "-test.v")
	cmd.Env = append(os.Environ(), rssChildEnv+"=1", "GOMAXPROCS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var hwm, handled, acked int64 = -1, 0, 0
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, "rss-result "); i >= 0 {
			_, _ = fmt.Sscanf(line[i:], "rss-result %d %d %d", &hwm, &handled, &acked)
		}
	}
	if hwm < 0 {
		t.Fatalf("no result from the child:\n%s", out)
	}
	t.Logf("GOMAXPROCS=1, 200000-message backlog: peak RSS %.1f MB; %d handled, %d acknowledged", float64(hwm)/(1<<20), handled, acked)
	if handled != 200000 || acked != 200000 {
		t.Errorf("handled %d and acknowledged %d of 200000", handled, acked)
	}
	if hwm > 40<<20 {
		t.Errorf("peak RSS %.1f MB; want at most 40 MB", float64(hwm)/(1<<20))
	}
}

// rssChild pushes the backlog and prints "rss-result VmHWM handled acked".
func rssChild(t *testing.T) {
	const total = 200000
	acks := &ackServer{}
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn := acceptListed(w, r)
		if conn == nil {
			return
		}
		defer conn.Close()
		src := newFrameSource()
		for n := uint64(0); n < total; n++ { // the backlog, as fast as the socket takes it
			if conn.WriteMessage(websocket.BinaryMessage, src.frame(n)) != nil {
				return
			}
		}
		<-r.Context().Done()
	}))
	defer ws.Close()
	rest := httptest.NewServer(acks)
	defer rest.Close()
	c, err := NewClient(benchKeystore(t), WithBaseURL(rest.URL), WithBlazeURL("ws"+strings.TrimPrefix(ws.URL, "http")+"/"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	var handled atomic.Int64
	h := HandlerFunc(func(context.Context, *Message) error { handled.Add(1); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.RunBlaze(ctx, h) }()
	last, since := int64(-1), time.Now()
	for handled.Load() < total || acks.acks.Load() < total {
		if p := handled.Load() + acks.acks.Load(); p != last {
			last, since = p, time.Now()
		} else if time.Since(since) > time.Minute {
			t.Fatalf("no progress for a minute: %d handled, %d acknowledged", handled.Load(), acks.acks.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	fmt.Printf("rss-result %d %d %d\n", vmHWM(t), handled.Load(), acks.acks.Load())
}

// vmHWM reads the process's peak resident set size in bytes.
func vmHWM(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}
