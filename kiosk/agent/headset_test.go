package agent

import (
	"bytes"
	"encoding/binary"
	"io"
	"slices"
	"testing"
)

func inputEvent(typ, code uint16, value int32) []byte {
	ev := make([]byte, inputEventSize)
	off := inputEventSize - 8
	binary.NativeEndian.PutUint16(ev[off:], typ)
	binary.NativeEndian.PutUint16(ev[off+2:], code)
	binary.NativeEndian.PutUint32(ev[off+4:], uint32(value))
	return ev
}

func TestReadJackEvents(t *testing.T) {
	var stream bytes.Buffer
	stream.Write(inputEvent(evSwitch, swHeadphoneInsert, 1))
	stream.Write(inputEvent(0, 0, 0))                    // EV_SYN
	stream.Write(inputEvent(evSwitch, 0x04, 1))          // microphone: ignored
	stream.Write(inputEvent(0x01, swHeadphoneInsert, 1)) // a key, not the switch
	stream.Write(inputEvent(evSwitch, swHeadphoneInsert, 0))
	stream.Write(inputEvent(evSwitch, swHeadphoneInsert, 1)[:5]) // torn
	var got []bool
	err := readJackEvents(&stream, func(p bool) { got = append(got, p) })
	if err != io.ErrUnexpectedEOF {
		t.Errorf("end of stream: %v", err)
	}
	if !slices.Equal(got, []bool{true, false}) {
		t.Errorf("jack changes %v", got)
	}
}

func FuzzReadJackEvents(f *testing.F) {
	f.Add(inputEvent(evSwitch, swHeadphoneInsert, 1))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		readJackEvents(bytes.NewReader(data), func(bool) { n++ })
		if n > len(data)/inputEventSize {
			t.Fatalf("%d events from %d bytes", n, len(data))
		}
	})
}
