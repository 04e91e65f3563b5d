package mail

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrCannotCompose is wrapped when an event can never become a message
// (unknown kind, a booking without an address or calendar UID, a link
// that needs a manage token the booking does not have): the worker
// dead-letters it instead of trying again.
var ErrCannotCompose = errors.New("mail: cannot compose message")

// Composer turns a booking event into a message.
type Composer struct {
	// From is the sender, e.g. "Stadt Koblenz <termine@koblenz.de>"; its
	// display name signs the messages.
	From string
	// BaseURL is the public base of the links, e.g.
	// "https://termine.koblenz.de".
	BaseURL string
	// Now stamps the calendar files (DTSTAMP); time.Now when nil.
	Now func() time.Time
}

// NewComposer checks the sender and the base URL.
func NewComposer(from, baseURL string) (*Composer, error) {
	if _, err := netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mail from %q: %w", from, err)
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("public base URL %q: must be an absolute http(s) URL", baseURL)
	}
	return &Composer{From: from, BaseURL: strings.TrimRight(baseURL, "/")}, nil
}

// body is the language-independent shape of every message; the text and
// the HTML part are both rendered from it.
type body struct {
	Lang      string
	Subject   string
	Greeting  string
	Intro     []string
	Rows      []row
	Action    *action
	Notes     []string
	Closing   string
	Signature string
}

type row struct{ Label, Value string }

type action struct {
	Label, URL, Hint string
}

// Compose builds the message for one event. lang falls back to the
// booking's language, then German.
func (c *Composer) Compose(ev Event, b Booking) (*Message, error) {
	lang := ev.Lang
	if lang == "" {
		lang = b.Lang
	}
	t, lang := textsFor(lang)
	subjectFormat, ok := t.subject[ev.Kind]
	if !ok {
		return nil, fmt.Errorf("%w: unknown event kind %q", ErrCannotCompose, ev.Kind)
	}
	to, err := netmail.ParseAddress(b.Email)
	if err != nil {
		return nil, fmt.Errorf("%w: booking %d has no valid e-mail address", ErrCannotCompose, b.ID)
	}
	loc := time.UTC
	if b.Timezone != "" {
		if l, err := time.LoadLocation(b.Timezone); err == nil {
			loc = l
		}
	}
	start, end := b.Start.In(loc), b.End.In(loc)

	m := &body{Lang: lang, Closing: t.closing, Signature: c.signature()}
	m.Subject = oneLine(fmt.Sprintf(subjectFormat, b.Code, t.short(lang, start)))
	if name := oneLine(b.Name); name != "" {
		m.Greeting = fmt.Sprintf(t.greeting, name)
	} else {
		m.Greeting = t.greetingNoName
	}
	intro := t.intro[ev.Kind]
	if pool := t.introPool[ev.Kind]; pool != "" && len(b.Tickets) > 0 {
		intro = pool
	}
	m.Intro = []string{intro}

	m.Rows = append(m.Rows, row{t.labelCode, b.Code}, row{t.labelWhen, t.when(lang, start, end)})
	if ev.Kind == KindRescheduled && !b.PreviousStart.IsZero() {
		m.Rows = append(m.Rows, row{t.labelPrevious, t.when(lang, b.PreviousStart.In(loc), b.PreviousEnd.In(loc))})
	}
	if where := b.place(); where != "" {
		m.Rows = append(m.Rows, row{t.labelWhere, where})
	}
	if len(b.Services) > 0 {
		m.Rows = append(m.Rows, row{t.labelServices, b.serviceNames()})
	}
	if len(b.Tickets) > 0 {
		m.Rows = append(m.Rows, row{t.labelTickets, b.ticketLines()})
		if b.Persons > 0 {
			m.Rows = append(m.Rows, row{t.labelPersons, strconv.Itoa(b.Persons)})
		}
	}
	showFee := b.FeeCents > 0 && ev.Kind != KindActivationExpired && ev.Kind != KindCancelled
	if showFee {
		format := t.feeAtCounter
		if b.PaidOnline {
			format = t.feePaidOnline
		}
		m.Rows = append(m.Rows, row{t.labelFee, fmt.Sprintf(format, money(lang, b.FeeCents))})
	}
	if ev.Kind == KindConfirmed || ev.Kind == KindRescheduled || ev.Kind == KindReminder {
		if bring := b.bring(lang); bring != "" {
			m.Rows = append(m.Rows, row{t.labelBring, bring})
		}
	}

	var calendar *CalendarEvent
	switch ev.Kind {
	case KindConfirmed, KindRescheduled:
		// A confirmation delivered after the booking ended (cancelled,
		// expired) carries no calendar entry: the cancellation follows.
		if b.Status == StatusConfirmed && b.CalendarUID != "" {
			calendar = c.calendar(t, lang, b, MethodPublish)
			if ev.Kind == KindConfirmed {
				m.Notes = append(m.Notes, t.calendarAdded)
			} else {
				m.Notes = append(m.Notes, t.calendarUpdated)
			}
		}
		c.manageAction(m, t, b)
	case KindCancelled:
		if b.OfficeReason != "" {
			m.Notes = append(m.Notes, fmt.Sprintf(t.officeCancelled, b.OfficeReason))
			m.Action = &action{Label: t.actionBookAgain, URL: c.BaseURL + "/", Hint: t.linkHint}
		}
		if b.PaidOnline && b.FeeCents > 0 {
			m.Notes = append(m.Notes, fmt.Sprintf(t.refund, money(lang, b.FeeCents)))
		}
		if b.CalendarUID != "" {
			calendar = c.calendar(t, lang, b, MethodCancel)
			m.Notes = append(m.Notes, t.calendarRemoved)
		}
	case KindReminder:
		c.manageAction(m, t, b)
	case KindActivationRequested:
		if b.ManageToken == "" {
			return nil, fmt.Errorf("%w: booking %d has no manage token for the activation link", ErrCannotCompose, b.ID)
		}
		m.Action = &action{Label: t.actionActivate, URL: c.bookingURL(b, "/aktivieren"), Hint: t.linkHint}
		if !b.ActivationDeadline.IsZero() {
			d := b.ActivationDeadline.In(loc)
			m.Notes = append(m.Notes, fmt.Sprintf(t.activationDeadline, t.when(lang, d, time.Time{})))
		}
		m.Notes = append(m.Notes, t.notRequested)
	case KindActivationExpired:
		m.Action = &action{Label: t.actionBookAgain, URL: c.BaseURL + "/", Hint: t.linkHint}
	case KindManageLink:
		if b.ManageToken == "" {
			return nil, fmt.Errorf("%w: booking %d has no manage token", ErrCannotCompose, b.ID)
		}
		c.manageAction(m, t, b)
		m.Notes = append(m.Notes, t.notRequested)
	}

	msg := &Message{
		ID:      c.messageID(ev),
		From:    c.From,
		To:      Address{Name: oneLine(b.Name), Email: to.Address},
		Subject: m.Subject,
	}
	msg.Text = renderText(m)
	html, err := renderHTML(m)
	if err != nil {
		return nil, err
	}
	msg.HTML = html
	if calendar != nil {
		data, err := calendar.ICS()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCannotCompose, err)
		}
		msg.Attachments = append(msg.Attachments, Attachment{
			Name:        calendarFileName(lang),
			ContentType: "text/calendar; charset=utf-8; method=" + calendar.Method,
			Data:        data,
		})
	}
	return msg, nil
}

// manageAction adds the manage link; a booking without a recomputable
// token gets its message without the link rather than no message.
func (c *Composer) manageAction(m *body, t *texts, b Booking) {
	if b.ManageToken == "" {
		return
	}
	m.Action = &action{Label: t.actionManage, URL: c.bookingURL(b, ""), Hint: t.linkHint}
	m.Notes = append(m.Notes, t.keepLink)
}

// bookingURL is /termin/{code}{suffix}?t=TOKEN under the public base.
func (c *Composer) bookingURL(b Booking, suffix string) string {
	return c.BaseURL + "/termin/" + url.PathEscape(b.Code) + suffix + "?t=" + url.QueryEscape(b.ManageToken)
}

func (c *Composer) calendar(t *texts, lang string, b Booking, method string) *CalendarEvent {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	what := b.serviceNames()
	summary := fmt.Sprintf(t.summaryOffice, b.LocationName, what)
	if len(b.Tickets) > 0 {
		summary = fmt.Sprintf(t.summaryPool, b.LocationName, b.ticketLines())
	}
	if what == "" && len(b.Tickets) == 0 {
		summary = b.LocationName
	}
	return &CalendarEvent{
		UID:         b.CalendarUID,
		Sequence:    b.Sequence,
		Method:      method,
		Start:       b.Start,
		End:         b.End,
		Timezone:    b.Timezone,
		Summary:     summary,
		Location:    b.place(),
		Description: fmt.Sprintf(t.calendarDescription, b.Code),
		AlarmText:   fmt.Sprintf(t.alarm, summary),
		Stamp:       now(),
	}
}

// messageID is stable per event: a copy sent again after a lost lease has
// the same Message-ID, so the receiving side can recognise it.
func (c *Composer) messageID(ev Event) string {
	domain := "termin.invalid"
	if a, err := netmail.ParseAddress(c.From); err == nil {
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 && at+1 < len(a.Address) {
			domain = a.Address[at+1:]
		}
	}
	return fmt.Sprintf("booking-event-%d.%s@%s", ev.ID, strings.ReplaceAll(ev.Kind, "_", "-"), domain)
}

func (c *Composer) signature() string {
	if a, err := netmail.ParseAddress(c.From); err == nil && a.Name != "" {
		return a.Name
	}
	return ""
}

func (b Booking) place() string {
	name, addr := oneLine(b.LocationName), oneLine(b.LocationAddress)
	switch {
	case name != "" && addr != "":
		return name + ", " + addr
	case name != "":
		return name
	}
	return addr
}

func (b Booking) serviceNames() string {
	names := make([]string, 0, len(b.Services))
	for _, s := range b.Services {
		names = append(names, oneLine(s.Name))
	}
	return strings.Join(names, ", ")
}

func (b Booking) ticketLines() string {
	lines := make([]string, 0, len(b.Tickets))
	for _, t := range b.Tickets {
		lines = append(lines, fmt.Sprintf("%d × %s", t.Count, oneLine(t.Name)))
	}
	return strings.Join(lines, ", ")
}

// bring lists what to bring per service; one service needs no name.
func (b Booking) bring(lang string) string {
	var parts []string
	for _, s := range b.Services {
		text := oneLine(s.Bring.In(lang))
		if text == "" {
			continue
		}
		if len(b.Services) > 1 {
			text = oneLine(s.Name) + ": " + text
		}
		parts = append(parts, text)
	}
	return strings.Join(parts, "; ")
}

func renderText(m *body) string {
	var b strings.Builder
	b.WriteString(m.Greeting + "\n\n")
	for _, p := range m.Intro {
		b.WriteString(p + "\n\n")
	}
	width := 0
	for _, r := range m.Rows {
		width = max(width, len([]rune(r.Label)))
	}
	for _, r := range m.Rows {
		fmt.Fprintf(&b, "%s:%s %s\n", r.Label, strings.Repeat(" ", width-len([]rune(r.Label))), r.Value)
	}
	if len(m.Rows) > 0 {
		b.WriteString("\n")
	}
	if m.Action != nil {
		b.WriteString(m.Action.Label + ":\n" + m.Action.URL + "\n\n")
	}
	for _, n := range m.Notes {
		b.WriteString(n + "\n\n")
	}
	b.WriteString(m.Closing + "\n")
	if m.Signature != "" {
		b.WriteString(m.Signature + "\n")
	}
	return b.String()
}

// The HTML part: one column, system fonts, a real link as the button and
// the address spelled out below it; inline styles, as mail programs drop
// style sheets.
var htmlMessage = htmltemplate.Must(htmltemplate.New("mail").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title>
</head>
<body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1b1b1b;background:#ffffff">
<div style="max-width:600px;margin:0 auto">
<p>{{.Greeting}}</p>
{{range .Intro}}<p>{{.}}</p>
{{end}}{{if .Rows}}<table style="border-collapse:collapse;margin:16px 0">
{{range .Rows}}<tr><th scope="row" style="text-align:left;vertical-align:top;padding:4px 16px 4px 0;font-weight:bold">{{.Label}}</th><td style="padding:4px 0">{{.Value}}</td></tr>
{{end}}</table>
{{end}}{{with .Action}}<p style="margin:24px 0"><a href="{{.URL}}" style="display:inline-block;padding:12px 20px;background:#004b87;color:#ffffff;text-decoration:underline;border-radius:4px;font-weight:bold">{{.Label}}</a></p>
<p style="font-size:14px">{{.Hint}}<br><span style="word-break:break-all">{{.URL}}</span></p>
{{end}}{{range .Notes}}<p>{{.}}</p>
{{end}}<p>{{.Closing}}{{if .Signature}}<br>{{.Signature}}{{end}}</p>
</div>
</body>
</html>
`))

func renderHTML(m *body) (string, error) {
	var b bytes.Buffer
	if err := htmlMessage.Execute(&b, m); err != nil {
		return "", fmt.Errorf("render html mail: %w", err)
	}
	return b.String(), nil
}

// CalendarFile is the booking's calendar file as the mails attach it, for
// the confirmation page's download: PUBLISH while the booking stands,
// CANCEL once it is cancelled. It returns the file name and content type.
func (c *Composer) CalendarFile(b Booking, lang string) (name, contentType string, data []byte, err error) {
	t, lang := textsFor(lang)
	if b.CalendarUID == "" {
		return "", "", nil, fmt.Errorf("%w: booking %d has no calendar UID", ErrCannotCompose, b.ID)
	}
	method := MethodPublish
	if b.Status == StatusCancelled {
		method = MethodCancel
	}
	data, err = c.calendar(t, lang, b, method).ICS()
	if err != nil {
		return "", "", nil, fmt.Errorf("%w: %v", ErrCannotCompose, err)
	}
	return calendarFileName(lang), "text/calendar; charset=utf-8; method=" + method, data, nil
}

func calendarFileName(lang string) string {
	if lang == "en" {
		return "appointment.ics"
	}
	return "termin.ics"
}
