package printer

import (
	"bytes"
	"slices"
	"testing"
)

func TestDecodeTickets(t *testing.T) {
	tests := []struct {
		name      string
		ticket    Ticket
		opts      Options
		wantQR    []string
		wantLines []string
	}{
		{
			name: "walk-in", ticket: walkInTicket,
			wantLines: []string{"Bürgeramt Mitte", "Rathausplatz 1 · Erdgeschoss", "A017",
				"Personalausweis beantragen", "Gebühr: 37,00 € (an der Kasse)", "Bitte achten Sie auf die Anzeige.",
				"Wartenummer, kein Termin", "Öffnungszeiten: Mo-Fr 8-12 Uhr", "14.03.2025 09:41"},
		},
		{
			name: "check-in", ticket: checkInTicket,
			wantQR: []string{"https://termin.example.de/b/K7Q2-9XTM"},
			wantLines: []string{"Bürgeramt Mitte", "T042", "Termin 10:20 Uhr - Reisepass", "Schalter wird aufgerufen.",
				"Straße, Größe, Übergabe: äöüÄÖÜß", "Termin verschieben oder absagen:", "QR-Code scannen", "14.03.2025 10:05"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := EncodeTicket(tt.ticket, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			rs := Decode(data)
			if len(rs) != 1 {
				t.Fatalf("Decode returned %d receipts, want 1", len(rs))
			}
			r := rs[0]
			if !r.Cut {
				t.Error("receipt not cut")
			}
			var lines []string
			for _, l := range r.Lines {
				lines = append(lines, l.Text)
			}
			if !slices.Equal(lines, tt.wantLines) {
				t.Errorf("lines:\n%q\nwant\n%q", lines, tt.wantLines)
			}
			if !slices.Equal(r.QR, tt.wantQR) {
				t.Errorf("QR = %q, want %q", r.QR, tt.wantQR)
			}
			num := r.Lines[slices.IndexFunc(r.Lines, func(l Line) bool { return l.Text == tt.ticket.Number })]
			if num.Width != 4 || num.Height != 4 || !num.Bold || num.Align != AlignCenter {
				t.Errorf("number line = %+v, want bold quad size centred", num)
			}
		})
	}
}

func TestDecodeSplitsAtCuts(t *testing.T) {
	a, _ := EncodeTicket(Ticket{Number: "A001"}, Options{})
	b, _ := EncodeTicket(Ticket{Number: "A002", QR: "x"}, Options{})
	tail := []byte("unfinished\n")
	rs := Decode(slices.Concat(a, b, tail))
	if len(rs) != 3 {
		t.Fatalf("got %d receipts, want 3", len(rs))
	}
	if rs[0].Text() != "A001" || rs[1].Text() != "A002" || rs[1].QR[0] != "x" {
		t.Errorf("receipts = %+v", rs)
	}
	if rs[2].Cut || rs[2].Text() != "unfinished" {
		t.Errorf("tail = %+v", rs[2])
	}
	if imgs := RenderReceipts(slices.Concat(a, b, tail), RenderOptions{}); len(imgs) != 3 {
		t.Errorf("RenderReceipts gave %d images, want 3", len(imgs))
	}
}

func TestDecodeState(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Line
	}{
		{"default code page is PC437", []byte{0x84, '\n'}, Line{Text: "ä", Width: 1, Height: 1}},
		{"PC858 euro", []byte{0x1B, 't', 19, 0xD5, '\n'}, Line{Text: "€", Width: 1, Height: 1}},
		{"WPC1252 euro", []byte{0x1B, 't', 16, 0x80, '\n'}, Line{Text: "€", Width: 1, Height: 1}},
		{"ESC ! bold double", []byte{0x1B, '!', 0x38, 'x', '\n'}, Line{Text: "x", Bold: true, Width: 2, Height: 2}},
		{"ESC a ignored mid-line", []byte{'a', 0x1B, 'a', 2, 'b', '\n'}, Line{Text: "ab", Width: 1, Height: 1}},
		{"ESC @ resets", []byte{0x1B, 'E', 1, 0x1B, '@', 'x', '\n'}, Line{Text: "x", Width: 1, Height: 1}},
		{"real-time query prints nothing", []byte{'a', 0x10, 0x04, 0x01, 'b', '\n'}, Line{Text: "ab", Width: 1, Height: 1}},
		{"unknown commands skipped", []byte{0x1B, 'Z', 1, 0x1D, 'Z', 1, 0x1C, 'Z', 'x', '\n'}, Line{Text: "x", Width: 1, Height: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := Decode(tt.in)
			if len(rs) != 1 || len(rs[0].Lines) != 1 {
				t.Fatalf("Decode(% x) = %+v", tt.in, rs)
			}
			if got := rs[0].Lines[0]; got != tt.want {
				t.Errorf("line = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzRender feeds arbitrary bytes to the decoder and renderer: neither
// may panic, and the image keeps the paper width and height cap.
func FuzzRender(f *testing.F) {
	for _, tk := range []Ticket{walkInTicket, checkInTicket, arabicTicket, turkishTicket} {
		data, _ := EncodeTicket(tk, Options{})
		f.Add(data)
		raster, _ := EncodeTicket(tk, Options{QRMode: QRRaster, PaperWidth: Paper58mm})
		f.Add(raster)
	}
	f.Add([]byte{0x1D, 0x76, 0x30, 3, 2, 0, 2, 0, 0xFF, 0x0F, 0xF0, 0xAA})
	f.Add([]byte{0x1D, 0x21, 0x77, 'W', 0x1B, 'd', 0xFF, 0x1D, 0x56, 0x42})
	f.Add(bytes.Repeat([]byte{0x1B, 'J', 0xFF}, 200))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = Decode(data)
		img := Render(data, RenderOptions{PaperWidth: Paper58mm, MaxHeight: 4000})
		if b := img.Bounds(); b.Dx() != Paper58mm || b.Dy() > 4000 {
			t.Fatalf("image bounds %v", b)
		}
	})
}

// TestDesk: a desk PC858 holds is printer text at double size under the
// number; one it cannot hold is an image.
func TestDesk(t *testing.T) {
	tests := []struct {
		name   string
		ticket Ticket
		want   []Line
		images int
	}{
		{"german", Ticket{Number: "A017", Desk: "Schalter 3"}, []Line{
			{Text: "A017", Align: AlignCenter, Bold: true, Width: 4, Height: 4},
			{Text: "Schalter 3", Align: AlignCenter, Bold: true, Width: 2, Height: 2},
		}, 0},
		{"desk without number", Ticket{Desk: "Schalter 3"}, []Line{
			{Text: "Schalter 3", Align: AlignCenter, Bold: true, Width: 2, Height: 2},
		}, 0},
		{"russian", Ticket{Lang: "ru", Number: "A017", Desk: "Окно 3"}, []Line{
			{Text: "A017", Align: AlignCenter, Bold: true, Width: 4, Height: 4},
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := EncodeTicket(tt.ticket, Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := Decode(data)[0]
			if !slices.Equal(r.Lines, tt.want) || r.Images != tt.images {
				t.Errorf("lines %+v, %d images; want %+v, %d", r.Lines, r.Images, tt.want, tt.images)
			}
		})
	}
}
