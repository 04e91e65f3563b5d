// Package serialdev opens the kiosk's serial devices (printer, scanner,
// relay board) by port name or by USB VID:PID, and keeps them open across
// unplugging with a reconnecting wrapper.
package serialdev

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// ErrNotFound reports that no port matches the configured USB ID.
var ErrNotFound = errors.New("serialdev: no matching serial port")

// DefaultReadTimeout bounds each Read so callers can notice a cancelled
// context; a Read that times out returns (0, nil).
const DefaultReadTimeout = 100 * time.Millisecond

// Enumerator lists the serial ports present, with their USB details.
type Enumerator func() ([]*enumerator.PortDetails, error)

// SystemPorts lists the machine's serial ports. On Linux it shows ttyS,
// ttyUSB, ttyACM and similar devices but never pseudo-terminals, which is
// why Config takes an injectable Enumerator.
func SystemPorts() ([]*enumerator.PortDetails, error) {
	return enumerator.GetDetailedPortsList()
}

// USBID selects a USB serial device. Serial is optional and tells apart
// two devices of the same model.
type USBID struct {
	VID, PID, Serial string
}

// ParseUSBID parses "VID:PID" or "VID:PID:SERIAL" with hex IDs, e.g.
// "0483:5740".
func ParseUSBID(s string) (USBID, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 2 || !isHex4(parts[0]) || !isHex4(parts[1]) {
		return USBID{}, fmt.Errorf("serialdev: USB ID %q: want VID:PID[:SERIAL] in hex", s)
	}
	id := USBID{VID: strings.ToUpper(parts[0]), PID: strings.ToUpper(parts[1])}
	if len(parts) == 3 {
		id.Serial = parts[2]
	}
	return id, nil
}

func (id USBID) String() string {
	if id.Serial != "" {
		return id.VID + ":" + id.PID + ":" + id.Serial
	}
	return id.VID + ":" + id.PID
}

func (id USBID) matches(p *enumerator.PortDetails) bool {
	return p.IsUSB && strings.EqualFold(p.VID, id.VID) && strings.EqualFold(p.PID, id.PID) &&
		(id.Serial == "" || p.SerialNumber == id.Serial)
}

func isHex4(s string) bool {
	if len(s) != 4 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// Config says which port to open and how.
type Config struct {
	// Name is the port, e.g. /dev/ttyUSB0. Used when USB is unset.
	Name string
	// USB, if set, finds the port by VID:PID[:serial] each time it is
	// opened, since the ttyACM number can change after a replug.
	USB *USBID
	// Enumerate lists ports for USB discovery; nil means SystemPorts.
	Enumerate Enumerator
	// Baud is the bit rate; zero means 9600. Data bits 8, no parity,
	// one stop bit.
	Baud int
	// ReadTimeout bounds each Read; zero means DefaultReadTimeout and a
	// negative value blocks until data arrives.
	ReadTimeout time.Duration
}

// Resolve returns the port name cfg designates.
func (cfg Config) Resolve() (string, error) {
	if cfg.USB == nil {
		if cfg.Name == "" {
			return "", errors.New("serialdev: neither port name nor USB ID configured")
		}
		return cfg.Name, nil
	}
	enum := cfg.Enumerate
	if enum == nil {
		enum = SystemPorts
	}
	ports, err := enum()
	if err != nil {
		return "", fmt.Errorf("serialdev: list ports: %w", err)
	}
	for _, p := range ports {
		if cfg.USB.matches(p) {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("%w: USB %s", ErrNotFound, cfg.USB)
}

// Open resolves and opens the port, in raw 8N1 mode with the configured
// read timeout. Modem lines are left as the driver sets them: on
// pseudo-terminals setting them fails.
func Open(cfg Config) (serial.Port, error) {
	name, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	return openName(name, cfg)
}

func openName(name string, cfg Config) (serial.Port, error) {
	baud := cfg.Baud
	if baud == 0 {
		baud = 9600
	}
	p, err := serial.Open(name, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("serialdev: open %s: %w", name, err)
	}
	timeout := cfg.ReadTimeout
	switch {
	case timeout == 0:
		timeout = DefaultReadTimeout
	case timeout < 0:
		timeout = serial.NoTimeout
	}
	if err := p.SetReadTimeout(timeout); err != nil {
		p.Close()
		return nil, fmt.Errorf("serialdev: set read timeout on %s: %w", name, err)
	}
	return p, nil
}

// IsClosed reports whether err says the port went away or was closed.
func IsClosed(err error) bool {
	var pe *serial.PortError
	return errors.As(err, &pe) && pe.Code() == serial.PortClosed
}
