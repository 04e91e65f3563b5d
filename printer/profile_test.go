package printer

import (
	"bytes"
	"errors"
	"testing"
)

func mustProfile(t *testing.T, name string) Profile {
	t.Helper()
	p, err := ProfileByName(name)
	if err != nil {
		t.Fatalf("ProfileByName(%q): %v", name, err)
	}
	return p
}

var gsk = []byte{GS, '(', 'k'}

// TestProfiles checks what each model gets: the ESC t number for PC858
// right after ESC @ FS ., the paper width the QR code is checked
// against, and a native or raster QR code.
func TestProfiles(t *testing.T) {
	tests := []struct {
		profile    string
		paperWidth int // Options.PaperWidth
		codePage   byte
		width      int
		nativeQR   bool
	}{
		{"", 0, 19, Paper80mm, true},
		{"generic", Paper58mm, 19, Paper58mm, true},
		{"epson-tm-t88", 0, 19, 512, true},
		{"epson-tm-t88", Paper80mm, 19, 512, true}, // 80 mm paper, 512-dot head
		{"epson-tm-t88", Paper58mm, 19, Paper58mm, true},
		{"epson-tm-t88iv", 0, 19, 512, false},
		{"epson-tm-t20", 0, 19, Paper80mm, true},
		{"bixolon-srp-350", 0, 19, 512, true},
		{"bixolon-srp-330", 0, 19, Paper80mm, true},
		{"citizen-ct-s310", 0, 2, Paper80mm, true},
		{"star-escpos", 0, 4, Paper80mm, true},
		{"wincor-th230", 0, 6, Paper80mm, false},
		{"hp-a799", 0, 6, Paper80mm, false},
		{"clone-58mm", 0, 19, Paper58mm, true},
		{"clone-80mm", 0, 19, Paper80mm, true},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			opts := Options{Profile: mustProfile(t, tt.profile), PaperWidth: tt.paperWidth}
			if got := opts.withDefaults().PaperWidth; got != tt.width {
				t.Errorf("paper width = %d, want %d", got, tt.width)
			}
			data, err := EncodeTicket(checkInTicket, opts)
			if err != nil {
				t.Fatalf("EncodeTicket: %v", err)
			}
			wantInit := []byte{ESC, '@', FS, '.', ESC, 't', tt.codePage}
			if !bytes.HasPrefix(data, wantInit) {
				t.Errorf("ticket starts % x, want % x", data[:len(wantInit)], wantInit)
			}
			if native := bytes.Contains(data, gsk); native != tt.nativeQR {
				t.Errorf("GS ( k sent = %v, want %v", native, tt.nativeQR)
			}
			r := DecodeProfile(data, opts.Profile)[0]
			if r.Lines[0].Text != "Bürgeramt Mitte" {
				t.Errorf("first line decodes as %q in the model's code page", r.Lines[0].Text)
			}
			if tt.nativeQR && len(r.QR) != 1 || !tt.nativeQR && (len(r.QR) != 0 || r.Images == 0) {
				t.Errorf("decoded QR %q, %d images", r.QR, r.Images)
			}
		})
	}
}

// TestZeroOptionsAreDefaultProfile keeps Options{} printing exactly as
// an explicit DefaultProfile does.
func TestZeroOptionsAreDefaultProfile(t *testing.T) {
	a, err := EncodeTicket(walkInTicket, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeTicket(walkInTicket, Options{Profile: DefaultProfile})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("Options{} and Options{Profile: DefaultProfile} differ")
	}
}

func TestRasterQRProfileOverridesQRMode(t *testing.T) {
	data, err := NewEncoder(Options{Profile: mustProfile(t, "wincor-th230"), QRMode: QRNative}).QR("x").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, gsk) {
		t.Error("GS ( k sent to a model without it")
	}
}

func TestProfileByName(t *testing.T) {
	tests := []struct {
		name, want string
		err        error
	}{
		{"", "generic", nil},
		{"  Epson-TM-T88 ", "epson-tm-t88", nil},
		{"star-escpos", "star-escpos", nil},
		{"star-line", "", ErrUnknownProfile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ProfileByName(tt.name)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if p.Name != tt.want {
				t.Errorf("profile = %q, want %q", p.Name, tt.want)
			}
		})
	}
}

func TestProfileByUSB(t *testing.T) {
	tests := []struct {
		vid, pid string
		want     string // "" = not found
	}{
		{"04B8", "0202", "epson-tm-t88"},
		{"04b8", "0e28", "epson-tm-t88"}, // any Epson product
		{"0x0519", "0x0003", "star-escpos"},
		{"1504", "0006", "bixolon-srp-350"},
		{"1D90", "2060", "citizen-ct-s310"},
		{"0AA7", "0304", "wincor-th230"},
		{"0416", "5011", "clone-80mm"},
		{"0416", "5012", ""}, // only the one clone pair is known
		{"1234", "5678", ""},
		{"xyz", "0202", ""},
		{"04B8", "", ""},
		{"104B8", "0202", ""},
	}
	for _, tt := range tests {
		t.Run(tt.vid+":"+tt.pid, func(t *testing.T) {
			p, ok := ProfileByUSB(tt.vid, tt.pid)
			if ok != (tt.want != "") || p.Name != tt.want {
				t.Errorf("ProfileByUSB = %q, %v; want %q", p.Name, ok, tt.want)
			}
		})
	}
}

func TestProfilesReturnsCopies(t *testing.T) {
	ps := Profiles()
	ps[1].USB[0].VID = 0xFFFF
	ps[0].CodePage = 0
	if p, _ := ProfileByUSB("04B8", "0202"); p.Name != "epson-tm-t88" {
		t.Error("modifying Profiles() changed the built-in USB table")
	}
	if mustProfile(t, "generic").CodePage != CodePagePC858 {
		t.Error("modifying Profiles() changed a built-in profile")
	}
	seen := map[string]bool{}
	for _, p := range Profiles() {
		if p.Name == "" || seen[p.Name] {
			t.Errorf("profile name %q empty or duplicated", p.Name)
		}
		seen[p.Name] = true
	}
}

// FuzzProfileByUSB feeds the USB id parser what enumerators might
// report: it must not panic, and a match must be the table's answer for
// the parsed ids.
func FuzzProfileByUSB(f *testing.F) {
	f.Add("04B8", "0202")
	f.Add("0x0519", "0X0003")
	f.Add(" 1504", "ffff ")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, vid, pid string) {
		p, ok := ProfileByUSB(vid, pid)
		if !ok {
			return
		}
		v, err1 := parseUSBID(vid)
		d, err2 := parseUSBID(pid)
		if err1 != nil || err2 != nil {
			t.Fatalf("matched %q:%q that does not parse", vid, pid)
		}
		if q, _ := ProfileForUSBID(USBID{v, d}); q.Name != p.Name {
			t.Fatalf("ProfileByUSB = %q, ProfileForUSBID = %q", p.Name, q.Name)
		}
	})
}
