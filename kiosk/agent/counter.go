package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/printer"
)

// Message is a text for people, in German and English.
type Message struct {
	Code string `json:"code"`
	DE   string `json:"de"`
	EN   string `json:"en"`
}

// Messages the agent shows without asking the server.
var (
	msgInvalidCode = Message{"ticket_invalid", "Dieser Code ist kein gültiges Ticket.", "This code is not a valid ticket."}
	msgOffline     = Message{"server_unreachable",
		"Der Server ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal oder wenden Sie sich an das Personal.",
		"The server cannot be reached right now. Please try again in a moment or ask the staff."}
	msgPrinter = Message{"printer_not_ready",
		"Der Drucker ist nicht bereit (z. B. Papier leer). Bitte wenden Sie sich an das Personal.",
		"The printer is not ready (e.g. out of paper). Please ask the staff."}
	msgPrintFailed = Message{"print_failed",
		"Ihre Nummer konnte nicht gedruckt werden. Bitte merken Sie sich die Nummer oder wenden Sie sich an das Personal.",
		"Your number could not be printed. Please note the number or ask the staff."}
)

// Outcome is the result of a check-in or walk-in, shown on the screen.
type Outcome struct {
	Kind   string       `json:"kind"` // "checkin", "walkin" or "error"
	Ticket *QueueTicket `json:"ticket,omitempty"`
	Error  *Message     `json:"error,omitempty"`
	// PrintError is set when a number was drawn but not printed.
	PrintError *Message   `json:"print_error,omitempty"`
	At         time.Time  `json:"at"`
	Appt       *time.Time `json:"appointment,omitempty"`
	// Lang is the session's language when the outcome arose, for the
	// ticket printed in it.
	Lang string `json:"lang,omitempty"`
}

// CheckIn checks in the appointment behind a scanned QR payload or a typed
// booking code and prints the queue ticket.
func (a *Agent) CheckIn(ctx context.Context, text string) Outcome {
	text = strings.TrimSpace(text)
	var qr, code string
	var appt *time.Time
	switch {
	case strings.HasPrefix(text, "TRM1."):
		claims, _, _, err := booking.ParseTicket(text)
		if err != nil {
			return a.fail(ctx, "checkin", msgInvalidCode)
		}
		qr = text
		t := claims.StartTime()
		appt = &t
	case len(booking.NormalizeBookingCode(text)) == 8:
		code = booking.NormalizeBookingCode(text)
	default:
		return a.fail(ctx, "checkin", msgInvalidCode)
	}
	if m, ok := a.printerBlocks(ctx); !ok {
		return a.fail(ctx, "checkin", m)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	t, err := a.client.CheckIn(rctx, qr, code)
	cancel()
	if err != nil {
		return a.fail(ctx, "checkin", a.serverMessage(err))
	}
	if t.Appointment != "" {
		if at, err := time.Parse(time.RFC3339, t.Appointment); err == nil {
			appt = &at
		}
	}
	return a.issue(ctx, Outcome{Kind: "checkin", Ticket: &t, Appt: appt})
}

// WalkIn draws and prints a number for a visitor without an appointment.
func (a *Agent) WalkIn(ctx context.Context, service string) Outcome {
	if m, ok := a.printerBlocks(ctx); !ok {
		return a.fail(ctx, "walkin", m)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	t, err := a.client.WalkIn(rctx, service)
	cancel()
	if err != nil {
		return a.fail(ctx, "walkin", a.serverMessage(err))
	}
	return a.issue(ctx, Outcome{Kind: "walkin", Ticket: &t})
}

// printerBlocks checks the printer before a number is drawn: a number
// nobody can take away would only hold up the queue.
func (a *Agent) printerBlocks(ctx context.Context) (Message, bool) {
	if a.printer == nil {
		return Message{}, true
	}
	st, err := a.pollPrinter(ctx)
	if err != nil || st.Err() != nil {
		return msgPrinter, false
	}
	return Message{}, true
}

func (a *Agent) serverMessage(err error) Message {
	if ae, ok := IsAPIError(err); ok && ae.Status < 500 && ae.MessageDE != "" {
		return Message{Code: ae.Code, DE: ae.MessageDE, EN: ae.Message}
	}
	a.log.Warn("server request failed", "err", err)
	return msgOffline
}

func (a *Agent) fail(ctx context.Context, kind string, m Message) Outcome {
	o := Outcome{Kind: "error", Error: &m, At: a.cfg.Now(), Lang: a.sessionLang()}
	a.log.Info("kiosk: refused", "action", kind, "code", m.Code)
	a.show(o)
	if a.cfg.PrintErrorSlips && a.printer != nil && m.Code != msgPrinter.Code {
		if err := a.printer.PrintTicket(ctx, a.errorSlip(m, o.Lang)); err != nil {
			a.notePrintError(err)
		}
	}
	return o
}

func (a *Agent) issue(ctx context.Context, o Outcome) Outcome {
	o.At, o.Lang = a.cfg.Now(), a.sessionLang()
	if a.printer != nil {
		if err := a.printer.PrintTicket(ctx, a.ticket(o)); err != nil {
			a.notePrintError(err)
			o.PrintError = &msgPrintFailed
		} else {
			a.setPrintFault("")
		}
	}
	a.log.Info("kiosk: ticket", "number", o.Ticket.Number, "service", o.Ticket.Service, "printed", o.PrintError == nil)
	a.show(o)
	return o
}

// notePrintError records the fault a failed print revealed: a ticket
// that cannot be laid out on this paper goes into the device status (the
// printer itself is fine, so its status would not show it); anything else
// is asked of the printer.
func (a *Agent) notePrintError(err error) {
	a.log.Warn("print failed", "err", err)
	switch {
	case errors.Is(err, printer.ErrQRTooLarge):
		a.setPrintFault("qr_too_large")
	case errors.Is(err, printer.ErrQRTooLong):
		a.setPrintFault("qr_too_long")
	default:
		a.pollPrinter(context.Background())
	}
}

// setPrintFault records why tickets cannot be printed and tells the server
// at once when that changes.
func (a *Agent) setPrintFault(fault string) {
	a.mu.Lock()
	changed := a.printFault != fault
	a.printFault = fault
	a.mu.Unlock()
	if changed {
		a.KickHeartbeat()
	}
}

// sessionLang is the language the visitor chose.
func (a *Agent) sessionLang() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.scr.Prefs.Lang
}

// ticketWidth is the longest line, in characters, put on a ticket: what
// fits 58 mm paper in font A.
const ticketWidth = 32

// bilingual reports whether a ticket for lang is printed in German and
// English, as for German and English sessions; the other languages get
// their own text with German below where the staff need it.
func bilingual(lang string) bool { return lang == "" || lang == "de" || lang == "en" }

// ticket lays out a queue ticket in the session's language. Lines the
// printer's code page cannot hold (Arabic, Cyrillic, Turkish ı and ş) are
// rendered as images by the printer library; the number, QR and date stay
// in the printer's own font.
func (a *Agent) ticket(o Outcome) printer.Ticket {
	t := o.Ticket
	name := t.LocationName
	if name == "" {
		name = a.sc.Location.Name
	}
	pt := printer.Ticket{Number: t.Number, Issued: o.At.In(a.tz)}
	if a.cfg.TicketQR != "" {
		pt.QR = strings.NewReplacer("{number}", t.Number, "{location}", t.Location).Replace(a.cfg.TicketQR)
	}
	if bilingual(o.Lang) {
		pt.Header = []string{name, "Ihre Nummer / Your number"}
		if t.ServiceName != "" {
			pt.Lines = append(pt.Lines, t.ServiceName)
		}
		if o.Appt != nil {
			pt.Lines = append(pt.Lines, "Termin / Appointment "+o.Appt.In(a.tz).Format("15:04"))
		}
		pt.Lines = append(pt.Lines,
			fmt.Sprintf("Vor Ihnen / Ahead of you: %d", t.Ahead),
			fmt.Sprintf("Wartezeit ca. %d Min.", t.EstimatedWaitMinutes),
			fmt.Sprintf("Estimated wait %d min", t.EstimatedWaitMinutes))
		pt.Footer = []string{"Bitte achten Sie auf die Anzeige.", "Please watch the display."}
		return pt
	}
	l := o.Lang
	pt.Lang = l
	pt.Header = []string{name, text(l, "your_number")}
	if t.ServiceName != "" {
		// The service's name is German, as the staff know it.
		pt.Lines = append(pt.Lines, t.ServiceName)
	}
	if o.Appt != nil {
		pt.Lines = append(pt.Lines, text(l, "appointment")+" "+o.Appt.In(a.tz).Format("15:04"))
	}
	pt.Lines = append(pt.Lines, wrap(fmt.Sprintf("%s: %d", text(l, "ahead"), t.Ahead), ticketWidth)...)
	pt.Lines = append(pt.Lines, wrap(text(l, "wait")+" "+text(l, "minutes", t.EstimatedWaitMinutes), ticketWidth)...)
	pt.Footer = append(wrap(text(l, "watch_display"), ticketWidth), text("de", "watch_display"))
	return pt
}

// errorSlip is the short slip printed for a failed check-in: in German and
// English, or in the session's language with the German for the staff.
func (a *Agent) errorSlip(m Message, lang string) printer.Ticket {
	slip := printer.Ticket{Header: []string{a.sc.Location.Name}, Issued: a.cfg.Now().In(a.tz)}
	if bilingual(lang) {
		slip.Lines = append(wrap(m.DE, ticketWidth), wrap(m.EN, ticketWidth)...)
		slip.Footer = []string{"Bitte wenden Sie sich an das Personal.", "Please ask the staff."}
		return slip
	}
	slip.Lang = lang
	local := messageText(lang, &m)
	slip.Lines = wrap(local.Text, ticketWidth)
	if local.Lang != "de" {
		slip.Lines = append(slip.Lines, wrap(m.DE, ticketWidth)...)
	}
	slip.Footer = append(wrap(text(lang, "ask_staff"), ticketWidth), text("de", "ask_staff"))
	return slip
}

// wrap breaks s into lines of at most n runes at spaces.
func wrap(s string, n int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len([]rune(line))+1+len([]rune(w)) > n {
			out = append(out, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}
