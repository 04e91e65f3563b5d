// Package config holds every option of the server: one strict set of flags
// and environment variables (internal/config), each option with its
// default and its description in one place. A malformed value stops
// start-up with a message naming the flag or variable it came from.
package config

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/internal/config"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

// Config is the server's configuration. The zero value is not useful; use
// Load.
type Config struct {
	HTTPAddr    string
	DatabaseURL string
	// RedisAddrs: one address means a single Redis, several a Redis Cluster.
	RedisAddrs []string
	HoldTTL    time.Duration
	// CityFile is the city `seed` loads; the built-in demo city when empty.
	CityFile string
	WarmDays int
	LogLevel slog.Level
	// LogFormat is json (one object per line, for a log collector) or
	// text (for a terminal).
	LogFormat string
	// Zone is the city's time zone (Europe/Berlin), loaded once at start:
	// treasury value and booking dates are counted in it.
	Zone *time.Location
	// AdminAPIKey guards the staff, administrator and finance endpoints
	// until staff accounts exist; they are closed when it is empty.
	AdminAPIKey string
	// GateEarly and GateLate widen a ticket's slot at the entrance.
	GateEarly, GateLate time.Duration
	// CheckInEarly and CheckInLate bound an appointment's check-in at the
	// counter kiosk around its start.
	CheckInEarly, CheckInLate time.Duration
	PprofAddr                 string
	// MetricsAddr serves Prometheus metrics at /metrics on a listener of
	// its own; off when empty.
	MetricsAddr string
	// Secret keys the proof-of-work signatures and the hashes that stand
	// for client addresses and e-mail addresses; replicas must share it.
	Secret string

	RateLimit      float64
	RateBurst      int
	ClientIPHeader string

	ContactLimitOffice int
	ContactLimitPool   int

	// AvailabilitySnapshot is how long an availability snapshot of a
	// location-day is served before its version is checked in Redis
	// again: the staleness bound of availability reads. Negative: off.
	AvailabilitySnapshot time.Duration
	// OneHold gives each browser (pages) and each client address (API)
	// one live hold per location; a new hold replaces the last.
	OneHold bool
	// OneHoldAPI binds API clients without a browser cookie to their
	// address for that rule.
	OneHoldAPI bool
	// QuickRelease is the age under which releasing (or replacing) a
	// hold counts as quick; QuickReleasePerMinute and QuickReleaseBurst
	// are how many quick releases a client may make (0: unlimited).
	QuickRelease          time.Duration
	QuickReleasePerMinute float64
	QuickReleaseBurst     int

	PowLocations []string
	PowAuto      int
	PowBits      int
	PowTTL       time.Duration

	// Room configures the waiting room in front of releases.
	Room WaitingRoom

	// Pay configures online payment and the treasury.
	Pay Pay
	// Mail configures the citizens' e-mails.
	Mail Mail
	// ReminderBefore is how long before its start a booking's reminder
	// mail is due; 0 sends none.
	ReminderBefore time.Duration
	// ActivationSweep is how often unactivated bookings past their
	// deadline are released (double opt-in).
	ActivationSweep time.Duration
	// RetentionDays is how long after its appointment (or its
	// cancellation) a booking keeps the citizen's name, e-mail address and
	// phone number; RetentionEvery how often the job looks.
	RetentionDays  int
	RetentionEvery time.Duration

	// Staff configures the staff accounts and their pages.
	Staff Staff

	// EventKeepAlive is how often the call display's and ticket page's
	// event streams send a keep-alive comment (a proxy closes a silent
	// connection; a client that went away is noticed at the next one).
	EventKeepAlive time.Duration
}

// Staff configures staff logins: sessions, the lockout after failed
// logins, cookies, and the demo accounts of `server seed`.
type Staff struct {
	SessionIdle, SessionMax time.Duration
	// LockoutFailures failed logins of one account, or
	// LockoutAddressFailures from one client address, within
	// LockoutWindow lock further logins until the oldest leaves the window.
	LockoutFailures, LockoutAddressFailures int
	LockoutWindow                           time.Duration
	// SecureCookies marks cookies Secure on plain HTTP too (behind a
	// proxy that terminates TLS).
	SecureCookies bool
	// DemoAccounts makes `server seed` create (or reset) the demo staff
	// accounts and print their logins.
	DemoAccounts bool
}

// WaitingRoom configures the waiting room in front of releases and rushes
// (docs/fair-release.md).
type WaitingRoom struct {
	// Locations have a room in front of their releases; "*" for all.
	Locations []string
	// Releases are one-off release instants, added to the locations'
	// schedules.
	Releases []time.Time
	// Early is how long before a release the room opens; everyone who
	// comes in that time gets a random place.
	Early time.Duration
	// After is how long the room stays active after a release or after
	// the automatic trigger was last crossed.
	After time.Duration
	// Auto switches a room on at any location above this many hold
	// requests per second (across replicas); 0: never.
	Auto int
	// Rate and Burst: admissions per second, shared by all replicas.
	Rate  float64
	Burst int
	// Keep is how long a browser may stay away and keep its place.
	Keep time.Duration
	// TokenTTL is how long an admission is valid.
	TokenTTL time.Duration
	// HoldTarget pauses admission for a second after one with this many
	// admitted holds; 0: no target.
	HoldTarget int
	// Holds is how many holds one admission may place; 0: no limit.
	Holds int
	// PowBits prices a place in the room.
	PowBits int
}

// Mail configures the outgoing citizen mail. Mail is off when Addr is
// empty: booking events then wait in the outbox.
type Mail struct {
	Addr         string // SMTP host:port
	User         string // SMTP AUTH user; no auth when empty
	Password     string
	PasswordFile string // wins over Password
	TLS          string // none, starttls or tls
	From         string
	// BaseURL is the absolute base of the links in mails; PublicBaseURL
	// gives the effective one.
	BaseURL string
	// Every is how often the mail worker looks for due events.
	Every time.Duration
}

// PublicBaseURL is the base of the links in citizens' mails: PUBLIC_BASE_URL,
// else PUBLIC_URL, else http://HTTP_ADDR.
func (c Config) PublicBaseURL() string {
	if c.Mail.BaseURL != "" {
		return strings.TrimRight(c.Mail.BaseURL, "/")
	}
	return strings.TrimRight(c.PublicURL(), "/")
}

// SMTPPassword is the SMTP password, read from PasswordFile when that is
// set (trailing line breaks dropped).
func (m Mail) SMTPPassword() (string, error) {
	if m.PasswordFile == "" {
		return m.Password, nil
	}
	b, err := os.ReadFile(m.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("SMTP_PASSWORD_FILE: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// ManageKey keys the recomputable manage tokens of bookings; replicas
// derive the same key from the shared secret. Nil without a secret: the
// tokens are then random and mails cannot carry manage links.
func (c Config) ManageKey() []byte {
	if c.Secret == "" {
		return nil
	}
	return c.SubKey("manage token")
}

// Pay configures online payment and the treasury export.
type Pay struct {
	// Platform is the platform's profile: epay21, epaybl, pmpayment,
	// girocheckout or xbezahldienste (any other XBezahldienste
	// platform). Empty turns online payment off: fee-paying services are
	// then booked without payment (a development setup; a city always
	// sets it).
	Platform string
	// Interface is the wire: soap (epay21's own) or xbezahldienste;
	// empty takes the profile's (soap for epay21, XBezahldienste for the
	// others).
	Interface string
	// Auth is how the platform authenticates us: basic, oauth2, tls or
	// none; empty takes the profile's.
	Auth                string
	URL                 string // SOAP endpoint (epay21) or REST base URL (xbezahldienste)
	User, Password      string
	PasswordFile        string
	OAuthTokenURL       string
	OAuthClientID       string
	OAuthClientSecret   string
	OAuthSecretFile     string
	OAuthScopes         []string
	TLSCertFile         string
	TLSKeyFile          string
	TLSP12File          string
	TLSP12Password      string
	TLSP12PasswordFile  string
	CAFile              string
	MandantDesc         string // epay21 OP/MandantDesc, shown on the pay page
	App                 string // epay21 OP/App
	GetQrCode           bool   // epay21 GetQrCode
	SimulatorRefunds    bool   // send refunds to the simulator's extension
	HealthEvery         time.Duration
	Mandant             string // epay21 Mandant, also the default XBezahldienste endpoint id
	Originator          string // XBezahldienste originator id
	EndPoint            string
	Timeout             time.Duration
	LateGrace           time.Duration
	PublicURL           string
	NotifySecret        string
	KassenzeichenPrefix string
	FreeCancelBefore    time.Duration
	PollInterval        time.Duration
	MaxPollInterval     time.Duration
	WorkerEvery         time.Duration
	ExportDir           string
	TreasuryURL         string
	TreasuryMaxAttempts int
	AccountingFile      string
	// PayoutAccount is the city's account the platform pays out to (IBAN
	// or the bank's account id); only its booked entries are matched.
	PayoutAccount string
}

// Profile is what a named platform profile implies.
type Profile struct {
	Interface string // soap or xbezahldienste
	Auth      string // basic, oauth2, tls or none
}

// Profiles are the platforms a city can name in PAYMENT_PLATFORM, with
// their wire and authentication as public sources show them
// (docs/payment-platform.md).
var Profiles = map[string]Profile{
	"epay21":         {Interface: "soap", Auth: "basic"},
	"epaybl":         {Interface: "xbezahldienste", Auth: "tls"},
	"pmpayment":      {Interface: "xbezahldienste", Auth: "oauth2"},
	"girocheckout":   {Interface: "xbezahldienste", Auth: "oauth2"},
	"xbezahldienste": {Interface: "xbezahldienste", Auth: "basic"},
}

// Wire is the interface in use: PAYMENT_INTERFACE, else the profile's.
func (p Pay) Wire() string {
	if p.Interface != "" {
		return p.Interface
	}
	return Profiles[p.Platform].Interface
}

// AuthMode is the authentication in use: PAYMENT_AUTH, else the
// profile's.
func (p Pay) AuthMode() string {
	if p.Auth != "" {
		return p.Auth
	}
	return Profiles[p.Platform].Auth
}

// Secrets reads the password, the OAuth2 client secret and the PKCS#12
// password, each from its *_FILE when that is set (trailing line breaks
// dropped).
func (p Pay) Secrets() (password, oauthSecret, p12Password string, err error) {
	read := func(value, file, name string) (string, error) {
		if file == "" {
			return value, nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if password, err = read(p.Password, p.PasswordFile, "PAYMENT_PASSWORD_FILE"); err != nil {
		return
	}
	if oauthSecret, err = read(p.OAuthClientSecret, p.OAuthSecretFile, "PAYMENT_OAUTH_CLIENT_SECRET_FILE"); err != nil {
		return
	}
	p12Password, err = read(p.TLSP12Password, p.TLSP12PasswordFile, "PAYMENT_TLS_P12_PASSWORD_FILE")
	return
}

// EndPointID is the XBezahldienste endpoint id: the configured one, or the
// Mandant.
func (p Pay) EndPointID() string {
	if p.EndPoint != "" {
		return p.EndPoint
	}
	return p.Mandant
}

// PublicURL is where citizens reach this server.
func (c Config) PublicURL() string {
	if c.Pay.PublicURL != "" {
		return c.Pay.PublicURL
	}
	return "http://" + c.HTTPAddr
}

// SubKey derives the key for one use from the shared secret, so a key
// that leaks from one use does not open the others.
func (c Config) SubKey(use string) []byte {
	m := hmac.New(sha256.New, []byte(c.Secret))
	m.Write([]byte(use))
	return m.Sum(nil)
}

// Load reads the configuration from args (flags) and the environment
// through lookup (os.LookupEnv, or a map in tests). It returns
// flag.ErrHelp after printing the usage for -h.
func Load(args []string, lookup func(string) (string, bool)) (Config, error) {
	var c Config
	s := config.NewSet("server")
	s.String(&c.HTTPAddr, "http", "HTTP_ADDR", "127.0.0.1:8080", "listen address")
	s.String(&c.DatabaseURL, "db", "DATABASE_URL", "postgres://termin@127.0.0.1:5432/termin?sslmode=disable", "PostgreSQL URL")
	s.List(&c.RedisAddrs, "redis", "REDIS_ADDR", []string{"127.0.0.1:6379"}, "Redis address; several, comma-separated, mean a Redis Cluster")
	s.Duration(&c.HoldTTL, "hold-ttl", "HOLD_TTL", 10*time.Minute, "how long an unconfirmed hold lives")
	s.String(&c.CityFile, "city", "CITY_FILE", "", "city file for seed; the built-in demo city when empty")
	s.Int(&c.WarmDays, "warm-days", "WARM_DAYS", 14, "days ahead loaded into Redis at start")
	s.LogLevel(&c.LogLevel, "log-level", "LOG_LEVEL", slog.LevelInfo, "debug, info, warn or error")
	s.Func("log-format", "LOG_FORMAT", "json", "json (one object per line) or text", func(v string) error {
		if v != "json" && v != "text" {
			return fmt.Errorf("want json or text")
		}
		c.LogFormat = v
		return nil
	})
	s.Zone(&c.Zone, "timezone", "TIMEZONE", "Europe/Berlin", "the city's time zone, in which treasury value and booking dates are counted")
	s.String(&c.AdminAPIKey, "admin-api-key", "ADMIN_API_KEY", "", "bearer key for staff, admin and finance endpoints; empty closes them")
	s.Duration(&c.CheckInEarly, "checkin-early", "CHECKIN_EARLY", 30*time.Minute, "how long before an appointment the kiosk checks it in")
	s.Duration(&c.CheckInLate, "checkin-late", "CHECKIN_LATE", 15*time.Minute, "how long after an appointment's start the kiosk still checks it in")
	s.Duration(&c.EventKeepAlive, "event-keepalive", "EVENT_KEEPALIVE", 15*time.Second, "how often the live pages' event streams send a keep-alive comment")
	s.Duration(&c.GateEarly, "gate-early", "GATE_EARLY", 15*time.Minute, "how long before its slot a ticket admits")
	s.Duration(&c.GateLate, "gate-late", "GATE_LATE", 30*time.Minute, "how long after its slot ends a ticket still admits")
	s.String(&c.PprofAddr, "pprof", "PPROF_ADDR", "", "serve net/http/pprof on this address; off when empty")
	s.String(&c.MetricsAddr, "metrics", "METRICS_ADDR", "", "serve Prometheus metrics at /metrics on this address (not the public one); off when empty")
	s.String(&c.Secret, "secret-key", "SECRET_KEY", "", "secret shared by all replicas: keys proof-of-work challenges and the hashes of client and e-mail addresses")
	s.Float(&c.RateLimit, "rate-limit", "RATE_LIMIT", 1, "holds and bookings per second per client in the long run; 0 switches the limit off")
	s.Int(&c.RateBurst, "rate-burst", "RATE_BURST", 20, "holds and bookings a client may make at once")
	s.String(&c.ClientIPHeader, "client-ip-header", "CLIENT_IP_HEADER", "", "header a trusted proxy puts the client address in, e.g. X-Forwarded-For; its last entry is used; empty: the peer address")
	s.Int(&c.ContactLimitOffice, "contact-limit-office", "CONTACT_LIMIT_OFFICE", 2, "bookings one e-mail address may hold per office and day; 0: no limit")
	s.Int(&c.ContactLimitPool, "contact-limit-pool", "CONTACT_LIMIT_POOL", 4, "bookings one e-mail address may hold per pool and day; 0: no limit")
	s.Duration(&c.AvailabilitySnapshot, "availability-snapshot", "AVAILABILITY_SNAPSHOT", 250*time.Millisecond, "how long availability is served from a process's snapshot of a location-day before its version is checked in Redis (the staleness bound, at most 1s); negative: every read runs the bitmap script")
	s.Bool(&c.OneHold, "one-hold", "ONE_HOLD", true, "one live hold per browser and location (the pages' browser cookie, also on the API); a new hold replaces the last")
	s.Bool(&c.OneHoldAPI, "one-hold-api", "ONE_HOLD_API", false, "also one live hold per client address and location on the API for clients without the browser cookie; off by default, as clients behind one address (a carrier's NAT, a proxy) would replace each other's holds")
	s.Duration(&c.QuickRelease, "quick-release", "QUICK_RELEASE", 30*time.Second, "a hold released or replaced sooner than this after it was placed counts as a quick release")
	s.Float(&c.QuickReleasePerMinute, "quick-release-per-minute", "QUICK_RELEASE_PER_MINUTE", 2, "quick releases a client may make per minute in the long run; 0 (or -rate-limit 0): unlimited")
	s.Int(&c.QuickReleaseBurst, "quick-release-burst", "QUICK_RELEASE_BURST", 3, "quick releases a client may make at once")
	s.List(&c.PowLocations, "pow-locations", "POW_LOCATIONS", nil, "locations whose holds always need a proof of work, comma-separated, or * for all")
	s.Int(&c.PowAuto, "pow-auto", "POW_AUTO", 300, "hold requests per minute and location-day above which a proof of work is needed; 0: never automatically")
	s.Int(&c.PowBits, "pow-bits", "POW_BITS", 16, "proof-of-work difficulty in leading zero bits")
	s.Duration(&c.PowTTL, "pow-ttl", "POW_TTL", 5*time.Minute, "how long a challenge can be used")

	w := &c.Room
	s.List(&w.Locations, "waiting-room-locations", "WAITING_ROOM_LOCATIONS", nil, "locations with a waiting room in front of their releases, comma-separated, or * for all")
	s.Func("waiting-room-releases", "WAITING_ROOM_RELEASES", "", "one-off release instants (RFC 3339, comma-separated) the waiting room stands in front of, besides the locations' schedules", func(v string) error {
		w.Releases = nil
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339, f)
			if err != nil {
				return fmt.Errorf("%q is not an RFC 3339 time", f)
			}
			w.Releases = append(w.Releases, t)
		}
		return nil
	})
	s.Duration(&w.Early, "waiting-room-early", "WAITING_ROOM_EARLY", 30*time.Minute, "how long before a release the waiting room opens; who comes in that time gets a random place")
	s.Duration(&w.After, "waiting-room-after", "WAITING_ROOM_AFTER", 30*time.Minute, "how long the waiting room stays active after a release, or after the automatic trigger was last crossed")
	s.Int(&w.Auto, "waiting-room-auto", "WAITING_ROOM_AUTO", 0, "hold requests per second at a location (all replicas) above which a waiting room switches on by itself; 0: never")
	s.Float(&w.Rate, "waiting-room-rate", "WAITING_ROOM_RATE", 20, "admissions per second from a waiting room, shared by all replicas")
	s.Int(&w.Burst, "waiting-room-burst", "WAITING_ROOM_BURST", 20, "admissions a waiting room may let through at once")
	s.Duration(&w.Keep, "waiting-room-keep", "WAITING_ROOM_KEEP", 5*time.Minute, "how long a browser may stay away from the waiting room and keep its place")
	s.Duration(&w.TokenTTL, "waiting-room-token-ttl", "WAITING_ROOM_TOKEN_TTL", 10*time.Minute, "how long an admission from the waiting room is valid")
	s.Int(&w.HoldTarget, "waiting-room-hold-target", "WAITING_ROOM_HOLD_TARGET", 0, "holds per second (all replicas) that admission keeps under: it pauses for a second after one that reached it; 0: only the rate")
	s.Int(&w.Holds, "waiting-room-holds", "WAITING_ROOM_HOLDS", 2, "holds one admission may place; 0: no limit")
	s.Int(&w.PowBits, "waiting-room-pow-bits", "WAITING_ROOM_POW_BITS", 18, "proof-of-work difficulty of a place in the waiting room, in leading zero bits")

	p := &c.Pay
	s.String(&p.Platform, "payment-platform", "PAYMENT_PLATFORM", "", "platform profile: epay21, epaybl, pmpayment, girocheckout or xbezahldienste; empty turns online payment off")
	s.String(&p.Interface, "payment-interface", "PAYMENT_INTERFACE", "", "soap (epay21 only) or xbezahldienste; empty: the profile's")
	s.String(&p.Auth, "payment-auth", "PAYMENT_AUTH", "", "basic, oauth2, tls or none; empty: the profile's (epay21 basic, epaybl tls, pmpayment and girocheckout oauth2)")
	s.String(&p.URL, "payment-url", "PAYMENT_URL", "", "platform endpoint: epay21 SOAP URL (…/epay21/service/v11/ePay21Service.asmx) or XBezahldienste base URL (the part before /paymenttransaction)")
	s.String(&p.User, "payment-user", "PAYMENT_USER", "", "platform basic-auth user")
	s.String(&p.Password, "payment-password", "PAYMENT_PASSWORD", "", "platform basic-auth password")
	s.String(&p.PasswordFile, "payment-password-file", "PAYMENT_PASSWORD_FILE", "", "file holding the basic-auth password (wins over PAYMENT_PASSWORD)")
	s.String(&p.OAuthTokenURL, "payment-oauth-token-url", "PAYMENT_OAUTH_TOKEN_URL", "", "OAuth2 token endpoint (client credentials grant)")
	s.String(&p.OAuthClientID, "payment-oauth-client-id", "PAYMENT_OAUTH_CLIENT_ID", "", "OAuth2 client id")
	s.String(&p.OAuthClientSecret, "payment-oauth-client-secret", "PAYMENT_OAUTH_CLIENT_SECRET", "", "OAuth2 client secret")
	s.String(&p.OAuthSecretFile, "payment-oauth-client-secret-file", "PAYMENT_OAUTH_CLIENT_SECRET_FILE", "", "file holding the OAuth2 client secret (wins over PAYMENT_OAUTH_CLIENT_SECRET)")
	s.List(&p.OAuthScopes, "payment-oauth-scopes", "PAYMENT_OAUTH_SCOPES", nil, "OAuth2 scopes, comma-separated")
	s.String(&p.TLSCertFile, "payment-tls-cert", "PAYMENT_TLS_CERT", "", "TLS client certificate (PEM) for the platform")
	s.String(&p.TLSKeyFile, "payment-tls-key", "PAYMENT_TLS_KEY", "", "key of the TLS client certificate (PEM)")
	s.String(&p.TLSP12File, "payment-tls-p12", "PAYMENT_TLS_P12", "", "TLS client certificate and key as PKCS#12 (.p12/.pfx), instead of PEM")
	s.String(&p.TLSP12Password, "payment-tls-p12-password", "PAYMENT_TLS_P12_PASSWORD", "", "password of the PKCS#12 file")
	s.String(&p.TLSP12PasswordFile, "payment-tls-p12-password-file", "PAYMENT_TLS_P12_PASSWORD_FILE", "", "file holding the PKCS#12 password (wins over PAYMENT_TLS_P12_PASSWORD)")
	s.String(&p.CAFile, "payment-ca-file", "PAYMENT_CA_FILE", "", "PEM bundle the platform's server certificate is checked against; the system's roots when empty")
	s.String(&p.MandantDesc, "payment-mandant-desc", "PAYMENT_MANDANT_DESC", "", "epay21: name of the municipality shown on the pay page")
	s.String(&p.App, "payment-app", "PAYMENT_APP", "termin", "epay21: our application as registered at the platform")
	s.Bool(&p.GetQrCode, "payment-get-qr-code", "PAYMENT_GET_QR_CODE", false, "epay21: ask InitPayment for a QR code of the pay page")
	s.Bool(&p.SimulatorRefunds, "payment-simulator-refunds", "PAYMENT_SIMULATOR_REFUNDS", false, "send refunds to the simulator's refund extension (no real platform has it); off: refunds go to the finance work list")
	s.Duration(&p.HealthEvery, "payment-health-every", "PAYMENT_HEALTH_EVERY", 30*time.Second, "how long a platform health answer is kept for /readyz")
	s.String(&p.Mandant, "payment-mandant", "PAYMENT_MANDANT", "07111000", "8-digit municipal key")
	s.String(&p.Originator, "payment-originator", "PAYMENT_ORIGINATOR", "termin", "XBezahldienste originator id")
	s.String(&p.EndPoint, "payment-endpoint", "PAYMENT_ENDPOINT", "", "XBezahldienste endpoint id; the Mandant when empty")
	s.Duration(&p.Timeout, "payment-timeout", "PAYMENT_TIMEOUT", 30*time.Minute, "how long a booking waits for its payment")
	s.Duration(&p.LateGrace, "payment-late-grace", "PAYMENT_LATE_GRACE", 30*time.Minute, "how long after the timeout late payments are looked for")
	s.String(&p.PublicURL, "public-url", "PUBLIC_URL", "", "URL citizens reach this server at; http://HTTP_ADDR when empty")
	s.String(&p.NotifySecret, "notify-secret", "NOTIFY_SECRET", "", "HMAC secret of pushed payment notifications; empty refuses pushes")
	s.String(&p.KassenzeichenPrefix, "kassenzeichen-prefix", "KASSENZEICHEN_PREFIX", "TB", "prefix of Kassenzeichen")
	s.Duration(&p.FreeCancelBefore, "free-cancel-before", "FREE_CANCEL_BEFORE", 24*time.Hour, "paid bookings cancelled at least this long before start are refunded")
	s.Duration(&p.PollInterval, "payment-poll", "PAYMENT_POLL", 15*time.Second, "first gap between status queries of an open payment")
	s.Duration(&p.MaxPollInterval, "payment-poll-max", "PAYMENT_POLL_MAX", 5*time.Minute, "longest gap between status queries")
	s.Duration(&p.WorkerEvery, "payment-worker-every", "PAYMENT_WORKER_EVERY", 5*time.Second, "how often the sweeper and outbox worker run")
	s.String(&p.ExportDir, "export-dir", "EXPORT_DIR", "", "directory for the finance system's import files; empty holds postings back")
	s.String(&p.TreasuryURL, "treasury-url", "TREASURY_URL", "", "HTTP endpoint receiving each posting; empty disables it")
	s.Int(&p.TreasuryMaxAttempts, "treasury-max-attempts", "TREASURY_MAX_ATTEMPTS", 8, "deliveries before a posting becomes a dead letter")
	s.String(&p.AccountingFile, "accounting", "ACCOUNTING_FILE", "", "accounting file for seed; the demo accounting when empty")
	s.String(&p.PayoutAccount, "payout-account", "PAYOUT_ACCOUNT", "", "IBAN (or bank account id) the platform pays out to; reconciliation matches only its booked entries; empty: every account in a statement")

	s.Duration(&c.ReminderBefore, "reminder-before", "REMINDER_BEFORE", 24*time.Hour, "how long before an appointment the reminder mail goes out; 0 sends none")
	s.Int(&c.RetentionDays, "retention-days", "RETENTION_DAYS", 30, "days after its appointment or cancellation that a booking's personal data is deleted")
	s.Duration(&c.RetentionEvery, "retention-every", "RETENTION_EVERY", time.Hour, "how often the data-protection job looks for bookings past their retention")
	s.Duration(&c.ActivationSweep, "activation-sweep", "ACTIVATION_SWEEP", 30*time.Second, "how often bookings not activated in time are released")

	st := &c.Staff
	s.Duration(&st.SessionIdle, "staff-session-idle", "STAFF_SESSION_IDLE", 2*time.Hour, "a staff login ends after this long without use")
	s.Duration(&st.SessionMax, "staff-session-max", "STAFF_SESSION_MAX", 12*time.Hour, "a staff login ends this long after it began")
	s.Int(&st.LockoutFailures, "staff-lockout-failures", "STAFF_LOCKOUT_FAILURES", 5, "failed logins of one account within the window that lock it; 0: no lockout per account")
	s.Int(&st.LockoutAddressFailures, "staff-lockout-address-failures", "STAFF_LOCKOUT_ADDRESS_FAILURES", 20, "failed logins from one client address within the window that lock it; 0: no lockout per address")
	s.Duration(&st.LockoutWindow, "staff-lockout-window", "STAFF_LOCKOUT_WINDOW", 15*time.Minute, "sliding window of the lockout after failed logins")
	s.Bool(&st.SecureCookies, "secure-cookies", "SECURE_COOKIES", false, "mark every cookie Secure also on plain HTTP, behind a proxy that terminates TLS")
	s.Bool(&st.DemoAccounts, "demo-accounts", "DEMO_ACCOUNTS", false, "seed: create the demo staff accounts (demo passwords, never in production) and print their logins")

	m := &c.Mail
	s.String(&m.Addr, "smtp-addr", "SMTP_ADDR", "", "SMTP server host:port; empty: no mail is sent")
	s.String(&m.User, "smtp-user", "SMTP_USER", "", "SMTP AUTH user (auth only when set)")
	s.String(&m.Password, "smtp-password", "SMTP_PASSWORD", "", "SMTP AUTH password")
	s.String(&m.PasswordFile, "smtp-password-file", "SMTP_PASSWORD_FILE", "", "file holding the SMTP password (wins over SMTP_PASSWORD)")
	s.String(&m.TLS, "smtp-tls", "SMTP_TLS", "starttls", "none, starttls or tls")
	s.String(&m.From, "mail-from", "MAIL_FROM", "termin <noreply@localhost>", "sender of citizen mails; its display name signs them")
	s.String(&m.BaseURL, "public-base-url", "PUBLIC_BASE_URL", "", "absolute base of links in mails; PUBLIC_URL, else http://HTTP_ADDR, when empty")
	s.Duration(&m.Every, "mail-every", "MAIL_EVERY", 5*time.Second, "how often the mail worker looks for due mails")

	if err := s.Parse(args, lookup); err != nil {
		return c, err
	}
	return c, c.validate()
}

// validate checks ranges that parsing alone cannot.
func (c Config) validate() error {
	switch {
	case c.Staff.SessionIdle <= 0 || c.Staff.SessionMax <= 0:
		return fmt.Errorf("STAFF_SESSION_IDLE and STAFF_SESSION_MAX must be positive")
	case c.Staff.LockoutFailures < 0 || c.Staff.LockoutAddressFailures < 0 || c.Staff.LockoutWindow <= 0:
		return fmt.Errorf("STAFF_LOCKOUT_FAILURES and STAFF_LOCKOUT_ADDRESS_FAILURES must not be negative, STAFF_LOCKOUT_WINDOW must be positive")
	case len(c.RedisAddrs) == 0:
		return fmt.Errorf("REDIS_ADDR (-redis) names no address")
	case c.PowBits < 1 || c.PowBits > fairness.MaxDifficulty:
		return fmt.Errorf("POW_BITS (-pow-bits) must be between 1 and %d, not %d", fairness.MaxDifficulty, c.PowBits)
	case c.RateLimit < 0:
		return fmt.Errorf("RATE_LIMIT (-rate-limit) must not be negative")
	case c.RateBurst < 1:
		return fmt.Errorf("RATE_BURST (-rate-burst) must be at least 1")
	case c.WarmDays < 0:
		return fmt.Errorf("WARM_DAYS (-warm-days) must not be negative")
	case c.HoldTTL <= 0:
		return fmt.Errorf("HOLD_TTL (-hold-ttl) must be positive")
	case c.AvailabilitySnapshot > time.Second:
		return fmt.Errorf("AVAILABILITY_SNAPSHOT (-availability-snapshot) must be at most 1s, the documented staleness bound")
	case c.QuickReleasePerMinute < 0 || c.QuickReleaseBurst < 1:
		return fmt.Errorf("QUICK_RELEASE_PER_MINUTE must not be negative and QUICK_RELEASE_BURST must be at least 1")
	case c.Pay.WorkerEvery <= 0:
		return fmt.Errorf("PAYMENT_WORKER_EVERY (-payment-worker-every) must be positive")
	case c.Pay.TreasuryMaxAttempts < 1:
		return fmt.Errorf("TREASURY_MAX_ATTEMPTS (-treasury-max-attempts) must be at least 1")
	case c.ContactLimitOffice < 0 || c.ContactLimitPool < 0:
		return fmt.Errorf("CONTACT_LIMIT_OFFICE and CONTACT_LIMIT_POOL must not be negative")
	case c.ReminderBefore < 0:
		return fmt.Errorf("REMINDER_BEFORE (-reminder-before) must not be negative")
	case c.RetentionDays < 1:
		return fmt.Errorf("RETENTION_DAYS (-retention-days) must be at least 1")
	case c.RetentionEvery <= 0:
		return fmt.Errorf("RETENTION_EVERY (-retention-every) must be positive")
	case c.ActivationSweep <= 0:
		return fmt.Errorf("ACTIVATION_SWEEP (-activation-sweep) must be positive")
	case c.Mail.Every <= 0:
		return fmt.Errorf("MAIL_EVERY (-mail-every) must be positive")
	case c.Room.PowBits < 1 || c.Room.PowBits > fairness.MaxDifficulty:
		return fmt.Errorf("WAITING_ROOM_POW_BITS (-waiting-room-pow-bits) must be between 1 and %d, not %d", fairness.MaxDifficulty, c.Room.PowBits)
	case c.Room.Rate <= 0:
		return fmt.Errorf("WAITING_ROOM_RATE (-waiting-room-rate) must be positive")
	case c.Room.Burst < 1:
		return fmt.Errorf("WAITING_ROOM_BURST (-waiting-room-burst) must be at least 1")
	case c.Room.Early < 0 || c.Room.After < 0:
		return fmt.Errorf("WAITING_ROOM_EARLY and WAITING_ROOM_AFTER must not be negative")
	case c.Room.Keep <= 0 || c.Room.TokenTTL <= 0:
		return fmt.Errorf("WAITING_ROOM_KEEP and WAITING_ROOM_TOKEN_TTL must be positive")
	case c.Room.Auto < 0 || c.Room.Holds < 0 || c.Room.HoldTarget < 0:
		return fmt.Errorf("WAITING_ROOM_AUTO, WAITING_ROOM_HOLDS and WAITING_ROOM_HOLD_TARGET must not be negative")
	}
	switch c.Mail.TLS {
	case "none", "starttls", "tls":
	default:
		return fmt.Errorf("SMTP_TLS (-smtp-tls) %q: want none, starttls or tls", c.Mail.TLS)
	}
	if c.Mail.BaseURL != "" {
		u, err := url.Parse(c.Mail.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("PUBLIC_BASE_URL (-public-base-url) %q: want an absolute http(s) URL", c.Mail.BaseURL)
		}
	}
	return c.Pay.validate()
}

func (p Pay) validate() error {
	if p.Platform == "" {
		return nil
	}
	if _, ok := Profiles[p.Platform]; !ok {
		return fmt.Errorf("PAYMENT_PLATFORM (-payment-platform) %q: want epay21, epaybl, pmpayment, girocheckout or xbezahldienste", p.Platform)
	}
	switch p.Wire() {
	case "soap":
		if p.Platform != "epay21" {
			return fmt.Errorf("PAYMENT_INTERFACE (-payment-interface) soap is epay21's; %s speaks xbezahldienste", p.Platform)
		}
	case "xbezahldienste":
	default:
		return fmt.Errorf("PAYMENT_INTERFACE (-payment-interface) %q: want soap or xbezahldienste", p.Interface)
	}
	switch p.AuthMode() {
	case "none", "basic":
	case "oauth2":
		if p.OAuthTokenURL == "" || p.OAuthClientID == "" || (p.OAuthClientSecret == "" && p.OAuthSecretFile == "") {
			return fmt.Errorf("PAYMENT_AUTH oauth2 needs PAYMENT_OAUTH_TOKEN_URL, PAYMENT_OAUTH_CLIENT_ID and PAYMENT_OAUTH_CLIENT_SECRET (or _FILE)")
		}
	case "tls":
		if (p.TLSCertFile == "" || p.TLSKeyFile == "") && p.TLSP12File == "" {
			return fmt.Errorf("PAYMENT_AUTH tls needs PAYMENT_TLS_CERT and PAYMENT_TLS_KEY, or PAYMENT_TLS_P12")
		}
	default:
		return fmt.Errorf("PAYMENT_AUTH (-payment-auth) %q: want basic, oauth2, tls or none", p.Auth)
	}
	if p.Wire() == "soap" && p.AuthMode() != "basic" && p.AuthMode() != "none" {
		return fmt.Errorf("PAYMENT_AUTH %s: epay21's SOAP interface takes basic auth", p.AuthMode())
	}
	return nil
}
