package paycallback

import "html/template"

// resultPage is what a citizen's browser shows on return from the pay page.
var resultPage = template.Must(template.New("result").Parse(`<!doctype html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} – termin</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}
h1{font-size:1.4rem}p.en{color:#444}code{background:#eee;padding:.1rem .3rem}</style></head>
<body><main><h1 role="status">{{.Title}}</h1><p>{{.TextDE}}</p><p class="en" lang="en">{{.TextEN}}</p>
{{with .P.BookingCode}}<p>Buchungscode / booking code: <code>{{.}}</code></p>{{end}}
<p>Kassenzeichen: <code>{{.P.Kassenzeichen}}</code></p></main></body></html>`))

// resultTexts are the page's title and text for a payment state.
func resultTexts(state string) (title, de, en string) {
	switch state {
	case "paid", "confirmed":
		return "Bezahlt – Ihre Buchung ist bestätigt", "Vielen Dank. Die Zahlung ist eingegangen und Ihre Buchung ist bestätigt.",
			"Thank you. The payment has arrived and your booking is confirmed."
	case "created", "initiated":
		return "Zahlung wird geprüft", "Die Zahlung ist noch nicht abgeschlossen. Diese Seite zeigt den aktuellen Stand, wenn Sie sie neu laden.",
			"The payment is not complete yet. Reload this page to see the current state."
	case "refunded":
		return "Zahlung erstattet", "Der Betrag wurde erstattet.", "The amount has been refunded."
	}
	return "Keine Buchung", "Die Zahlung wurde nicht abgeschlossen; die Reservierung ist freigegeben.",
		"The payment was not completed; the reservation has been released."
}
