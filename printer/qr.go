package printer

import (
	"fmt"
	"image"
	"image/color"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// qrModules draws the QR symbol for data without a quiet zone: printers
// print GS ( k symbols without one, and the paper margin provides it.
func qrModules(data []byte, level QRLevel) ([][]bool, error) {
	q, err := qrcode.New(string(data), recovery(level))
	if err != nil {
		return nil, err
	}
	q.DisableBorder = true
	return q.Bitmap(), nil
}

// scaleModules draws a module bitmap with each module module dots wide.
func scaleModules(bm [][]bool, module int) *image.Gray {
	n := len(bm) * module
	img := image.NewGray(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			c := color.Gray{Y: 0xFF}
			if bm[y/module][x/module] {
				c.Y = 0
			}
			img.SetGray(x, y, c)
		}
	}
	return img
}

// QRDataMode is the QR data encoding a payload needs as a whole.
type QRDataMode int

// QR data encodings, from the densest.
const (
	QRNumeric      QRDataMode = iota // digits only
	QRAlphanumeric                   // 0–9, A–Z, space and $%*+-./:
	QRByte                           // anything else, as bytes
)

func (m QRDataMode) String() string {
	return [...]string{"numeric", "alphanumeric", "byte"}[m]
}

// qrCapacity is the payload a version 40 symbol holds per data mode and
// error correction level L, M, Q, H (ISO/IEC 18004 table 7).
var qrCapacity = [3][4]int{
	QRNumeric:      {7089, 5596, 3993, 3057},
	QRAlphanumeric: {4296, 3391, 2420, 1852},
	QRByte:         {2953, 2331, 1663, 1273},
}

// qrDataMode returns the mode that encodes all of payload.
func qrDataMode(payload string) QRDataMode {
	mode := QRNumeric
	for i := 0; i < len(payload); i++ {
		c := payload[i]
		switch {
		case c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z', strings.IndexByte(" $%*+-./:", c) >= 0:
			mode = QRAlphanumeric
		default:
			return QRByte
		}
	}
	return mode
}

// QRCapacity returns the longest payload in mode that a QR code at level
// holds, within what GS ( k can store.
func QRCapacity(mode QRDataMode, level QRLevel) int {
	if level < QRLevelL || level > QRLevelH {
		level = QRLevelM
	}
	return min(qrCapacity[mode][level-QRLevelL], maxQRData)
}

// checkQRPayload rejects a payload over the capacity of its mode at level
// before any encoding work.
func checkQRPayload(payload string, level QRLevel) error {
	mode := qrDataMode(payload)
	if limit := QRCapacity(mode, level); len(payload) > limit {
		return fmt.Errorf("%w: %d bytes, %s mode at level %s holds %d",
			ErrQRTooLong, len(payload), mode, level, limit)
	}
	return nil
}

// String returns the level letter.
func (l QRLevel) String() string {
	if l < QRLevelL || l > QRLevelH {
		return fmt.Sprintf("QRLevel(%d)", byte(l))
	}
	return string("LMQH"[l-QRLevelL])
}

func recovery(l QRLevel) qrcode.RecoveryLevel {
	switch l {
	case QRLevelL:
		return qrcode.Low
	case QRLevelQ:
		return qrcode.High
	case QRLevelH:
		return qrcode.Highest
	default:
		return qrcode.Medium
	}
}
