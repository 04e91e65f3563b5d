package printer

import (
	"errors"
	"strings"
	"testing"
)

func TestQRPayloadLimits(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		level   QRLevel
		mode    QRDataMode
		limit   int
	}{
		{"byte L", "https://x", QRLevelL, QRByte, 2953},
		{"byte M", "lower case", QRLevelM, QRByte, 2331},
		{"byte Q", "ä", QRLevelQ, QRByte, 1663},
		{"byte H", "a", QRLevelH, QRByte, 1273},
		{"alphanumeric M", "HTTPS://TERMIN.EXAMPLE/B/K7Q2", QRLevelM, QRAlphanumeric, 3391},
		{"alphanumeric H", "A 1", QRLevelH, QRAlphanumeric, 1852},
		{"numeric L (GS ( k store limit)", "0123", QRLevelL, QRNumeric, 7089},
		{"numeric H", "42", QRLevelH, QRNumeric, 3057},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := qrDataMode(tt.payload); got != tt.mode {
				t.Fatalf("mode = %v, want %v", got, tt.mode)
			}
			if got := QRCapacity(tt.mode, tt.level); got != tt.limit {
				t.Fatalf("capacity = %d, want %d", got, tt.limit)
			}
			fill := strings.Repeat(tt.payload[:1], tt.limit-len(tt.payload))
			if err := checkQRPayload(tt.payload+fill, tt.level); err != nil {
				t.Errorf("payload at the limit: %v", err)
			}
			err := checkQRPayload(tt.payload+fill+tt.payload[:1], tt.level)
			if !errors.Is(err, ErrQRTooLong) {
				t.Errorf("payload over the limit: err = %v, want ErrQRTooLong", err)
			}
		})
	}
}

// TestQRTooLarge: a symbol wider than the paper is an error with the
// sizes, in both QR modes, and nothing is printed.
func TestQRTooLarge(t *testing.T) {
	long := "https://termin.example.de/b/" + strings.Repeat("K7Q2-9XTM/", 20) // version 11 at M: 61 modules
	tests := []struct {
		name string
		opts Options
		want error
	}{
		{"fits 80 mm", Options{QRModuleSize: 9}, nil},
		{"too wide for 58 mm", Options{PaperWidth: Paper58mm, QRModuleSize: 9}, ErrQRTooLarge},
		{"too wide for 58 mm raster", Options{PaperWidth: Paper58mm, QRModuleSize: 9, QRMode: QRRaster}, ErrQRTooLarge},
		{"too wide for the TM-T88 head", Options{Profile: mustProfile(t, "epson-tm-t88"), QRModuleSize: 9}, ErrQRTooLarge},
		{"smaller modules fit 58 mm", Options{PaperWidth: Paper58mm, QRModuleSize: 6}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := EncodeTicket(Ticket{Number: "A1", QR: long}, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil {
				if data != nil {
					t.Error("bytes returned with the error")
				}
				if !strings.Contains(err.Error(), "61 modules × 9 dots = 549 dots") {
					t.Errorf("error %q lacks the sizes", err)
				}
			}
		})
	}
}
