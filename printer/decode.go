package printer

import "strings"

// Line is a printed text line recovered from ESC/POS bytes.
type Line struct {
	Text  string
	Align Alignment
	// Bold is set when any part of the line is bold.
	Bold bool
	// Width and Height are the largest GS ! multipliers on the line.
	Width, Height int
}

// Receipt is what was printed on one piece of paper: everything up to and
// including a cut, or what follows the last cut.
type Receipt struct {
	// Lines holds the non-empty text lines in paper order.
	Lines []Line
	// QR holds the payloads of QR codes printed with GS ( k. Raster QR
	// codes are images and are only counted in Images.
	QR []string
	// Images counts GS v 0 raster images; a banded image counts once per
	// band.
	Images int
	// Cut is set when the receipt ended with a cut.
	Cut bool
}

// Text returns the lines joined by newlines, for assertions and logs.
func (r Receipt) Text() string {
	lines := make([]string, len(r.Lines))
	for i, l := range r.Lines {
		lines[i] = l.Text
	}
	return strings.Join(lines, "\n")
}

// Decode interprets ESC/POS bytes and returns the receipts they print,
// split at cuts. It never fails: unknown commands are skipped and a
// command cut off at the end is ignored. Text is decoded with the code
// page selected by ESC t, in Epson's numbering.
func Decode(data []byte) []Receipt {
	return DecodeProfile(data, DefaultProfile)
}

// DecodeProfile is Decode for a printer model whose ESC t number for
// PC858 is the profile's, e.g. 4 on Star or 6 on Wincor Nixdorf.
func DecodeProfile(data []byte, profile Profile) []Receipt {
	var out []Receipt
	var cur Receipt
	empty := true
	for _, b := range parse(data, profile) {
		switch b.kind {
		case blockLine:
			l := Line{Align: b.align, Width: 1, Height: 1}
			var sb strings.Builder
			for _, r := range b.runs {
				sb.WriteString(r.text)
				l.Bold = l.Bold || r.style.bold
				l.Width, l.Height = max(l.Width, r.style.w), max(l.Height, r.style.h)
			}
			l.Text = sb.String()
			if strings.TrimSpace(l.Text) != "" {
				cur.Lines = append(cur.Lines, l)
				empty = false
			}
		case blockQR:
			cur.QR = append(cur.QR, string(b.qr))
			empty = false
		case blockRaster:
			cur.Images++
			empty = false
		case blockCut:
			cur.Cut = true
			out = append(out, cur)
			cur, empty = Receipt{}, true
		}
	}
	if !empty {
		out = append(out, cur)
	}
	return out
}
