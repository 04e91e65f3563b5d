package printer

import (
	"image"
	"image/color"

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

// qrImage draws the symbol with each module scaled to module dots.
func qrImage(data []byte, level QRLevel, module int) (*image.Gray, error) {
	bm, err := qrModules(data, level)
	if err != nil {
		return nil, err
	}
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
	return img, nil
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
