package agent

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/kiosk/serialdev"
)

// Config is everything the agent needs. LoadConfig fills it from flags,
// environment variables (KIOSK_ plus the flag name in upper case with
// underscores, e.g. KIOSK_PRINTER_PORT) and an optional JSON file whose
// keys are the flag names; flags win over the environment, which wins
// over the file.
type Config struct {
	Server     string // base URL of the termin server
	Token      string // device token; read from the state dir when empty
	EnrollCode string // one-time code exchanged for a token on first start
	StateDir   string
	Mode       string // counter or gate; empty means the server's device mode
	Listen     string // local UI address
	LogLevel   string

	Printer Port
	Scanner Port
	Relay   Port

	PrinterWidthMM int
	// TicketQR, if set, is printed as a QR code on queue tickets with
	// {number} and {location} replaced.
	TicketQR        string
	PrintErrorSlips bool

	ScannerSuffix string
	ScannerAIM    bool
	// ScannerDebounce drops a repeat of the same code within this window.
	ScannerDebounce time.Duration

	RelayOn, RelayOff []byte // command relay board strings
	RelayLine         string // dtr or rts: a relay on a modem line
	RelayActiveLow    bool
	RelayPulse        time.Duration

	// GateEarly and GateLate widen a ticket's slot; zero means the
	// server's values from /kiosk/config.
	GateEarly, GateLate time.Duration
	// GateOnlineWait is how long a gate waits for the server's word on a
	// scan before admitting on the offline check alone; zero admits at
	// once and redeems in the background.
	GateOnlineWait time.Duration

	Heartbeat     time.Duration
	StatusPoll    time.Duration
	UploadBackoff time.Duration // first retry delay of the redemption uploader
	ResultScreen  time.Duration // how long a result stays on the counter screen

	// Library-only settings, for tests and the simulated kiosk.

	// Enumerate replaces the system's USB port list.
	Enumerate serialdev.Enumerator
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RetryInterval is how often a missing serial device is looked for.
	RetryInterval time.Duration
	// WrapUI, if set, wraps the local page's handler, e.g. to add the
	// simulated kiosk's controls.
	WrapUI func(http.Handler) http.Handler
}

// Port selects one serial device.
type Port struct {
	Name string           // e.g. /dev/termin-printer
	USB  *serialdev.USBID // discovery by VID:PID[:SERIAL]
	Baud int
}

// Configured reports whether a port or USB ID is set.
func (p Port) Configured() bool { return p.Name != "" || p.USB != nil }

// SerialConfig is the serialdev configuration of p.
func (p Port) SerialConfig(enum serialdev.Enumerator) serialdev.Config {
	return serialdev.Config{Name: p.Name, USB: p.USB, Enumerate: enum, Baud: p.Baud}
}

// DefaultStateDir is where the agent keeps its token and caches: systemd's
// StateDirectory when set, else /var/lib/termin-kiosk, and on Windows
// %ProgramData%\termin-kiosk.
func DefaultStateDir() string {
	if d := os.Getenv("STATE_DIRECTORY"); d != "" {
		return strings.Split(d, ":")[0]
	}
	if runtime.GOOS == "windows" {
		base := os.Getenv("ProgramData")
		if base == "" {
			base = `C:\ProgramData`
		}
		return filepath.Join(base, "termin-kiosk")
	}
	return "/var/lib/termin-kiosk"
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		Server:          "http://127.0.0.1:8080",
		StateDir:        DefaultStateDir(),
		Listen:          "127.0.0.1:8090",
		LogLevel:        "info",
		Printer:         Port{Baud: 9600},
		Scanner:         Port{Baud: 9600},
		Relay:           Port{Baud: 9600},
		PrinterWidthMM:  80,
		RelayOn:         []byte{0xA0, 0x01, 0x01, 0xA2},
		RelayOff:        []byte{0xA0, 0x01, 0x00, 0xA1},
		RelayPulse:      200 * time.Millisecond,
		GateOnlineWait:  150 * time.Millisecond,
		Heartbeat:       30 * time.Second,
		StatusPoll:      5 * time.Second,
		UploadBackoff:   time.Second,
		ResultScreen:    20 * time.Second,
		RetryInterval:   time.Second,
		ScannerDebounce: 2 * time.Second,
	}
}

// LoadConfig reads the configuration from args (without the program
// name), the environment (getenv, usually os.Getenv) and the JSON file
// named by -config or KIOSK_CONFIG.
func LoadConfig(args []string, getenv func(string) string) (Config, error) {
	cfg := Defaults()
	fs := flag.NewFlagSet("termin-kiosk", flag.ContinueOnError)
	configFile := fs.String("config", "", "JSON configuration file, keys are flag names (KIOSK_CONFIG)")
	fs.StringVar(&cfg.Server, "server", cfg.Server, "termin server base URL; https, or http on loopback only")
	fs.StringVar(&cfg.Token, "token", "", "device token (default: the one stored in the state directory)")
	fs.StringVar(&cfg.EnrollCode, "enroll", "", "enrollment code from the admin API, exchanged for a device token on first start")
	fs.StringVar(&cfg.StateDir, "state-dir", cfg.StateDir, "directory for the token, cached server config and gate redemptions")
	fs.StringVar(&cfg.Mode, "mode", "", "counter or gate (default: the mode the device was registered with)")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "address of the local kiosk page; empty disables it")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	portFlags(fs, "printer", &cfg.Printer)
	portFlags(fs, "scanner", &cfg.Scanner)
	portFlags(fs, "relay", &cfg.Relay)
	fs.IntVar(&cfg.PrinterWidthMM, "printer-width", cfg.PrinterWidthMM, "paper width in mm: 58 or 80")
	fs.StringVar(&cfg.TicketQR, "ticket-qr", "", "QR code printed on queue tickets, {number} and {location} replaced; empty prints none")
	fs.BoolVar(&cfg.PrintErrorSlips, "print-error-slips", false, "print a short slip when a check-in fails")
	fs.StringVar(&cfg.ScannerSuffix, "scanner-suffix", "", "extra code terminator besides CR and LF, e.g. a tab")
	fs.BoolVar(&cfg.ScannerAIM, "scanner-aim", false, "strip an AIM symbology prefix such as ]Q1")
	fs.DurationVar(&cfg.ScannerDebounce, "scanner-debounce", cfg.ScannerDebounce, "ignore a repeat of the same code within this window")
	fs.Var((*hexBytes)(&cfg.RelayOn), "relay-on", "hex command closing the relay on a serial relay board")
	fs.Var((*hexBytes)(&cfg.RelayOff), "relay-off", "hex command opening the relay")
	fs.StringVar(&cfg.RelayLine, "relay-line", "", "dtr or rts: the relay hangs on this modem line of the relay port instead")
	fs.BoolVar(&cfg.RelayActiveLow, "relay-active-low", false, "the modem-line relay closes when the line is cleared")
	fs.DurationVar(&cfg.RelayPulse, "relay-pulse", cfg.RelayPulse, "how long the relay closes for one passage")
	fs.DurationVar(&cfg.GateEarly, "gate-early", 0, "how long before its slot a ticket admits (default: the server's)")
	fs.DurationVar(&cfg.GateLate, "gate-late", 0, "how long after its slot a ticket admits (default: the server's)")
	fs.DurationVar(&cfg.GateOnlineWait, "gate-online-wait", cfg.GateOnlineWait, "how long the gate waits for the server before admitting on the offline check; 0 redeems in the background")
	fs.DurationVar(&cfg.Heartbeat, "heartbeat", cfg.Heartbeat, "heartbeat interval")
	fs.DurationVar(&cfg.StatusPoll, "status-poll", cfg.StatusPoll, "printer status poll interval")
	fs.DurationVar(&cfg.UploadBackoff, "upload-backoff", cfg.UploadBackoff, "first retry delay for uploading offline gate scans")
	fs.DurationVar(&cfg.ResultScreen, "result-screen", cfg.ResultScreen, "how long a ticket or error stays on the counter screen")

	// The file, then the environment, are applied as if they were flags;
	// the command line is parsed last and wins.
	path := getenv("KIOSK_CONFIG")
	for i, a := range args {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, "config="); ok {
			path = v
		} else if a == "config" && i+1 < len(args) {
			path = args[i+1]
		}
	}
	if path != "" {
		if err := applyFile(fs, path); err != nil {
			return cfg, err
		}
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = errors.Join(envErr, fmt.Errorf("%s: %w", EnvName(f.Name), err))
			}
		}
	})
	if envErr != nil {
		return cfg, envErr
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	_ = configFile // read above, before the other flags
	return cfg, cfg.Validate()
}

// EnvName is the environment variable of a flag.
func EnvName(flagName string) string {
	return "KIOSK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func applyFile(fs *flag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	for k, v := range m {
		if fs.Lookup(k) == nil || k == "config" {
			return fmt.Errorf("config file %s: unknown key %q", path, k)
		}
		s := fmt.Sprint(v)
		if f, ok := v.(float64); ok {
			s = fmt.Sprintf("%v", int64(f))
		}
		if err := fs.Set(k, s); err != nil {
			return fmt.Errorf("config file %s: %s: %w", path, k, err)
		}
	}
	return nil
}

func portFlags(fs *flag.FlagSet, name string, p *Port) {
	fs.StringVar(&p.Name, name+"-port", p.Name, name+" serial port, e.g. /dev/termin-"+name)
	fs.Func(name+"-usb", name+" USB ID VID:PID[:SERIAL] in hex, found again after a replug (instead of -"+name+"-port)", func(s string) error {
		if s == "" {
			p.USB = nil
			return nil
		}
		id, err := serialdev.ParseUSBID(s)
		if err != nil {
			return err
		}
		p.USB = &id
		return nil
	})
	fs.IntVar(&p.Baud, name+"-baud", p.Baud, name+" baud rate")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	u, err := url.Parse(c.Server)
	if err != nil || u.Host == "" {
		return fmt.Errorf("server %q: want a URL such as https://termin.example.de", c.Server)
	}
	c.Server = strings.TrimRight(c.Server, "/")
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("server %q: plain http is only allowed on localhost; use https", c.Server)
		}
	default:
		return fmt.Errorf("server %q: scheme must be https", c.Server)
	}
	switch c.Mode {
	case "", "counter", "gate":
	default:
		return fmt.Errorf("mode %q: want counter or gate", c.Mode)
	}
	switch c.RelayLine {
	case "", "dtr", "rts":
	default:
		return fmt.Errorf("relay-line %q: want dtr or rts", c.RelayLine)
	}
	if c.PrinterWidthMM != 58 && c.PrinterWidthMM != 80 {
		return fmt.Errorf("printer-width %d: want 58 or 80", c.PrinterWidthMM)
	}
	if c.StateDir == "" {
		return errors.New("state-dir must be set")
	}
	if c.Heartbeat <= 0 || c.StatusPoll <= 0 || c.UploadBackoff <= 0 || c.RelayPulse <= 0 {
		return errors.New("heartbeat, status-poll, upload-backoff and relay-pulse must be positive")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hexBytes is a flag holding bytes written in hex, spaces allowed.
type hexBytes []byte

func (h *hexBytes) String() string {
	if h == nil {
		return ""
	}
	return strings.ToUpper(hex.EncodeToString(*h))
}

func (h *hexBytes) Set(s string) error {
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", ":", "").Replace(s))
	if err != nil {
		return fmt.Errorf("want hex bytes, e.g. A00101A2: %w", err)
	}
	*h = b
	return nil
}
