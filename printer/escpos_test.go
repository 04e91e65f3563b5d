package printer

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestEncoderCommands(t *testing.T) {
	tests := []struct {
		name  string
		build func(e *Encoder)
		want  []byte
	}{
		{"init cancels Kanji mode and selects PC858", func(e *Encoder) { e.Init() }, []byte{0x1B, 0x40, 0x1C, 0x2E, 0x1B, 0x74, 19}},
		{"umlauts and euro", func(e *Encoder) { e.Text("äöüÄÖÜß€") }, []byte{0x84, 0x94, 0x81, 0x8E, 0x99, 0x9A, 0xE1, 0xD5}},
		{"control characters cannot inject commands", func(e *Encoder) { e.Text("a\x1b@b") }, []byte("a @b")},
		{"unknown rune", func(e *Encoder) { e.Text("→") }, []byte("?")},
		{"typographic dash", func(e *Encoder) { e.Text("8–12") }, []byte("8-12")},
		{"newline ends the line", func(e *Encoder) { e.Text("a\nb") }, []byte("a\nb")},
		{"quad size", func(e *Encoder) { e.Size(4, 4) }, []byte{0x1D, 0x21, 0x33}},
		{"size clamps", func(e *Encoder) { e.Size(0, 9) }, []byte{0x1D, 0x21, 0x07}},
		{"bold", func(e *Encoder) { e.Bold(true).Bold(false) }, []byte{0x1B, 0x45, 1, 0x1B, 0x45, 0}},
		{"align at line start", func(e *Encoder) { e.Align(AlignCenter) }, []byte{0x1B, 0x61, 1}},
		{"align mid-line ends the line first", func(e *Encoder) { e.Text("x").Align(AlignRight) }, []byte{'x', 0x0A, 0x1B, 0x61, 2}},
		{"feed", func(e *Encoder) { e.Feed(3) }, []byte{0x1B, 0x64, 3}},
		{"cut with feed", func(e *Encoder) { e.Cut(48) }, []byte{0x1D, 0x56, 66, 48}},
		{"native QR", func(e *Encoder) { e.QR("AB") }, []byte{
			0x1D, 0x28, 0x6B, 4, 0, 0x31, 0x41, 50, 0,
			0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x43, 6,
			0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x45, 49,
			0x1D, 0x28, 0x6B, 5, 0, 0x31, 0x50, 0x30, 'A', 'B',
			0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x51, 0x30,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEncoder(Options{})
			tt.build(e)
			got, err := e.Bytes()
			if err != nil {
				t.Fatalf("Bytes: %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got  % x\nwant % x", got, tt.want)
			}
		})
	}
}

func TestEncoderQRTooLong(t *testing.T) {
	_, err := NewEncoder(Options{}).QR(strings.Repeat("x", maxQRData+1)).Line("after").Bytes()
	if !errors.Is(err, ErrQRTooLong) {
		t.Fatalf("err = %v, want ErrQRTooLong", err)
	}
}

func TestEncoderRasterQR(t *testing.T) {
	data, err := NewEncoder(Options{QRMode: QRRaster, QRModuleSize: 4}).QR("K7Q2").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte{0x1D, 0x28, 0x6B}) {
		t.Error("raster mode sent GS ( k")
	}
	if !bytes.HasPrefix(data, []byte{0x1D, 0x76, 0x30, 0}) {
		t.Fatalf("want GS v 0 raster, got % x", data[:min(8, len(data))])
	}
	// Version 1 (21 modules) at 4 dots: 84 dots = 11 bytes per row, 84 rows.
	if xL, yL := data[4], data[6]; xL != 11 || yL != 84 {
		t.Errorf("raster is %d bytes × %d rows, want 11 × 84", xL, yL)
	}
	if rs := Decode(data); len(rs) != 1 || rs[0].Images != 1 {
		t.Errorf("Decode = %+v, want one image", rs)
	}
}

func TestCommandLen(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want int
	}{
		{"empty", nil, 0},
		{"text", []byte("ab"), 1},
		{"init", []byte{0x1B, 0x40, 'x'}, 2},
		{"incomplete ESC", []byte{0x1B}, 0},
		{"status query", []byte{0x10, 0x04, 0x01, 0x10}, 3},
		{"GS ( k complete", []byte{0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x51, 0x30}, 8},
		{"GS ( k incomplete", []byte{0x1D, 0x28, 0x6B, 3, 0, 0x31}, 0},
		{"GS v 0", []byte{0x1D, 0x76, 0x30, 0, 1, 0, 2, 0, 0xFF, 0x00}, 10},
		{"GS v 0 waits for data", []byte{0x1D, 0x76, 0x30, 0, 1, 0, 2, 0, 0xFF}, 0},
		{"absurd length is noise", []byte{0x1D, 0x76, 0x30, 0, 0xFF, 0xFF, 0xFF, 0xFF}, 1},
		{"cut with feed", []byte{0x1D, 0x56, 66, 3}, 4},
		{"full cut", []byte{0x1D, 0x56, 0}, 3},
		{"barcode NUL terminated", []byte{0x1D, 0x6B, 4, '1', '2', 0, 'x'}, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CommandLen(tt.in); got != tt.want {
				t.Errorf("CommandLen(% x) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}
