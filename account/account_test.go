package account

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fastHash keeps the tests quick; the parameters travel in the hash.
var fastHash = HashParams{MemoryKiB: 64, Iterations: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashAndVerify(t *testing.T) {
	h, err := Hash("richtig-richtig", DefaultHashParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("encoded hash %q", h)
	}
	h2, _ := Hash("richtig-richtig", DefaultHashParams)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, tt := range []struct {
		password string
		ok       bool
	}{{"richtig-richtig", true}, {"richtig-richtiG", false}, {"", false}} {
		ok, err := Verify(tt.password, h)
		if err != nil || ok != tt.ok {
			t.Errorf("Verify(%q) = %v, %v; want %v", tt.password, ok, err, tt.ok)
		}
	}
	// A hash made with other parameters verifies with its own.
	low, _ := Hash("x", fastHash)
	if ok, err := Verify("x", low); !ok || err != nil {
		t.Fatalf("own parameters: %v %v", ok, err)
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	good, _ := Hash("x", fastHash)
	parts := strings.Split(good, "$")
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=16$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1$" + parts[4] + "$" + parts[5] + "$",
		"$argon2id$v=19$m=99999999,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1000,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=0$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$c2hvcnQ",
		"$argon2id$v=19$m=64,t=1,x=1$" + parts[4] + "$" + parts[5],
	} {
		if _, err := Verify("x", bad); !errors.Is(err, ErrHashMalformed) {
			t.Errorf("Verify(%q): %v, want ErrHashMalformed", bad, err)
		}
	}
}

func FuzzDecodeHash(f *testing.F) {
	good, _ := Hash("x", fastHash)
	f.Add(good)
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := decodeHash(s)
		if err != nil {
			return
		}
		if d.p.MemoryKiB > maxHashMemoryKiB || d.p.Iterations > maxHashIterations || d.p.Threads == 0 || len(d.key) > maxHashKeyLen {
			t.Fatalf("accepted parameters out of range: %+v", d.p)
		}
	})
}

func TestCheckPassword(t *testing.T) {
	for _, tt := range []struct {
		password, login string
		want            error
	}{
		{"Korrekt-Pferd-Batterie", "erika", nil},
		{"kurz", "erika", ErrPasswordShort},
		{strings.Repeat("ä", 129), "erika", ErrPasswordLong},
		{strings.Repeat("äö", 64), "erika", nil},
		{"Passwort12345678", "erika", ErrPasswordCommon},
		{"123456123456123456", "erika", ErrPasswordCommon},
		{"aaaaaaaaaaaaaaa", "erika", ErrPasswordCommon},
		{"mein-name-ist-erika", "erika", ErrPasswordLogin},
		{"zeilen\numbruch-drin", "erika", ErrPasswordInvalid},
		{"\xff\xfe-kein-utf8-text", "erika", ErrPasswordInvalid},
	} {
		if err := CheckPassword(tt.password, tt.login); !errors.Is(err, tt.want) {
			t.Errorf("CheckPassword(%q) = %v, want %v", tt.password, err, tt.want)
		}
	}
}

func TestNormalizeLogin(t *testing.T) {
	for in, want := range map[string]string{" Erika.M ": "erika.m", "a_b-c": "a_b-c", "x": "", "ä": "", "a b": "", strings.Repeat("a", 65): ""} {
		got, err := NormalizeLogin(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("NormalizeLogin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newTestService(t *testing.T) (*Service, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	s := NewService(newMemStore(), []byte("test key"))
	s.Hashing, s.Now = fastHash, clk.now
	s.Lockout = Lockout{Failures: 3, AddressFailures: 5, Window: 10 * time.Minute}
	return s, clk
}

func mustCreate(t *testing.T, s *Service, login string, roles ...Role) *Account {
	t.Helper()
	a, err := s.Create(context.Background(), NewAccount{Login: login, DisplayName: "Test", Password: "Korrekt-Pferd-Batterie", Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLoginAndLockoutPerAccount(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestService(t)
	mustCreate(t, s, "erika", RoleDesk)
	if _, _, err := s.Login(ctx, "ERIKA", "Korrekt-Pferd-Batterie", "192.0.2.1"); err != nil {
		t.Fatalf("login: %v", err)
	}
	// Three failures within the window lock the account, from any address.
	for i, addr := range []string{"192.0.2.1", "198.51.100.2", "203.0.113.3"} {
		_, _, err := s.Login(ctx, "erika", "falsch", addr)
		if i < 2 && !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
		if i == 2 && !errors.Is(err, ErrLockedOut) {
			t.Fatalf("third failure: %v, want the lockout", err)
		}
		clk.add(time.Minute)
	}
	_, _, err := s.Login(ctx, "erika", "Korrekt-Pferd-Batterie", "192.0.2.9")
	var l *LockoutError
	if !errors.As(err, &l) || l.ByAddress {
		t.Fatalf("right password while locked: %v", err)
	}
	// Failures at 9:00, 9:01, 9:02: the oldest leaves the window at 9:10.
	if want := time.Date(2026, 12, 1, 9, 10, 0, 0, time.UTC); !l.Until.Equal(want) {
		t.Fatalf("locked until %s, want %s", l.Until, want)
	}
	clk.add(6*time.Minute + 59*time.Second) // 9:09:59
	if _, _, err := s.Login(ctx, "erika", "Korrekt-Pferd-Batterie", "192.0.2.9"); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("a second before the end: %v", err)
	}
	clk.add(2 * time.Second)
	if _, _, err := s.Login(ctx, "erika", "Korrekt-Pferd-Batterie", "192.0.2.9"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// The success cleared the account's counter: two failures do not lock.
	for range 2 {
		s.Login(ctx, "erika", "falsch", "192.0.2.10")
	}
	if _, _, err := s.Login(ctx, "erika", "Korrekt-Pferd-Batterie", "192.0.2.10"); err != nil {
		t.Fatalf("after two failures: %v", err)
	}
}

func TestLockoutPerAddressAndUnknownLogins(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestService(t)
	mustCreate(t, s, "erika", RoleDesk)
	// Unknown logins fail like wrong passwords and count per address.
	for i := range 4 {
		if _, _, err := s.Login(ctx, "niemand"+string(rune('a'+i)), "x", "192.0.2.7"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("unknown login %d: %v", i, err)
		}
		clk.add(time.Second)
	}
	if _, _, err := s.Login(ctx, "niemande", "x", "192.0.2.7"); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("fifth failure from one address: %v", err)
	}
	_, _, err := s.Login(ctx, "erika", "Korrekt-Pferd-Batterie", "192.0.2.7")
	var l *LockoutError
	if !errors.As(err, &l) || !l.ByAddress {
		t.Fatalf("right password from the locked address: %v", err)
	}
	if _, _, err := s.Login(ctx, "erika", "Korrekt-Pferd-Batterie", "192.0.2.8"); err != nil {
		t.Fatalf("from another address: %v", err)
	}
	// An unknown login is locked like a known one after three failures.
	for range 3 {
		s.Login(ctx, "gibtsnicht", "x", "198.51.100.1")
	}
	if _, _, err := s.Login(ctx, "gibtsnicht", "x", "198.51.100.2"); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("unknown login after three failures: %v", err)
	}
	// Neither the login nor the address is stored in the clear.
	for k := range s.Store.(*memStore).failures {
		if strings.Contains(k, "192.0.2") || strings.Contains(k, "gibtsnicht") {
			t.Fatalf("failure key %q holds the value", k)
		}
	}
}

func TestDisabledAccountCannotLogIn(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestService(t)
	mustCreate(t, s, "admin", RoleAdmin)
	a := mustCreate(t, s, "erika", RoleDesk)
	_, id, err := s.Login(ctx, "erika", "Korrekt-Pferd-Batterie", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, a.ID, Update{DisplayName: "Test", Roles: []Role{RoleDesk}, Disabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Session(ctx, id); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session of a disabled account: %v", err)
	}
	if _, _, err := s.Login(ctx, "erika", "Korrekt-Pferd-Batterie", "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("login of a disabled account: %v", err)
	}
}

func TestSessionExpiry(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestService(t)
	s.SessionIdle, s.SessionMax = 30*time.Minute, 2*time.Hour
	mustCreate(t, s, "erika", RoleDesk)
	login := func() string {
		_, id, err := s.Login(ctx, "erika", "Korrekt-Pferd-Batterie", "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	id := login()
	// Used every 20 minutes it lives until the absolute limit.
	for i := 0; i < 5; i++ {
		clk.add(20 * time.Minute)
		if _, _, err := s.Session(ctx, id); err != nil {
			t.Fatalf("after %d min: %v", 20*(i+1), err)
		}
	}
	clk.add(21 * time.Minute) // past 2 h after the login
	if _, _, err := s.Session(ctx, id); !errors.Is(err, ErrNoSession) {
		t.Fatalf("past the absolute limit: %v", err)
	}
	id = login()
	clk.add(31 * time.Minute)
	if _, _, err := s.Session(ctx, id); !errors.Is(err, ErrNoSession) {
		t.Fatalf("idle too long: %v", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 43) + "="} {
		if _, _, err := s.Session(ctx, bad); !errors.Is(err, ErrNoSession) {
			t.Fatalf("session %q: %v", bad, err)
		}
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestService(t)
	a := mustCreate(t, s, "erika", RoleDesk)
	_, mine, _ := s.Login(ctx, "erika", "Korrekt-Pferd-Batterie", "192.0.2.1")
	_, other, _ := s.Login(ctx, "erika", "Korrekt-Pferd-Batterie", "192.0.2.2")
	if err := s.ChangePassword(ctx, a.ID, mine, "falsch", "Neues-Pferd-Batterie"); !errors.Is(err, ErrPasswordWrong) {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := s.ChangePassword(ctx, a.ID, mine, "Korrekt-Pferd-Batterie", "kurz"); !errors.Is(err, ErrPasswordShort) {
		t.Fatalf("short password: %v", err)
	}
	if err := s.ChangePassword(ctx, a.ID, mine, "Korrekt-Pferd-Batterie", "Neues-Pferd-Batterie"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Session(ctx, mine); err != nil {
		t.Fatalf("own session: %v", err)
	}
	if _, _, err := s.Session(ctx, other); !errors.Is(err, ErrNoSession) {
		t.Fatalf("other session: %v", err)
	}
	if _, _, err := s.Login(ctx, "erika", "Neues-Pferd-Batterie", "192.0.2.1"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	// An administrator's reset ends every session.
	if err := s.ResetPassword(ctx, a.ID, "Drittes-Pferd-Batterie"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Session(ctx, mine); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session after reset: %v", err)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	s, clk := newTestService(t)
	mustCreate(t, s, "admin", RoleAdmin)
	a := mustCreate(t, s, "kasse", RoleFinance)
	tok, secret, err := s.CreateToken(ctx, a.ID, "Export-Abholung")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "tmn_") || len(secret) != 4+43 || !IsToken(secret) {
		t.Fatalf("secret %q", secret)
	}
	stored, _ := s.Store.TokenByHash(ctx, TokenHash(secret))
	if string(stored.Hash) == secret || strings.Contains(string(stored.Hash), secret[4:]) {
		t.Fatal("the secret is stored")
	}
	got, gotTok, err := s.Authenticate(ctx, secret)
	if err != nil || got.ID != a.ID || gotTok.ID != tok.ID || !gotTok.LastUsed.Equal(clk.now()) {
		t.Fatalf("authenticate: %v %+v %+v", err, got, gotTok)
	}
	for _, bad := range []string{"", secret[:len(secret)-1], "tmn_" + strings.Repeat("A", 43), "x" + secret[1:]} {
		if _, _, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrTokenUnknown) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	if _, _, err := s.CreateToken(ctx, a.ID, " "); !errors.Is(err, ErrTokenNameInvalid) {
		t.Fatalf("empty name: %v", err)
	}
	// Another account cannot revoke it; its own can, once.
	if err := s.RevokeToken(ctx, a.ID+1, tok.ID); !errors.Is(err, ErrTokenUnknown) {
		t.Fatalf("revoke by another account: %v", err)
	}
	if err := s.RevokeToken(ctx, a.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, secret); !errors.Is(err, ErrTokenUnknown) {
		t.Fatalf("revoked token: %v", err)
	}
	// A disabled account's token stops working.
	_, secret2, _ := s.CreateToken(ctx, a.ID, "zweiter")
	s.Update(ctx, a.ID, Update{DisplayName: "Test", Roles: []Role{RoleFinance}, Disabled: true})
	if _, _, err := s.Authenticate(ctx, secret2); !errors.Is(err, ErrTokenUnknown) {
		t.Fatalf("token of a disabled account: %v", err)
	}
}

func TestCreateChecks(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestService(t)
	for _, tt := range []struct {
		n    NewAccount
		want error
	}{
		{NewAccount{Login: "x", DisplayName: "X", Password: "Korrekt-Pferd-Batterie", Roles: []Role{RoleDesk}}, ErrLoginInvalid},
		{NewAccount{Login: "erika", DisplayName: " ", Password: "Korrekt-Pferd-Batterie", Roles: []Role{RoleDesk}}, ErrNameInvalid},
		{NewAccount{Login: "erika", DisplayName: "E", Password: "Korrekt-Pferd-Batterie"}, ErrNoRoles},
		{NewAccount{Login: "erika", DisplayName: "E", Password: "Korrekt-Pferd-Batterie", Roles: []Role{"boss"}}, ErrRoleInvalid},
		{NewAccount{Login: "erika", DisplayName: "E", Password: "erika-erika-erika", Roles: []Role{RoleDesk}}, ErrPasswordLogin},
		{NewAccount{Login: "erika", DisplayName: "E", Password: "Korrekt-Pferd-Batterie", Roles: []Role{RoleAdmin, RoleDesk}}, nil},
		{NewAccount{Login: "Erika", DisplayName: "E", Password: "Korrekt-Pferd-Batterie", Roles: []Role{RoleDesk}}, ErrLoginTaken},
	} {
		a, err := s.Create(ctx, tt.n)
		if !errors.Is(err, tt.want) {
			t.Errorf("Create(%+v) = %v, want %v", tt.n, err, tt.want)
		}
		if err == nil && (a.Roles[0] != RoleDesk || a.Roles[1] != RoleAdmin) {
			t.Errorf("roles not in order: %v", a.Roles)
		}
	}
}

func TestSetDesk(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestService(t)
	mustCreate(t, s, "erika", RoleDesk)
	_, id, _ := s.Login(ctx, "erika", "Korrekt-Pferd-Batterie", "192.0.2.1")
	for _, bad := range []string{"", "12345678901", "3<", "ä"} {
		if err := s.SetDesk(ctx, id, bad); !errors.Is(err, ErrDeskInvalid) {
			t.Errorf("desk %q: %v", bad, err)
		}
	}
	if err := s.SetDesk(ctx, id, " 3 "); err != nil {
		t.Fatal(err)
	}
	if sess, _, _ := s.Session(ctx, id); sess.Desk != "3" {
		t.Fatalf("desk %q", sess.Desk)
	}
}

func FuzzNormalizeLogin(f *testing.F) {
	for _, s := range []string{"erika", " Erika.M ", "ä", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := NormalizeLogin(s)
		if err != nil {
			return
		}
		if len(l) < 2 || len(l) > MaxLoginLen || strings.ToLower(l) != l || strings.ContainsAny(l, " \t\n/\\%") {
			t.Fatalf("NormalizeLogin(%q) = %q", s, l)
		}
		if again, _ := NormalizeLogin(l); again != l {
			t.Fatalf("not idempotent: %q -> %q", l, again)
		}
	})
}

func FuzzCheckPassword(f *testing.F) {
	for _, s := range []string{"Korrekt-Pferd-Batterie", "", "ä", "\x00"} {
		f.Add(s, "erika")
	}
	f.Fuzz(func(t *testing.T, password, login string) {
		if CheckPassword(password, login) == nil && ([]rune(password) == nil || len([]rune(password)) < MinPasswordLen) {
			t.Fatalf("accepted %q", password)
		}
	})
}
