package printer

import (
	"time"
)

// Ticket describes a queue ticket (Wartenummer) as printed by a kiosk.
type Ticket struct {
	// Header lines, e.g. the location name; printed centred, the first
	// one bold.
	Header []string
	// Number is the queue number, e.g. "A017", printed large.
	Number string
	// Desk, if set, names the counter to go to, e.g. "Schalter 3",
	// printed double size under the number.
	Desk string
	// Lines are body text lines, e.g. the service and a hint.
	Lines []string
	// QR is an optional payload printed as a QR code.
	QR string
	// Footer lines printed small under the QR code.
	Footer []string
	// Lang is the ticket's language as a BCP 47 tag ("de", "en", "tr",
	// "ar", "uk", "ru"); empty means German. Header, Lines and Footer
	// lines PC858 cannot hold are drawn as images in this language, and
	// a right-to-left language right-aligns the body. Tags that do not
	// parse are printed left to right.
	Lang string
	// Issued, if set, is printed as "dd.mm.yyyy hh:mm" in its own
	// location; callers pass Europe/Berlin time.
	Issued time.Time
}

// ticketCutFeed is how far the paper moves past the last line before the
// cut, in dots, so the footer clears the cutter blade.
const ticketCutFeed = 48

// EncodeTicket returns the ESC/POS bytes for t: init, header, large
// number, text, QR, footer, feed and partial cut.
func EncodeTicket(t Ticket, opts Options) ([]byte, error) {
	e := NewEncoder(opts).Lang(t.Lang)
	// Centred lines read the same either way; right-to-left text is
	// right-aligned, as readers of Arabic expect of a body of text.
	rtl := isRTL(t.Lang)
	body := func() {
		if rtl {
			e.Align(AlignRight)
		}
	}
	e.Init().Align(AlignCenter)
	for i, h := range t.Header {
		e.Bold(i == 0).PrintLine(h)
	}
	e.Bold(false)
	if t.Number != "" {
		// Quad size when it fits the paper: font A is 12 dots wide.
		size := 4
		if len([]rune(t.Number))*12*size > e.opts.PaperWidth {
			size = 2
		}
		e.Feed(1).Size(size, size).Bold(true).Line(t.Number)
		if t.Desk != "" {
			e.Size(2, 2).PrintLine(t.Desk)
		}
		e.Bold(false).Size(1, 1).Feed(1)
	} else if t.Desk != "" {
		e.Size(2, 2).Bold(true).PrintLine(t.Desk).Bold(false).Size(1, 1).Feed(1)
	}
	body()
	for _, l := range t.Lines {
		e.PrintLine(l)
	}
	// The QR code, or a blank line, separates the body from the footer.
	if t.QR != "" {
		if rtl {
			e.Align(AlignCenter)
		}
		e.Feed(1).QR(t.QR).Feed(1)
		body()
	} else if len(t.Footer) > 0 {
		e.Feed(1)
	}
	for _, f := range t.Footer {
		e.PrintLine(f)
	}
	if !t.Issued.IsZero() {
		e.Line(t.Issued.Format("02.01.2006 15:04"))
	}
	e.Align(AlignLeft).Cut(ticketCutFeed)
	return e.Bytes()
}
