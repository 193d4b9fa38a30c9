package mixin

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func cacheConv(id string, members ...string) *Conversation {
	c := &Conversation{ConversationID: id, Category: ConversationCategoryGroup, CreatorID: members[0]}
	for i, m := range members {
		role := ParticipantRoleMember
		if i == 0 {
			role = ParticipantRoleOwner
		}
		c.Participants = append(c.Participants, Participant{UserID: m, Role: role})
		c.ParticipantSessions = append(c.ParticipantSessions, ParticipantSession{UserID: m, SessionID: NewUUID()})
	}
	return c
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func TestConversationCacheHitsMissesAndBounds(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	cc := newConversationCache(convCacheConfig{size: 2, maxAge: time.Minute}, clock.now)
	var fetches atomic.Int32
	fetch := func(id string) func(context.Context) (*Conversation, error) {
		return func(context.Context) (*Conversation, error) {
			fetches.Add(1)
			return cacheConv(id, "owner", "member"), nil
		}
	}
	ctx := context.Background()
	a, b, c := NewUUID(), NewUUID(), NewUUID()
	info, err := cc.get(ctx, a, fetch(a))
	if err != nil {
		t.Fatal(err)
	}
	if !info.IsGroup() || !info.IsAdmin("owner") || info.IsAdmin("member") {
		t.Fatalf("info = %v, roles wrong", info)
	}
	if r, ok := info.Role("member"); !ok || r != ParticipantRoleMember {
		t.Fatalf("Role(member) = %q, %v", r, ok)
	}
	if _, ok := info.Role("stranger"); ok {
		t.Fatal("a stranger has a role")
	}
	if _, err := cc.get(ctx, a, fetch(a)); err != nil || fetches.Load() != 1 {
		t.Fatalf("second lookup fetched again (%d fetches)", fetches.Load())
	}
	_, _ = cc.get(ctx, b, fetch(b))
	_, _ = cc.get(ctx, a, fetch(a)) // a is now the most recent
	_, _ = cc.get(ctx, c, fetch(c)) // evicts b
	if cc.len() != 2 {
		t.Fatalf("cache holds %d conversations, bound is 2", cc.len())
	}
	n := fetches.Load()
	_, _ = cc.get(ctx, a, fetch(a))
	if fetches.Load() != n {
		t.Fatal("the most recently used entry was evicted")
	}
	_, _ = cc.get(ctx, b, fetch(b))
	if fetches.Load() != n+1 {
		t.Fatal("the least recently used entry was not evicted")
	}
	clock.add(time.Minute)
	n = fetches.Load()
	_, _ = cc.get(ctx, b, fetch(b))
	if fetches.Load() != n+1 {
		t.Fatal("an entry older than max age was served")
	}
	cc.invalidate(b)
	_, _ = cc.get(ctx, b, fetch(b))
	if fetches.Load() != n+2 {
		t.Fatal("an invalidated entry was served")
	}
}

func TestConversationCacheSharesOneLoad(t *testing.T) {
	cc := newConversationCache(convCacheConfig{}, time.Now)
	id := NewUUID()
	release := make(chan struct{})
	var fetches atomic.Int32
	fetch := func(context.Context) (*Conversation, error) {
		fetches.Add(1)
		<-release
		return cacheConv(id, "o"), nil
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cc.get(context.Background(), id, fetch); err != nil {
				t.Error(err)
			}
		}()
	}
	for {
		cc.mu.Lock()
		_, loading := cc.loading[id]
		cc.mu.Unlock()
		if loading {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if fetches.Load() != 1 {
		t.Fatalf("%d fetches for concurrent lookups, want 1", fetches.Load())
	}
}

func TestConversationCacheDropsLoadInvalidatedInFlight(t *testing.T) {
	cc := newConversationCache(convCacheConfig{}, time.Now)
	id := NewUUID()
	started, release := make(chan struct{}), make(chan struct{})
	stale := cacheConv(id, "o", "removed")
	go func() {
		_, _ = cc.get(context.Background(), id, func(context.Context) (*Conversation, error) {
			close(started)
			<-release
			return stale, nil
		})
	}()
	<-started
	cc.invalidate(id) // a SYSTEM_CONVERSATION arrives while the read is under way
	close(release)
	fresh := cacheConv(id, "o")
	info, err := cc.get(context.Background(), id, func(context.Context) (*Conversation, error) { return fresh, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.Role("removed"); ok {
		t.Fatal("a read begun before the invalidation was kept")
	}
}

func TestConversationCacheErrorsAreNotCached(t *testing.T) {
	cc := newConversationCache(convCacheConfig{}, time.Now)
	id := NewUUID()
	boom := errors.New("boom")
	if _, err := cc.get(context.Background(), id, func(context.Context) (*Conversation, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	info, err := cc.get(context.Background(), id, func(context.Context) (*Conversation, error) { return cacheConv(id, "o"), nil })
	if err != nil || info == nil {
		t.Fatalf("after an error: %v, %v", info, err)
	}
	other := NewUUID()
	if _, err := cc.get(context.Background(), other, func(context.Context) (*Conversation, error) { return cacheConv(id, "o"), nil }); err == nil {
		t.Fatal("a view of another conversation was accepted")
	}
}

func TestConversationInfoCopies(t *testing.T) {
	conv := cacheConv(NewUUID(), "o", "m")
	info := newConversationInfo(conv, time.Now())
	ps := info.Participants()
	ps[0].Role = ParticipantRoleMember
	ss := info.Sessions()
	ss[0].SessionID = "changed"
	if !info.IsAdmin("o") || info.Participants()[0].Role != ParticipantRoleOwner || info.Sessions()[0].SessionID == "changed" {
		t.Fatal("the view shares its slices with callers")
	}
	conv.Participants[0].Role = ParticipantRoleMember
	if !info.IsAdmin("o") {
		t.Fatal("the view shares its slices with the conversation it was built from")
	}
}

func TestWithConversationCacheValidates(t *testing.T) {
	ks := benchKeystore(t)
	for _, o := range []Option{WithConversationCache(0, time.Minute), WithConversationCache(10, 0)} {
		if _, err := NewClient(ks, o); !errors.Is(err, ErrInvalidInput) {
			t.Fatalf("err = %v, want a FieldError", err)
		}
	}
	c, err := NewClient(ks, WithConversationCache(3, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if cc := c.e2eInit().convs; cc.size != 3 || cc.maxAge != time.Second {
		t.Fatalf("cache size %d, max age %v", cc.size, cc.maxAge)
	}
}

func TestConversationInfoRolesIgnoreIDCase(t *testing.T) {
	owner, member := "AB3C1F7E-0D5B-4B1E-9D3A-6F1E2C4B5A69", "0c4b9e6d-2f7a-4c8b-9e1d-3a5b7c9d1e2f"
	info := newConversationInfo(cacheConv(NewUUID(), owner, member), time.Now())
	if !info.IsAdmin(strings.ToLower(owner)) {
		t.Fatal("the owner's id in lower case must find its role")
	}
	if r, ok := info.Role(strings.ToUpper(member)); !ok || r != ParticipantRoleMember {
		t.Fatalf("Role(upper-case member) = %q, %v", r, ok)
	}
}
