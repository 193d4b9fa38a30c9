package mixin

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// RecentStore persists the list kept by [Recent]. [NewRecent] calls Load
// once; after every change [Recent] calls Save with the conversations changed
// since the last successful Save (tombstones included) and the global version
// they bring the list to. Calls are never concurrent. A Save that fails is
// repeated, with the same conversations and any changed since, at the next
// change, so Save should be all-or-nothing.
type RecentStore interface {
	// Load returns the saved conversations (tombstones included) and the
	// last saved version; an empty store returns nil and 0.
	Load() ([]RecentConversation, uint64, error)
	// Save records the new state of the changed conversations and the
	// version.
	Save(changed []RecentConversation, version uint64) error
}

// recentStoreFormat names the file format in its first line.
const recentStoreFormat = "gomixin-recent"

// recentCompactMin is the log size below which the file store does not
// compact while running.
const recentCompactMin = 1 << 20

type recentHeader struct {
	Format  string `json:"format"`
	V       int    `json:"v"`
	Version uint64 `json:"version"`
}

type recentRecord struct {
	Version       uint64            `json:"version"`
	Conversations []json.RawMessage `json:"conversations"`
}

// fileRecentStore is the RecentStore of FileRecentStore.
type fileRecentStore struct {
	path string

	mu        sync.Mutex
	loaded    bool
	version   uint64
	state     map[string]recentSaved // latest saved JSON per conversation
	liveBytes int64                  // sum of the state's JSON sizes
	logBytes  int64                  // size of the file
	broken    bool                   // the file's tail may be torn: rewrite it
}

type recentSaved struct {
	version uint64
	raw     []byte
}

// FileRecentStore returns a [RecentStore] keeping the list in the file at
// path, so a restarted bot answers [Recent.Since] as before. One [Recent] at a
// time may use a file.
//
// The file is a log of JSON lines: a header, then one line per Save holding
// the changed conversations in full. Save appends one line and syncs the file
// once: its cost is the size of the changed conversations (each with its
// kept messages) plus one fsync, and [Recent] batches concurrent changes into
// one Save. Load reads the log, keeps the newest state of each conversation
// and, if the log holds older states or a torn last line left by a crash,
// rewrites it as a snapshot: a temporary file, synced, then renamed over the
// log. The same compaction runs during Save once the log is more than four
// times (and 1 MiB more than) the live state, so the file stays within a few
// times the size of the list; the store keeps the live state's JSON in memory
// for this. A line that is complete but unreadable is an error from Load
// naming the file and line; the file is not touched.
func FileRecentStore(path string) RecentStore {
	return &fileRecentStore{path: path}
}

// Load reads the log and compacts it if needed.
func (s *fileRecentStore) Load() ([]RecentConversation, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadLocked(); err != nil {
		return nil, 0, err
	}
	out := make([]RecentConversation, 0, len(s.state))
	for _, sv := range s.state {
		var c RecentConversation
		if err := json.Unmarshal(sv.raw, &c); err != nil {
			return nil, 0, fmt.Errorf("recent store %s: %w", s.path, err)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b RecentConversation) int { return cmp.Compare(a.Version, b.Version) })
	return out, s.version, nil
}

func (s *fileRecentStore) loadLocked() error {
	s.state = map[string]recentSaved{}
	s.version, s.liveBytes, s.logBytes, s.broken = 0, 0, 0, false
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		s.loaded = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("recent store: %w", err)
	}
	defer f.Close()

	br := bufio.NewReader(f)
	records, torn := 0, false
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err == io.EOF {
			if line == 1 {
				if len(b) == 0 {
					s.loaded = true
					return nil // empty file
				}
				// The log is created whole by a rename: no torn header.
				return fmt.Errorf("recent store %s line 1: not a recent-conversation store", s.path)
			}
			if len(bytes.TrimSpace(b)) > 0 {
				torn = true // a Save cut short: it never returned nil
			}
			break
		}
		if err != nil {
			return fmt.Errorf("recent store %s: %w", s.path, err)
		}
		s.logBytes += int64(len(b))
		if line == 1 {
			var h recentHeader
			if err := json.Unmarshal(b, &h); err != nil || h.Format != recentStoreFormat {
				return fmt.Errorf("recent store %s line 1: not a recent-conversation store", s.path)
			}
			if h.V != 1 {
				return fmt.Errorf("recent store %s line 1: unsupported format version %d", s.path, h.V)
			}
			s.version = h.Version
			continue
		}
		var rec recentRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("recent store %s line %d: %w", s.path, line, err)
		}
		records++
		s.version = max(s.version, rec.Version)
		for _, raw := range rec.Conversations {
			var key RecentConversation
			if err := json.Unmarshal(raw, &key); err != nil {
				return fmt.Errorf("recent store %s line %d: %w", s.path, line, err)
			}
			if key.ConversationID == "" {
				return fmt.Errorf("recent store %s line %d: conversation without conversation_id", s.path, line)
			}
			s.put(key.ConversationID, key.Version, raw)
		}
	}
	s.loaded = true
	if torn || records > len(s.state) {
		// Best effort: if it fails, broken makes the next Save retry it
		// rather than append after a torn line.
		_ = s.compactLocked()
	}
	return nil
}

// put keeps raw as the state of id unless a newer one is kept.
func (s *fileRecentStore) put(id string, version uint64, raw []byte) {
	old, ok := s.state[id]
	if ok && old.version > version {
		return
	}
	s.liveBytes += int64(len(raw)) - int64(len(old.raw))
	s.state[id] = recentSaved{version: version, raw: slices.Clone(raw)}
}

// Save appends the changed conversations as one line and syncs the file.
func (s *fileRecentStore) Save(changed []RecentConversation, version uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		if err := s.loadLocked(); err != nil {
			return err
		}
	}
	rec := recentRecord{Version: version, Conversations: make([]json.RawMessage, 0, len(changed))}
	for _, c := range changed {
		if c.ConversationID == "" {
			return &FieldError{Field: "conversation_id", Reason: "is empty"}
		}
		raw, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("recent store: %w", err)
		}
		rec.Conversations = append(rec.Conversations, raw)
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("recent store: %w", err)
	}
	line = append(line, '\n')

	for i, c := range changed {
		s.put(c.ConversationID, c.Version, rec.Conversations[i])
	}
	s.version = max(s.version, version)
	if s.broken || s.logBytes == 0 {
		// No file yet, or a tail to repair: write the whole state.
		return s.compactLocked()
	}
	if err := s.appendLocked(line); err != nil {
		return err
	}
	if s.logBytes > recentCompactMin+4*s.liveBytes {
		// Best effort: the change is already durable in the log.
		_ = s.compactLocked()
	}
	return nil
}

// appendLocked appends line to the log and syncs it. On failure the log is
// cut back to its previous size, or marked for a rewrite.
func (s *fileRecentStore) appendLocked(line []byte) error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		s.broken = true
		return fmt.Errorf("recent store: %w", err)
	}
	_, err = f.Write(line)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		if f.Truncate(s.logBytes) != nil {
			s.broken = true
		}
		_ = f.Close()
		return fmt.Errorf("recent store: %w", err)
	}
	if err := f.Close(); err != nil {
		s.broken = true
		return fmt.Errorf("recent store: %w", err)
	}
	s.logBytes += int64(len(line))
	return nil
}

// compactLocked rewrites the log as a snapshot of the state: a temporary
// file in the same directory, synced, renamed over the log.
func (s *fileRecentStore) compactLocked() (err error) {
	dir, base := filepath.Split(s.path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		s.broken = true
		return fmt.Errorf("recent store: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
			s.broken = true
			err = fmt.Errorf("recent store: %w", err)
		}
	}()
	saved := make([]recentSaved, 0, len(s.state))
	for _, sv := range s.state {
		saved = append(saved, sv)
	}
	slices.SortFunc(saved, func(a, b recentSaved) int { return cmp.Compare(a.version, b.version) })

	w := bufio.NewWriter(tmp)
	var size int64
	h, _ := json.Marshal(recentHeader{Format: recentStoreFormat, V: 1, Version: s.version})
	n, _ := w.Write(append(h, '\n'))
	size += int64(n)
	for _, sv := range saved {
		line, err := json.Marshal(recentRecord{Version: sv.version, Conversations: []json.RawMessage{sv.raw}})
		if err != nil {
			return err
		}
		n, err := w.Write(append(line, '\n'))
		if err != nil {
			return err
		}
		size += int64(n)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable; not supported everywhere
		_ = d.Close()
	}
	s.logBytes, s.broken = size, false
	return nil
}
