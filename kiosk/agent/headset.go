package agent

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
	"os"
	"syscall"
	"time"
)

// Linux input events of a sound card's jack switch
// (linux/input-event-codes.h).
const (
	evSwitch          = 0x05
	swHeadphoneInsert = 0x02
)

// inputEventSize is sizeof(struct input_event): a struct timeval (two
// longs), type and code (u16 each) and value (s32).
var inputEventSize = 2*bits.UintSize/8 + 8

// readJackEvents reads Linux input events from r and calls jack with
// each change of the headphone switch, until r fails.
func readJackEvents(r io.Reader, jack func(plugged bool)) error {
	br := bufio.NewReader(r)
	ev := make([]byte, inputEventSize)
	off := inputEventSize - 8
	for {
		if _, err := io.ReadFull(br, ev); err != nil {
			return err
		}
		typ := binary.NativeEndian.Uint16(ev[off:])
		code := binary.NativeEndian.Uint16(ev[off+2:])
		value := int32(binary.NativeEndian.Uint32(ev[off+4:]))
		if typ == evSwitch && code == swHeadphoneInsert {
			jack(value != 0)
		}
	}
}

// headsetLoop follows the headset jack: plugging a headset switches
// speech on for the session, pulling it switches it back to the default.
// The device is opened again when it goes away (a USB sound card).
func (a *Agent) headsetLoop(ctx context.Context) {
	warned := false
	for ctx.Err() == nil {
		// Non-blocking, so opening never hangs (a FIFO without a writer)
		// and Close on shutdown ends a pending read.
		f, err := os.OpenFile(a.cfg.HeadsetInput, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			if !warned {
				a.log.Warn("headset jack not readable; retrying", "input", a.cfg.HeadsetInput, "err", err)
				warned = true
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * a.cfg.RetryInterval):
			}
			continue
		}
		warned = false
		stop := context.AfterFunc(ctx, func() { f.Close() })
		err = readJackEvents(f, a.headset)
		stop()
		f.Close()
		if ctx.Err() != nil {
			return
		}
		if !errors.Is(err, io.EOF) {
			a.log.Warn("headset jack", "input", a.cfg.HeadsetInput, "err", err)
		}
		// The device went away (a USB sound card unplugged); look again.
		select {
		case <-ctx.Done():
			return
		case <-time.After(a.cfg.RetryInterval):
		}
	}
}

// headset acts on the jack switch.
func (a *Agent) headset(plugged bool) {
	a.updatePrefs(func(p *prefs) { p.Speech = plugged || a.cfg.Speech })
	a.uiChange()
	if plugged {
		d := a.pageData()
		a.speaker.Say(d.Lang, text(d.Lang, "speech_on")+" "+text(d.Lang, "help_text")+" "+d.Announce())
	}
}
