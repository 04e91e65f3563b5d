package agent

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/internal/config"
	"github.com/digitale-verwaltung/termin/kiosk/serialdev"
	"github.com/digitale-verwaltung/termin/printer"
)

// Config is everything the agent needs. LoadConfig fills it from flags,
// environment variables (KIOSK_ plus the flag name in upper case with
// underscores, e.g. KIOSK_PRINTER_PORT) and an optional JSON file whose
// keys are the flag names; flags win over the environment, which wins
// over the file, which wins over the defaults.
type Config struct {
	Server     string // base URL of the termin server
	Token      string // device token; read from the state dir when empty
	EnrollCode string // one-time code exchanged for a token on first start
	StateDir   string
	Mode       string // counter or gate; empty means the server's device mode
	Listen     string // local UI address
	LogLevel   slog.Level

	Printer Port
	Scanner Port
	Relay   Port

	PrinterWidthMM int
	// PrinterProfile names the printer model's profile (code page
	// number, head width, QR support); empty: found by the printer's USB
	// VID:PID, else the generic Epson-compatible profile.
	PrinterProfile string
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

	// IdleTimeout returns a counter screen other than a result to the
	// start (and the session's language and display settings to the
	// defaults) after this long without input; IdleWarning before that a
	// warning offers more time.
	IdleTimeout, IdleWarning time.Duration
	// Speech speaks every screen through SpeechCommand; without it speech
	// is switched on per session by the help key.
	Speech        bool
	SpeechCommand string
	// HeadsetInput is the Linux input device of the sound card's jack
	// switch; plugging a headset switches speech on for the session.
	HeadsetInput string

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
		LogLevel:        slog.LevelInfo,
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
		IdleTimeout:     90 * time.Second,
		IdleWarning:     20 * time.Second,
		SpeechCommand:   DefaultSpeechCommand,
		RetryInterval:   time.Second,
		ScannerDebounce: 2 * time.Second,
	}
}

// LoadConfig reads the configuration from args (without the program
// name), the environment (lookup, usually os.LookupEnv) and the JSON file
// named by -config or KIOSK_CONFIG, with the shared strict loader: a value
// that does not parse stops start-up with a message naming its source.
func LoadConfig(args []string, lookup func(string) (string, bool)) (Config, error) {
	cfg := Defaults()
	s := config.NewSet("termin-kiosk")
	s.File("config", EnvName("config"), "JSON configuration file, keys are flag names")
	str := func(p *string, name, usage string) { s.String(p, name, EnvName(name), *p, usage) }
	dur := func(p *time.Duration, name, usage string) { s.Duration(p, name, EnvName(name), *p, usage) }
	boolean := func(p *bool, name, usage string) { s.Bool(p, name, EnvName(name), *p, usage) }
	str(&cfg.Server, "server", "termin server base URL; https, or http on loopback only")
	str(&cfg.Token, "token", "device token (default: the one stored in the state directory)")
	str(&cfg.EnrollCode, "enroll", "enrollment code from the admin API, exchanged for a device token on first start")
	str(&cfg.StateDir, "state-dir", "directory for the token, cached server config and gate redemptions")
	str(&cfg.Mode, "mode", "counter or gate (default: the mode the device was registered with)")
	str(&cfg.Listen, "listen", "address of the local kiosk page; empty disables it")
	s.LogLevel(&cfg.LogLevel, "log-level", EnvName("log-level"), cfg.LogLevel, "debug, info, warn or error")
	portOptions(s, "printer", &cfg.Printer)
	portOptions(s, "scanner", &cfg.Scanner)
	portOptions(s, "relay", &cfg.Relay)
	s.Int(&cfg.PrinterWidthMM, "printer-width", EnvName("printer-width"), cfg.PrinterWidthMM, "paper width in mm: 58 or 80")
	str(&cfg.PrinterProfile, "printer-profile", "printer model profile: "+profileNames()+"; empty: by the printer's USB VID:PID, else generic")
	str(&cfg.TicketQR, "ticket-qr", "QR code printed on queue tickets, {number} and {location} replaced; empty prints none")
	boolean(&cfg.PrintErrorSlips, "print-error-slips", "print a short slip when a check-in fails")
	str(&cfg.ScannerSuffix, "scanner-suffix", "extra code terminator besides CR and LF, e.g. a tab")
	boolean(&cfg.ScannerAIM, "scanner-aim", "strip an AIM symbology prefix such as ]Q1")
	dur(&cfg.ScannerDebounce, "scanner-debounce", "ignore a repeat of the same code within this window")
	hexOption(s, &cfg.RelayOn, "relay-on", "hex command closing the relay on a serial relay board")
	hexOption(s, &cfg.RelayOff, "relay-off", "hex command opening the relay")
	str(&cfg.RelayLine, "relay-line", "dtr or rts: the relay hangs on this modem line of the relay port instead")
	boolean(&cfg.RelayActiveLow, "relay-active-low", "the modem-line relay closes when the line is cleared")
	dur(&cfg.RelayPulse, "relay-pulse", "how long the relay closes for one passage")
	dur(&cfg.GateEarly, "gate-early", "how long before its slot a ticket admits; 0: the server's")
	dur(&cfg.GateLate, "gate-late", "how long after its slot a ticket admits; 0: the server's")
	dur(&cfg.GateOnlineWait, "gate-online-wait", "how long the gate waits for the server before admitting on the offline check; 0 redeems in the background")
	dur(&cfg.Heartbeat, "heartbeat", "heartbeat interval")
	dur(&cfg.StatusPoll, "status-poll", "printer status poll interval")
	dur(&cfg.UploadBackoff, "upload-backoff", "first retry delay for uploading offline gate scans")
	dur(&cfg.ResultScreen, "result-screen", "how long a ticket or error stays on the counter screen")
	dur(&cfg.IdleTimeout, "idle-timeout", "without input this long a counter screen returns to the start, after a warning")
	dur(&cfg.IdleWarning, "idle-warning", "how long before that the warning offering more time appears, spoken and shown")
	boolean(&cfg.Speech, "speech", "speak every screen (otherwise the help key switches speech on for a session)")
	str(&cfg.SpeechCommand, "speech-command", "speech command, text on standard input, {voice} replaced by the espeak-ng voice")
	str(&cfg.HeadsetInput, "headset-input", "Linux input device of the headset jack (e.g. /dev/input/by-path/...-event); plugging a headset switches speech on")
	if err := s.Parse(args, lookup); err != nil {
		return cfg, err
	}
	if len(s.Args()) > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", s.Args())
	}
	return cfg, cfg.Validate()
}

func profileNames() string {
	var names []string
	for _, p := range printer.Profiles() {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// printerProfile is the profile in effect for the configured printer.
func (c *Config) printerProfile() printer.Profile {
	if c.PrinterProfile == "" && c.Printer.USB != nil {
		if p, ok := printer.ProfileByUSB(c.Printer.USB.VID, c.Printer.USB.PID); ok {
			return p
		}
	}
	p, _ := printer.ProfileByName(c.PrinterProfile)
	return p
}

// EnvName is the environment variable of a flag.
func EnvName(flagName string) string {
	return "KIOSK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func portOptions(s *config.Set, name string, p *Port) {
	s.String(&p.Name, name+"-port", EnvName(name+"-port"), p.Name, name+" serial port, e.g. /dev/termin-"+name+" or COM3")
	usb := name + "-usb"
	s.Func(usb, EnvName(usb), "", name+" USB ID VID:PID[:SERIAL] in hex, found again after a replug (instead of -"+name+"-port)", func(v string) error {
		if v == "" {
			p.USB = nil
			return nil
		}
		id, err := serialdev.ParseUSBID(v)
		if err != nil {
			return err
		}
		p.USB = &id
		return nil
	})
	s.Int(&p.Baud, name+"-baud", EnvName(name+"-baud"), p.Baud, name+" baud rate")
}

func hexOption(s *config.Set, p *[]byte, name, usage string) {
	def := (*hexBytes)(p).String()
	s.Func(name, EnvName(name), def, usage, func(v string) error { return (*hexBytes)(p).Set(v) })
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
	if _, err := printer.ProfileByName(c.PrinterProfile); err != nil {
		return fmt.Errorf("printer-profile %q: want one of %s", c.PrinterProfile, profileNames())
	}
	if c.StateDir == "" {
		return errors.New("state-dir must be set")
	}
	if c.IdleTimeout <= 0 || c.IdleWarning <= 0 || c.IdleWarning >= c.IdleTimeout {
		return fmt.Errorf("idle-timeout %v and idle-warning %v: want both positive and the warning shorter", c.IdleTimeout, c.IdleWarning)
	}
	if c.ResultScreen <= 0 {
		return errors.New("result-screen must be positive")
	}
	if strings.TrimSpace(c.SpeechCommand) == "" {
		return errors.New("speech-command must be set")
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
