package config

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HoldTTL != 10*time.Minute || c.WarmDays != 14 || c.LogLevel != slog.LevelInfo || c.Zone.String() != "Europe/Berlin" ||
		len(c.RedisAddrs) != 1 || c.Pay.TreasuryMaxAttempts != 8 || c.PublicURL() != "http://127.0.0.1:8080" || c.Pay.EndPointID() != "07111000" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestValuesFromEnvironmentAndFlags(t *testing.T) {
	c, err := Load([]string{"-hold-ttl", "5m", "-warm-days", "3"}, lookup(map[string]string{
		"HOLD_TTL": "7m", "WARM_DAYS": "2", "SECRET_KEY": "s3cret", "TREASURY_MAX_ATTEMPTS": "2",
		"REDIS_ADDR": "a:1, b:2,,c:3", "LOG_LEVEL": "debug", "POW_LOCATIONS": "stadtbad",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HoldTTL != 5*time.Minute || c.WarmDays != 3 || c.Secret != "s3cret" || c.Pay.TreasuryMaxAttempts != 2 ||
		strings.Join(c.RedisAddrs, " ") != "a:1 b:2 c:3" || c.LogLevel != slog.LevelDebug || len(c.PowLocations) != 1 {
		t.Fatalf("got %+v", c)
	}
}

func TestMalformedValuesStopStartUp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"duration without unit", nil, map[string]string{"HOLD_TTL": "10"}, "HOLD_TTL"},
		{"duration flag without unit", []string{"-payment-poll", "15"}, nil, "-payment-poll"},
		{"not a number", nil, map[string]string{"RATE_BURST": "many"}, "RATE_BURST"},
		{"not a decimal", nil, map[string]string{"RATE_LIMIT": "fast"}, "RATE_LIMIT"},
		{"unknown log level", nil, map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"unknown time zone", nil, map[string]string{"TIMEZONE": "Mars/Olympus"}, "TIMEZONE"},
		{"pow bits out of range", nil, map[string]string{"POW_BITS": "0"}, "POW_BITS"},
		{"negative rate", nil, map[string]string{"RATE_LIMIT": "-1"}, "RATE_LIMIT"},
		{"unknown platform", nil, map[string]string{"PAYMENT_PLATFORM": "paypal"}, "PAYMENT_PLATFORM"},
		{"treasury attempts not a number", nil, map[string]string{"TREASURY_MAX_ATTEMPTS": "x"}, "TREASURY_MAX_ATTEMPTS"},
		{"warm days not a number", nil, map[string]string{"WARM_DAYS": "two"}, "WARM_DAYS"},
		{"unknown smtp tls", nil, map[string]string{"SMTP_TLS": "ssl"}, "SMTP_TLS"},
		{"relative base url", nil, map[string]string{"PUBLIC_BASE_URL": "termine.example"}, "PUBLIC_BASE_URL"},
		{"negative reminder", nil, map[string]string{"REMINDER_BEFORE": "-1h"}, "REMINDER_BEFORE"},
		{"zero activation sweep", nil, map[string]string{"ACTIVATION_SWEEP": "0s"}, "ACTIVATION_SWEEP"},
		{"release not a time", nil, map[string]string{"WAITING_ROOM_RELEASES": "2030-03-04T08:00:00Z,tomorrow"}, "WAITING_ROOM_RELEASES"},
		{"room pow bits out of range", []string{"-waiting-room-pow-bits", "40"}, nil, "WAITING_ROOM_POW_BITS"},
		{"zero admission rate", nil, map[string]string{"WAITING_ROOM_RATE": "0"}, "WAITING_ROOM_RATE"},
		{"room keep without unit", nil, map[string]string{"WAITING_ROOM_KEEP": "5"}, "WAITING_ROOM_KEEP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, lookup(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func TestSubKeysDiffer(t *testing.T) {
	c := Config{Secret: "x"}
	if string(c.SubKey("pow")) == string(c.SubKey("client")) {
		t.Fatal("sub-keys of two uses are equal")
	}
}

func TestMailOptions(t *testing.T) {
	pw := t.TempDir() + "/smtp-password"
	if err := os.WriteFile(pw, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      map[string]string
		base, pw string
	}{
		{"defaults", nil, "http://127.0.0.1:8080", ""},
		{"public url", map[string]string{"PUBLIC_URL": "https://termine.example/"}, "https://termine.example", ""},
		{"base url wins", map[string]string{"PUBLIC_URL": "https://a.example", "PUBLIC_BASE_URL": "https://b.example/"}, "https://b.example", ""},
		{"password", map[string]string{"SMTP_PASSWORD": "pw"}, "http://127.0.0.1:8080", "pw"},
		{"password file wins", map[string]string{"SMTP_PASSWORD": "pw", "SMTP_PASSWORD_FILE": pw}, "http://127.0.0.1:8080", "from-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(nil, lookup(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Mail.SMTPPassword()
			if err != nil || got != tt.pw || c.PublicBaseURL() != tt.base {
				t.Fatalf("base %q password %q %v", c.PublicBaseURL(), got, err)
			}
			if c.ReminderBefore != 24*time.Hour || c.Mail.TLS != "starttls" || c.Mail.Addr != "" {
				t.Fatalf("mail defaults: %+v", c.Mail)
			}
		})
	}
}

func TestManageKey(t *testing.T) {
	if (Config{}).ManageKey() != nil {
		t.Fatal("a manage key without a secret would be public")
	}
	c := Config{Secret: "x"}
	if len(c.ManageKey()) != 32 || string(c.ManageKey()) == string(c.SubKey("pow")) {
		t.Fatal("manage key is not its own sub-key")
	}
}

func TestWaitingRoomOptions(t *testing.T) {
	c, err := Load([]string{"-waiting-room-locations", "stadtbad,buergeramt"}, lookup(map[string]string{
		"WAITING_ROOM_RELEASES": "2030-03-04T08:00:00+01:00, 2030-04-01T08:00:00+02:00", "WAITING_ROOM_RATE": "2.5"}))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Room
	if len(w.Locations) != 2 || len(w.Releases) != 2 || !w.Releases[0].Equal(time.Date(2030, 3, 4, 7, 0, 0, 0, time.UTC)) || w.Rate != 2.5 ||
		w.Early != 30*time.Minute || w.Keep != 5*time.Minute || w.Holds != 2 || w.PowBits != 18 || w.Auto != 0 {
		t.Fatalf("waiting room %+v", w)
	}
}
