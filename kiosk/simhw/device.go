// Package simhw simulates the kiosk's serial hardware for tests and demos:
// a receipt printer, a barcode scanner and a relay board, each sitting on
// the master side of a pseudo-terminal whose slave the kiosk opens like a
// real serial port. Unplug and Replug stand in for pulling the USB cable.
package simhw

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/creack/pty"
	"go.bug.st/serial/enumerator"
	"golang.org/x/sys/unix"
)

// ErrUnplugged is returned when writing to a device that is unplugged.
var ErrUnplugged = errors.New("simhw: device unplugged")

// USB identifies a simulated device to discovery.
type USB struct {
	VID, PID, Serial string
}

// Device is one end of a simulated serial cable. The kiosk opens
// PortName; the device reads what the kiosk writes and can write back.
type Device struct {
	usb    USB
	handle func(d *Device, data []byte)

	mu      sync.Mutex
	master  *os.File
	slave   *os.File // held open so the master never reads EIO between opens
	name    string
	reading sync.WaitGroup
}

// newDevice plugs in a device whose incoming bytes go to handle.
func newDevice(usb USB, handle func(*Device, []byte)) (*Device, error) {
	d := &Device{usb: usb, handle: handle}
	if err := d.Replug(); err != nil {
		return nil, err
	}
	return d, nil
}

// PortName is the pseudo-terminal the kiosk opens; it changes on Replug,
// like a ttyACM number can.
func (d *Device) PortName() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.name
}

// Plugged reports whether the device is connected.
func (d *Device) Plugged() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.master != nil
}

// Details describes the device as enumerator.GetDetailedPortsList would,
// or returns nil while unplugged.
func (d *Device) Details() *enumerator.PortDetails {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.master == nil {
		return nil
	}
	return &enumerator.PortDetails{Name: d.name, IsUSB: true, VID: d.usb.VID, PID: d.usb.PID, SerialNumber: d.usb.Serial}
}

// Replug connects the device on a new pseudo-terminal pair. It is a no-op
// when already plugged.
func (d *Device) Replug() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.master != nil {
		return nil
	}
	master, slave, err := openPair()
	if err != nil {
		return err
	}
	d.master, d.slave, d.name = master, slave, slave.Name()
	d.reading.Add(1)
	go d.readLoop(master)
	return nil
}

// Unplug disconnects the device: the kiosk's next read fails, as when the
// cable is pulled.
func (d *Device) Unplug() error {
	d.mu.Lock()
	master, slave, name := d.master, d.slave, d.name
	d.master, d.slave = nil, nil
	d.mu.Unlock()
	if master == nil {
		return nil
	}
	err := errors.Join(master.Close(), slave.Close())
	d.reading.Wait()
	if err != nil {
		return fmt.Errorf("simhw: unplug %s: %w", name, err)
	}
	return nil
}

// Close unplugs the device for good.
func (d *Device) Close() error {
	return d.Unplug()
}

// Write sends bytes from the device to the kiosk.
func (d *Device) Write(p []byte) (int, error) {
	d.mu.Lock()
	master := d.master
	d.mu.Unlock()
	if master == nil {
		return 0, ErrUnplugged
	}
	n, err := master.Write(p)
	if err != nil {
		return n, fmt.Errorf("simhw: write to %s: %w", d.name, err)
	}
	return n, nil
}

func (d *Device) readLoop(master *os.File) {
	defer d.reading.Done()
	buf := make([]byte, 4096)
	for {
		n, err := master.Read(buf)
		if n > 0 && d.handle != nil {
			d.handle(d, buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// Ports returns an enumerator listing the plugged-in devices, for
// serialdev.Config.Enumerate: the system enumerator never lists
// pseudo-terminals.
func Ports(devs ...*Device) func() ([]*enumerator.PortDetails, error) {
	return func() ([]*enumerator.PortDetails, error) {
		var out []*enumerator.PortDetails
		for _, d := range devs {
			if p := d.Details(); p != nil {
				out = append(out, p)
			}
		}
		return out, nil
	}
}

// openPair opens a pseudo-terminal in raw mode with a pollable master.
//
// pty.Open leaves the master in blocking mode, and a blocked Read would
// keep the master alive after Close, so Unplug could never hang up the
// slave. A non-blocking duplicate goes through Go's poller, where Close
// interrupts Read. Raw mode is set here rather than left to the kiosk's
// open, so nothing written before then is echoed or translated.
func openPair() (master, slave *os.File, err error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("simhw: open pty: %w", err)
	}
	defer m.Close()
	if err := makeRaw(int(s.Fd())); err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("simhw: raw mode on %s: %w", s.Name(), err)
	}
	fd, err := unix.Dup(int(m.Fd()))
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("simhw: pty master: %w", err)
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "/dev/ptmx"), s, nil
}

// makeRaw sets the terminal like cfmakeraw(3).
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
