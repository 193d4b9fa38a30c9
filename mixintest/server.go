package mixintest

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	mrand "math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomixin/mixin"
	"github.com/google/uuid"
)

// Server is a running (or not yet started) Mixin API emulator. All methods
// are safe for concurrent use.
type Server struct {
	cfg       config
	t         testing.TB
	ts        *httptest.Server
	serverKey ed25519.PrivateKey
	mux       *http.ServeMux
	adminMux  *http.ServeMux
	handler   http.Handler
	wg        sync.WaitGroup // blaze goroutines
	closeOnce sync.Once
	done      chan struct{}
	gzPool    sync.Pool // *gzip.Writer for blaze frames
	certOnce  sync.Once
	cert      *generatedCert // generated on first use (tls.go)

	mu          sync.Mutex
	closed      bool
	bot         *User
	users       map[string]*User
	byIdentity  map[string]*User
	mailboxes   map[string]*mailbox
	connSeq     uint64 // blaze connections accepted; guarded by mu
	convs       map[string]*conversation
	codes       map[string]string // code id -> conversation id
	sent        map[string]*Message
	attachments map[string]*attachment
	requests    []Request
	problems    []Problem           // the app check's findings (appcheck.go)
	stickers    map[string]*Sticker // the sticker catalogue (stickers.go); nil until first used
	userCount   int
	social      socialState // relationships, profiles, circles, status log (social.go)

	e2e e2eServer // sessions and encrypted deliveries (encrypted.go); guarded by mu

	faultMu  sync.Mutex
	faults   Faults
	rng      *mrand.Rand
	failNext []*failRule
}

// NewServer starts a new emulator and registers t.Cleanup(s.Close).
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewUnstartedServer(opts...)
	s.t = t
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// NewUnstartedServer returns an emulator that is not yet listening. Call
// Start to listen on 127.0.0.1, or serve Handler yourself.
func NewUnstartedServer(opts ...Option) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.applyServer(&cfg)
		}
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic("mixintest: ed25519 key: " + err.Error())
	}
	s := &Server{
		cfg:         cfg,
		serverKey:   key,
		done:        make(chan struct{}),
		users:       make(map[string]*User),
		byIdentity:  make(map[string]*User),
		mailboxes:   make(map[string]*mailbox),
		convs:       make(map[string]*conversation),
		codes:       make(map[string]string),
		sent:        make(map[string]*Message),
		attachments: make(map[string]*attachment),
	}
	s.setFaultsLocked(cfg.faults)
	botID := cfg.botID
	if botID == "" {
		botID = uuid.NewString()
	}
	s.bot = s.addUser(botID, cfg.botName)
	s.bot.isBot = true
	s.mux = s.routes()
	s.adminMux = s.adminRoutes()
	s.handler = http.HandlerFunc(s.dispatch)
	return s
}

// Start starts listening on 127.0.0.1 on a random port. It panics if called
// twice.
func (s *Server) Start() {
	if s.ts != nil {
		panic("mixintest: Server already started")
	}
	s.ts = httptest.NewUnstartedServer(s.handler)
	s.ts.Start()
}

// URL returns the REST base URL (https:// after StartTLS), including the
// path prefix if any. It is empty until the server is started.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL + s.cfg.prefix
}

// BlazeURL returns the websocket URL, e.g. ws://127.0.0.1:PORT/ (wss://
// after StartTLS).
func (s *Server) BlazeURL() string {
	if s.ts == nil {
		return ""
	}
	return "ws" + strings.TrimPrefix(s.ts.URL, "http") + s.cfg.prefix + "/"
}

// Handler returns the handler that serves everything: REST, blaze, uploads
// and the admin API.
func (s *Server) Handler() http.Handler { return s.handler }

// Close closes the listener and every websocket and waits for the server's
// goroutines to finish. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		var conns []*blazeConn
		for _, mb := range s.mailboxes {
			for c := range mb.conns {
				conns = append(conns, c)
			}
		}
		s.mu.Unlock()
		close(s.done)
		for _, c := range conns {
			c.close()
		}
		if s.ts != nil {
			s.ts.Close()
		}
		s.wg.Wait()
	})
}

// Client returns a mixin.Client for the bot, wired to this server (and, for
// a TLS server, trusting its certificate). Extra options are applied after
// the base and blaze URLs. It fails, and never panics, when the server is
// not started or an option is invalid.
func (s *Server) Client(opts ...mixin.Option) (*mixin.Client, error) {
	if s.ts == nil {
		return nil, errors.New("mixintest: client: the server is not started (call Start, or use NewServer)")
	}
	ks, err := mixin.ParseKeystore(s.KeystoreJSON())
	if err != nil {
		return nil, fmt.Errorf("mixintest: client: %w", err)
	}
	base := []mixin.Option{mixin.WithBaseURL(s.URL()), mixin.WithBlazeURL(s.BlazeURL())}
	if s.isTLS() {
		base = append(base, mixin.WithHTTPClient(s.HTTPClient()))
	}
	all := append(base, opts...)
	c, err := mixin.NewClient(ks, all...)
	if err != nil {
		return nil, fmt.Errorf("mixintest: client: %w", err)
	}
	return c, nil
}

// Bot returns the registered bot.
func (s *Server) Bot() *User { return s.bot }

// KeystoreJSON returns the bot's keystore in the dashboard format.
func (s *Server) KeystoreJSON() []byte { return s.bot.KeystoreJSON() }

// NewUser registers a simulated user with a random id.
func (s *Server) NewUser(fullName string) *User { return s.NewUserWithID(uuid.NewString(), fullName) }

// NewUserWithID registers a simulated user with the given id. If the id is
// already registered, that user is returned.
func (s *Server) NewUserWithID(userID, fullName string) *User {
	return s.addUser(normID(userID), fullName)
}

func (s *Server) addUser(id, fullName string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[id]; ok {
		return u
	}
	s.userCount++
	u := newUser(s, id, fullName, newIdentityNumber(s.userCount), s.now())
	s.users[id] = u
	s.byIdentity[u.IdentityNumber] = u
	s.mailboxes[id] = newMailbox()
	return u
}

// User looks a user up by id.
func (s *Server) User(userID string) (*User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[normID(userID)]
	return u, ok
}

// Users returns every registered user, the bot first.
func (s *Server) Users() []*User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*User{s.bot}
	for _, u := range s.users {
		if u != s.bot {
			out = append(out, u)
		}
	}
	return out
}

// Conversation returns a snapshot of the conversation with that id.
func (s *Server) Conversation(conversationID string) (Conversation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.convs[normID(conversationID)]
	if !ok {
		return Conversation{}, false
	}
	return c.snapshot(), true
}

// Pending returns how many entries wait in the user's blaze queue:
// messages delivered but not yet acknowledged, and receipts not yet pushed
// (or, with WithReceiptsUntilAcked, not yet acknowledged).
func (s *Server) Pending(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mb, ok := s.mailboxes[normID(userID)]; ok {
		return mb.live
	}
	return 0
}

// Pushes returns how many messages and receipts the server has pushed to
// the user's blaze connections so far, pushes of the same entry again
// (after a new listing, on another connection) included: the work a
// client's loop costs the server.
func (s *Server) Pushes(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mb, ok := s.mailboxes[normID(userID)]; ok {
		return int(mb.pushes.Load())
	}
	return 0
}

// Attachment returns what the server knows about an attachment.
func (s *Server) Attachment(attachmentID string) (Attachment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.attachments[normID(attachmentID)]
	if !ok {
		return Attachment{}, false
	}
	return Attachment{AttachmentID: a.id, OwnerID: a.ownerID, Uploaded: a.uploaded, Size: a.size,
		SHA256: a.sha256, Data: append([]byte(nil), a.data...), CreatedAt: a.createdAt}, true
}

func (s *Server) now() time.Time { return s.cfg.clock().UTC() }

func (s *Server) debug(msg string, args ...any) {
	if s.cfg.logger != nil {
		s.cfg.logger.Debug("mixintest: "+msg, args...)
	}
}

// dispatch routes a request (path prefix stripped) to blaze, uploads, the
// admin API or the REST API.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if s.cfg.prefix != "" {
		if path != s.cfg.prefix && !strings.HasPrefix(path, s.cfg.prefix+"/") {
			s.writeRaw(w, r, http.StatusNotFound, errNotFound)
			return
		}
		path = strings.TrimPrefix(path, s.cfg.prefix)
		if path == "" {
			path = "/"
		}
	}
	switch {
	case (path == "/") && isWebsocketUpgrade(r):
		s.serveBlaze(w, r)
	case strings.HasPrefix(path, uploadsPath):
		s.serveUpload(w, r, strings.TrimPrefix(path, uploadsPath))
	case strings.HasPrefix(path, viewPath):
		s.serveView(w, r, strings.TrimPrefix(path, viewPath))
	case strings.HasPrefix(path, adminPath):
		s.serveAdmin(w, r, path)
	default:
		s.serveREST(w, r, path)
	}
}

func isWebsocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// baseURL is the scheme://host[prefix] the client reached us at.
func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.cfg.prefix
}

func ceilSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}
