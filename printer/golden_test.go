package printer

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden PNGs in testdata and docs")

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}()

// Sample tickets shared by the golden, decode and docs tests.
var (
	walkInTicket = Ticket{
		Header: []string{"Bürgeramt Mitte", "Rathausplatz 1 · Erdgeschoss"},
		Number: "A017",
		Lines: []string{
			"Personalausweis beantragen",
			"Gebühr: 37,00 € (an der Kasse)",
			"Bitte achten Sie auf die Anzeige.",
		},
		Footer: []string{"Wartenummer, kein Termin", "Öffnungszeiten: Mo–Fr 8–12 Uhr"},
		Issued: time.Date(2025, 3, 14, 9, 41, 0, 0, berlin),
	}
	checkInTicket = Ticket{
		Header: []string{"Bürgeramt Mitte"},
		Number: "T042",
		Lines: []string{
			"Termin 10:20 Uhr — Reisepass",
			"Schalter wird aufgerufen.",
			"Straße, Größe, Übergabe: äöüÄÖÜß",
		},
		QR:     "https://termin.example.de/b/K7Q2-9XTM",
		Footer: []string{"Termin verschieben oder absagen:", "QR-Code scannen"},
		Issued: time.Date(2025, 3, 14, 10, 5, 0, 0, berlin),
	}
)

// Tickets in the languages whose text PC858 cannot hold.
var (
	arabicTicket = Ticket{
		Lang:   "ar",
		Header: []string{"Bürgeramt Mitte", "مكتب خدمات المواطنين"},
		Number: "A017",
		Desk:   "الشباك 3",
		Lines: []string{
			"طلب بطاقة الهوية الشخصية",
			"الرسوم: 37,00 € (تُدفع عند الصندوق)",
			"يُرجى متابعة الشاشة، سيُنادى رقمك A017 عند الشباك.",
		},
		Footer: []string{"رقم انتظار، بدون موعد", "أوقات العمل: الإثنين–الجمعة 8–12"},
		Issued: time.Date(2025, 3, 14, 9, 41, 0, 0, berlin),
	}
	ukrainianTicket = Ticket{
		Lang:   "uk",
		Header: []string{"Bürgeramt Mitte", "Центр обслуговування громадян"},
		Number: "A017",
		Desk:   "Вікно 3",
		Lines: []string{
			"Заява на посвідчення особи",
			"Збір: 37,00 € (у касі)",
			"Будь ласка, стежте за табло.",
		},
		Footer: []string{"Номер черги, без запису", "Години роботи: Пн–Пт 8–12"},
		Issued: time.Date(2025, 3, 14, 9, 41, 0, 0, berlin),
	}
	turkishTicket = Ticket{
		Lang:   "tr",
		Header: []string{"Bürgeramt Mitte", "Vatandaş Hizmetleri Dairesi"},
		Number: "T042",
		Desk:   "Gişe 12",
		Lines: []string{
			"Randevu 10:20 – Pasaport",
			"Gişe numaranız ekranda çağrılacaktır.",
			"Ücret: 37,00 € (kasada ödenir)",
		},
		QR:     "https://termin.example.de/b/K7Q2-9XTM",
		Footer: []string{"Randevuyu değiştirmek veya iptal etmek için:", "QR kodunu tarayın"},
		Issued: time.Date(2025, 3, 14, 10, 5, 0, 0, berlin),
	}
)

// checkGolden compares img with the PNG at path, rewriting it with -update.
func checkGolden(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatalf("encode PNG: %v", err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open golden (run with -update to create): %v", err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode golden %s: %v", path, err)
	}
	if !sameImage(img, want) {
		got := filepath.Join(t.TempDir(), filepath.Base(path))
		_ = os.WriteFile(got, buf.Bytes(), 0o644)
		t.Errorf("%s differs from the rendering (written to %s); rerun with -update if the change is intended", path, got)
	}
}

func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				return false
			}
		}
	}
	return true
}

func TestGoldenTickets(t *testing.T) {
	tests := []struct {
		name   string
		ticket Ticket
		opts   Options
	}{
		{"walkin_80mm", walkInTicket, Options{}},
		{"checkin_80mm", checkInTicket, Options{}},
		{"checkin_58mm_raster", checkInTicket, Options{PaperWidth: Paper58mm, QRMode: QRRaster, QRModuleSize: 4}},
		{"arabic_80mm", arabicTicket, Options{}},
		{"arabic_58mm", arabicTicket, Options{Profile: builtin("clone-58mm")}},
		{"ukrainian_80mm", ukrainianTicket, Options{}},
		{"turkish_tm-t88", turkishTicket, Options{Profile: builtin("epson-tm-t88")}},
		{"turkish_th230_raster_qr", turkishTicket, Options{Profile: builtin("wincor-th230"), QRModuleSize: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := EncodeTicket(tt.ticket, tt.opts)
			if err != nil {
				t.Fatalf("EncodeTicket: %v", err)
			}
			img := Render(data, RenderOptions{PaperWidth: tt.opts.withDefaults().PaperWidth, Profile: tt.opts.Profile})
			checkGolden(t, filepath.Join("testdata", tt.name+".png"), img)
		})
	}
}

func builtin(name string) Profile {
	p, err := ProfileByName(name)
	if err != nil {
		panic(err)
	}
	return p
}

// TestDocsTicket keeps docs/ticket.png, the ticket shown in the
// documentation, in step with the encoder and renderer.
func TestDocsTicket(t *testing.T) {
	data, err := EncodeTicket(checkInTicket, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("..", "docs", "ticket.png"), Render(data, RenderOptions{}))
}
