package printer

import (
	"bytes"
	"image"
	"image/color"
	"slices"
	"strings"
	"testing"
)

func TestPC858Holds(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"Straße, Größe: 37,00 €", true},
		{"Mo–Fr „8–12“ …", true}, // typographic stand-ins
		{"a\x1b@b", true},        // control bytes print as spaces
		{"çöüÇÖÜ", true},         // the Turkish letters PC858 has
		{"Sıra", false},          // dotless ı
		{"İstanbul", false},      // dotted İ
		{"Ağustos Şubat", false}, // ğ, Ş
		{"Привіт", false},        // Cyrillic
		{"مرحبا", false},         // Arabic
		{"→", false},
	}
	for _, tt := range tests {
		if got := PC858Holds(tt.s); got != tt.want {
			t.Errorf("PC858Holds(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestIsRTL(t *testing.T) {
	for lang, want := range map[string]bool{
		"ar": true, "ar-EG": true, "fa": true, "he": true, "az-Arab": true,
		"": false, "de": false, "tr": false, "uk": false, "ru": false, "en-GB": false, "not a tag!": false,
	} {
		if got := isRTL(lang); got != want {
			t.Errorf("isRTL(%q) = %v, want %v", lang, got, want)
		}
	}
}

// TestTicketTextOrImage: lines PC858 holds stay printer text, the others
// become images; German tickets send no image at all.
func TestTicketTextOrImage(t *testing.T) {
	tests := []struct {
		name      string
		ticket    Ticket
		wantLines []string // text lines, in order
		images    bool
	}{
		{"german", walkInTicket, nil, false},
		{"turkish", turkishTicket, []string{"Bürgeramt Mitte", "T042", "Randevu 10:20 - Pasaport", "Ücret: 37,00 € (kasada ödenir)", "14.03.2025 10:05"}, true},
		{"ukrainian", ukrainianTicket, []string{"Bürgeramt Mitte", "A017", "14.03.2025 09:41"}, true},
		{"arabic", arabicTicket, []string{"Bürgeramt Mitte", "A017", "14.03.2025 09:41"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := EncodeTicket(tt.ticket, Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := Decode(data)[0]
			if (r.Images > 0) != tt.images {
				t.Errorf("%d images, want images: %v", r.Images, tt.images)
			}
			if tt.wantLines == nil {
				return
			}
			var got []string
			for _, l := range r.Lines {
				got = append(got, l.Text)
			}
			if !slices.Equal(got, tt.wantLines) {
				t.Errorf("text lines %q, want %q", got, tt.wantLines)
			}
			if strings.Contains(r.Text(), "?") {
				t.Errorf("substitute '?' printed: %q", r.Text())
			}
		})
	}
}

func imager(t *testing.T, lang string) *textImager {
	t.Helper()
	im, err := newTextImager(lang)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func placed(t *testing.T, lang, s string) []placedGlyph {
	t.Helper()
	lines := imager(t, lang).wrap([]rune(s), Paper80mm, textPixelSize)
	if len(lines) != 1 {
		t.Fatalf("%q wrapped to %d lines", s, len(lines))
	}
	return place(lines[0], 0)
}

// TestArabicShaping: letters take their joining forms and lam-alef
// becomes one ligature, which only a shaper does.
func TestArabicShaping(t *testing.T) {
	im := imager(t, "ar")
	beh, _ := im.face.NominalGlyph('ب')
	gs := placed(t, "ar", "ببب")
	if len(gs) != 3 {
		t.Fatalf("got %d glyphs for three beh", len(gs))
	}
	for _, g := range gs {
		if g.id == beh {
			t.Errorf("beh at rune %d kept its isolated form", g.text)
		}
	}
	if gs[0].id == gs[1].id || gs[1].id == gs[2].id {
		t.Error("final, medial and initial beh share a glyph")
	}
	if gs := placed(t, "ar", "لا"); len(gs) != 1 {
		t.Errorf("lam-alef gave %d glyphs, want one ligature", len(gs))
	}
}

// TestBidiOrder: in a right-to-left line the first word is rightmost and
// embedded Latin and digits still read left to right.
func TestBidiOrder(t *testing.T) {
	s := "رقمك A017 الآن" // "your number A017 now"
	gs := placed(t, "ar", s)
	xOf := func(text int) float32 {
		for _, g := range gs {
			if g.text == text {
				return g.x
			}
		}
		t.Fatalf("no glyph for rune %d", text)
		return 0
	}
	a := strings.Index(s, "A017")
	a = len([]rune(s[:a]))
	if !(xOf(0) > xOf(a) && xOf(a) > xOf(len([]rune(s))-1)) {
		t.Errorf("runs not right to left: x(first word)=%v x(A017)=%v x(last word)=%v", xOf(0), xOf(a), xOf(len([]rune(s))-1))
	}
	for i := a; i < a+3; i++ {
		if xOf(i) >= xOf(i+1) {
			t.Errorf("A017 not left to right at rune %d", i)
		}
	}
}

func inkColumns(img *image.Gray) (left, right int) {
	left, right = -1, -1
	b := img.Bounds()
	for x := b.Min.X; x < b.Max.X; x++ {
		for y := b.Min.Y; y < b.Max.Y; y++ {
			if img.GrayAt(x, y).Y == 0 {
				if left < 0 {
					left = x
				}
				right = x
				break
			}
		}
	}
	return left, right
}

func TestLineAlignment(t *testing.T) {
	const w = Paper80mm
	tests := []struct {
		name, lang, text string
		align            Alignment
		check            func(left, right int) bool
	}{
		{"arabic right", "ar", "يرجى متابعة الشاشة", AlignRight, func(l, r int) bool { return r >= w-3 && l > w/3 }},
		{"cyrillic centred", "uk", "Ваш номер", AlignCenter, func(l, r int) bool { return abs(l-(w-1-r)) <= 3 }},
		{"turkish left", "tr", "Sıra numaranız", AlignLeft, func(l, r int) bool { return l <= 3 && r < w/2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imgs := imager(t, tt.lang).lines(tt.text, w, tt.align, false, 1)
			if len(imgs) != 1 {
				t.Fatalf("%d images", len(imgs))
			}
			if l, r := inkColumns(imgs[0]); !tt.check(l, r) {
				t.Errorf("ink from x=%d to x=%d", l, r)
			}
		})
	}
}

func abs(v int) int { return max(v, -v) }

// TestWrapAtPaperWidth: a long line wraps instead of running off the
// paper, bold included.
func TestWrapAtPaperWidth(t *testing.T) {
	s := "Будь ласка, стежте за табло: вас викличуть до віконця, коли настане ваша черга. " +
		strings.Repeat("Довгеслово", 6) // one word longer than the paper
	for _, bold := range []bool{false, true} {
		im := imager(t, "uk")
		imgs := im.lines(s, Paper58mm, AlignCenter, bold, 1)
		if len(imgs) < 3 {
			t.Errorf("bold=%v: %d lines, want at least 3 on 58 mm", bold, len(imgs))
		}
		for i, img := range imgs {
			if img.Bounds().Dx() != Paper58mm {
				t.Errorf("line %d is %d dots wide", i, img.Bounds().Dx())
			}
			if l, r := inkColumns(img); l <= 0 || r >= Paper58mm-1 {
				t.Errorf("bold=%v line %d: ink touches the edge (x=%d..%d), text may be cut", bold, i, l, r)
			}
		}
	}
}

// TestInitCancelsKanjiMode: a printer left in (or powered on in) Kanji
// mode pairs up umlaut bytes; after Init's FS . it prints them.
func TestInitCancelsKanjiMode(t *testing.T) {
	data, err := EncodeTicket(checkInTicket, Options{})
	if err != nil {
		t.Fatal(err)
	}
	kanjiOn := []byte{FS, '&'}
	if got := Decode(append(kanjiOn, data...))[0].Lines[0].Text; got != "Bürgeramt Mitte" {
		t.Errorf("after FS &: first line %q", got)
	}
	withoutFS := bytes.Replace(data, []byte{FS, '.'}, nil, 1)
	if got := Decode(append(kanjiOn, withoutFS...))[0].Lines[0].Text; !strings.Contains(got, "\uFFFD") {
		t.Errorf("without FS . the decoder should show a paired glyph, got %q", got)
	}
}

// FuzzPrintLine: any text in any of the ticket languages encodes without
// error or panic and renders within the paper.
func FuzzPrintLine(f *testing.F) {
	for _, tk := range []Ticket{arabicTicket, ukrainianTicket, turkishTicket} {
		for _, l := range tk.Lines {
			f.Add(tk.Lang, l, false)
		}
	}
	f.Add("ar", "\u202e\u0644\u0627\u0300\n\x1b@", true)
	f.Add("xx-invalid", "\U0001F600 ﷽", false)
	f.Fuzz(func(t *testing.T, lang, s string, bold bool) {
		if len(s) > 2000 {
			return
		}
		data, err := NewEncoder(Options{PaperWidth: Paper58mm}).Lang(lang).Init().Bold(bold).PrintLine(s).Bytes()
		if err != nil {
			t.Fatalf("PrintLine(%q): %v", s, err)
		}
		if b := Render(data, RenderOptions{PaperWidth: Paper58mm}).Bounds(); b.Dx() != Paper58mm {
			t.Fatalf("render bounds %v", b)
		}
	})
}

// TestCropToInk: the image keeps its ink and the side its alignment puts
// against the paper, in whole bytes, so the printer places it where the
// paper-wide image would have been.
func TestCropToInk(t *testing.T) {
	full := image.NewGray(image.Rect(0, 0, 576, 30))
	for i := range full.Pix {
		full.Pix[i] = 0xFF
	}
	for x := 250; x < 331; x++ { // ink at columns 250..330
		full.SetGray(x, 10, color.Gray{})
	}
	blank := image.NewGray(image.Rect(0, 0, 576, 30))
	for i := range blank.Pix {
		blank.Pix[i] = 0xFF
	}
	tests := []struct {
		name  string
		img   *image.Gray
		align Alignment
		want  image.Rectangle
	}{
		{"left", full, AlignLeft, image.Rect(0, 0, 336, 30)},
		{"right", full, AlignRight, image.Rect(248, 0, 576, 30)},
		{"centre", full, AlignCenter, image.Rect(244, 0, 332, 30)},
		{"blank line keeps its height", blank, AlignCenter, image.Rect(0, 0, 8, 30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cropToInk(tt.img, tt.align)
			if got.Bounds() != tt.want {
				t.Fatalf("bounds %v, want %v", got.Bounds(), tt.want)
			}
			if got.Bounds().Dx()%8 != 0 {
				t.Errorf("width %d not whole bytes", got.Bounds().Dx())
			}
			if x0 := offset(tt.align, got.Bounds().Dx(), 576); tt.img == full && x0 != got.Bounds().Min.X {
				t.Errorf("printer would place it at x=%d, not %d", x0, got.Bounds().Min.X)
			}
		})
	}
}
