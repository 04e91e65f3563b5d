package agent

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Scan states in the redemption store.
const (
	// ScanPending is an admission the server has not confirmed yet.
	ScanPending = "pending"
	// ScanAdmitted is an admission the server recorded.
	ScanAdmitted = "admitted"
	// ScanRefused is a scan the server refused; Reason says why.
	ScanRefused = "refused"
	// ScanFlagged is an offline admission of a ticket the server knows
	// as not valid (Reason: booking_cancelled, booking_unpaid,
	// booking_not_found); the server recorded it for staff.
	ScanFlagged = "flagged"
)

// ScanRecord is one admission or server answer about a ticket at this
// gate. The store file holds one JSON record per line; a later line for
// the same nonce replaces an earlier one.
type ScanRecord struct {
	Nonce     string    `json:"nonce"`
	Code      string    `json:"code"`
	QR        string    `json:"qr,omitempty"`
	ScannedAt time.Time `json:"scanned_at"`
	Offline   bool      `json:"offline,omitempty"`
	State     string    `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	// Opened is set when the gate let someone through on this scan.
	Opened bool `json:"opened,omitempty"`
	// FirstEntry is when the ticket was first used, as the server knows
	// it; set on refusals for already_redeemed.
	FirstEntry *time.Time `json:"first_entry,omitempty"`
}

// Store remembers which tickets were used at this gate and which scans
// still have to be uploaded. It survives restarts in an append-only file
// that is compacted when opened.
type Store struct {
	path string
	// keep bounds how long confirmed records are kept at compaction.
	keep time.Duration

	mu      sync.Mutex
	f       *os.File
	byNonce map[string]*ScanRecord
	// entry is the first admission per booking code.
	entry map[string]time.Time
}

// OpenStore opens or creates the store at path.
func OpenStore(path string, keep time.Duration) (*Store, error) {
	s := &Store{path: path, keep: keep, byNonce: map[string]*ScanRecord{}, entry: map[string]time.Time{}}
	if f, err := os.Open(path); err == nil {
		err = s.load(f)
		f.Close()
		if err != nil {
			return nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("redemption store: %w", err)
	}
	if err := s.compact(time.Now()); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("redemption store: %w", err)
	}
	s.f = f
	return s, nil
}

// load replays the file. A torn last line (power cut while writing) is
// skipped.
func (s *Store) load(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var rec ScanRecord
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.Nonce == "" {
			continue
		}
		s.apply(rec)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("redemption store: read %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) apply(rec ScanRecord) {
	r := rec
	s.byNonce[rec.Nonce] = &r
	if rec.Opened {
		s.noteEntry(rec.Code, rec.ScannedAt)
	}
	if rec.FirstEntry != nil {
		s.noteEntry(rec.Code, *rec.FirstEntry)
	}
}

func (s *Store) noteEntry(code string, at time.Time) {
	if code == "" {
		return
	}
	if t, ok := s.entry[code]; !ok || at.Before(t) {
		s.entry[code] = at
	}
}

// compact rewrites the file with the current record of each nonce,
// dropping confirmed ones older than keep.
func (s *Store) compact(now time.Time) error {
	recs := make([]*ScanRecord, 0, len(s.byNonce))
	for n, r := range s.byNonce {
		if r.State != ScanPending && s.keep > 0 && now.Sub(r.ScannedAt) > s.keep {
			delete(s.byNonce, n)
			continue
		}
		recs = append(recs, r)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].ScannedAt.Before(recs[j].ScannedAt) })
	s.entry = map[string]time.Time{}
	for _, r := range recs {
		s.apply(*r)
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("redemption store: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return err
		}
	}
	if err := errors.Join(w.Flush(), f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("redemption store: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("redemption store: %w", err)
	}
	return nil
}

// Put records rec durably.
func (s *Store) Put(rec ScanRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return errors.New("redemption store: closed")
	}
	s.apply(rec)
	if _, err := s.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("redemption store: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("redemption store: %w", err)
	}
	return nil
}

// FirstEntry returns when the ticket with this booking code was first
// used here, if it was.
func (s *Store) FirstEntry(code string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.entry[code]
	return t, ok
}

// Pending returns the admissions not yet confirmed by the server, oldest
// first, at most n.
func (s *Store) Pending(n int) []ScanRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ScanRecord
	for _, r := range s.byNonce {
		if r.State == ScanPending {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ScannedAt.Before(out[j].ScannedAt) })
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Get returns the record of a nonce.
func (s *Store) Get(nonce string) (ScanRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byNonce[nonce]
	if !ok {
		return ScanRecord{}, false
	}
	return *r, true
}

// Close closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// statePath joins the state dir and a file name.
func statePath(dir, name string) string { return filepath.Join(dir, name) }
