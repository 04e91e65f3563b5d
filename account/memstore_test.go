package account

import (
	"bytes"
	"context"
	"slices"
	"sort"
	"sync"
	"time"
)

// memStore is an in-memory Store for the service's tests.
type memStore struct {
	mu       sync.Mutex
	accounts []Account
	failures map[string][]time.Time
	sessions map[string]*Session
	tokens   []Token
}

func newMemStore() *memStore {
	return &memStore{failures: map[string][]time.Time{}, sessions: map[string]*Session{}}
}

func (m *memStore) CreateAccount(_ context.Context, a *Account) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.accounts {
		if x.Login == a.Login {
			return 0, ErrLoginTaken
		}
	}
	c := *a
	c.ID = int64(len(m.accounts) + 1)
	m.accounts = append(m.accounts, c)
	return c.ID, nil
}

func (m *memStore) find(pred func(Account) bool) (*Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.accounts {
		if pred(a) {
			c := a
			c.Roles = slices.Clone(a.Roles)
			return &c, nil
		}
	}
	return nil, ErrNotFound
}

func (m *memStore) AccountByID(_ context.Context, id int64) (*Account, error) {
	return m.find(func(a Account) bool { return a.ID == id })
}

func (m *memStore) AccountByLogin(_ context.Context, login string) (*Account, error) {
	return m.find(func(a Account) bool { return a.Login == login })
}

func (m *memStore) Accounts(context.Context) ([]Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.accounts), nil
}

func (m *memStore) UpdateAccount(_ context.Context, a *Account) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.accounts {
		if m.accounts[i].ID == a.ID {
			m.accounts[i] = *a
			if a.Disabled {
				m.dropSessions(a.ID, nil)
			}
			return nil
		}
	}
	return ErrNotFound
}

func (m *memStore) dropSessions(id int64, keep []byte) {
	for k, s := range m.sessions {
		if s.AccountID == id && !bytes.Equal(s.IDHash, keep) {
			delete(m.sessions, k)
		}
	}
}

func (m *memStore) SetPassword(_ context.Context, id int64, hash string, at time.Time, keep []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.accounts {
		if m.accounts[i].ID == id {
			m.accounts[i].PasswordHash, m.accounts[i].PasswordChangedAt = hash, at
			m.dropSessions(id, keep)
			return nil
		}
	}
	return ErrNotFound
}

func (m *memStore) RecordFailure(_ context.Context, keys []string, at, forgetBefore time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		m.failures[k] = append(m.failures[k], at)
	}
	for k, ts := range m.failures {
		m.failures[k] = slices.DeleteFunc(ts, func(t time.Time) bool { return t.Before(forgetBefore) })
	}
	return nil
}

func (m *memStore) RecentFailures(_ context.Context, key string, since time.Time, n int) ([]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []time.Time
	for _, t := range m.failures[key] {
		if t.After(since) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].After(out[j]) })
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

func (m *memStore) ClearFailures(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.failures, key)
	return nil
}

func (m *memStore) CreateSession(_ context.Context, s *Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *s
	m.sessions[string(s.IDHash)] = &c
	return nil
}

func (m *memStore) Session(_ context.Context, h []byte) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[string(h)]
	if !ok {
		return nil, ErrNoSession
	}
	c := *s
	return &c, nil
}

func (m *memStore) TouchSession(_ context.Context, h []byte, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[string(h)]
	if !ok {
		return ErrNoSession
	}
	s.LastSeen = at
	return nil
}

func (m *memStore) SetSessionDesk(_ context.Context, h []byte, desk string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[string(h)]
	if !ok {
		return ErrNoSession
	}
	s.Desk = desk
	return nil
}

func (m *memStore) DeleteSession(_ context.Context, h []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, string(h))
	return nil
}

func (m *memStore) DeleteExpiredSessions(_ context.Context, idle, created time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, s := range m.sessions {
		if s.LastSeen.Before(idle) || s.CreatedAt.Before(created) {
			delete(m.sessions, k)
			n++
		}
	}
	return n, nil
}

func (m *memStore) CreateToken(_ context.Context, t *Token) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *t
	c.ID = int64(len(m.tokens) + 1)
	m.tokens = append(m.tokens, c)
	return c.ID, nil
}

func (m *memStore) TokenByHash(_ context.Context, h []byte) (*Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tokens {
		if bytes.Equal(t.Hash, h) {
			c := t
			return &c, nil
		}
	}
	return nil, ErrTokenUnknown
}

func (m *memStore) TouchToken(_ context.Context, id int64, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.tokens {
		if m.tokens[i].ID == id {
			m.tokens[i].LastUsed = at
		}
	}
	return nil
}

func (m *memStore) Tokens(_ context.Context, accountID int64) ([]Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Token
	for _, t := range m.tokens {
		if t.AccountID == accountID {
			out = append(out, t)
		}
	}
	return out, nil
}

func (m *memStore) RevokeToken(_ context.Context, accountID, id int64, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.tokens {
		if t := &m.tokens[i]; t.ID == id && t.AccountID == accountID && !t.Revoked() {
			t.RevokedAt = at
			return nil
		}
	}
	return ErrTokenUnknown
}
