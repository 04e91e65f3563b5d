package finance

import (
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

type postingJSON struct {
	PostingID        string    `json:"posting_id"`
	Kind             string    `json:"kind"`
	Reverses         string    `json:"reverses,omitempty"`
	Kassenzeichen    string    `json:"kassenzeichen"`
	AmountCents      int64     `json:"amount_cents"`
	Currency         string    `json:"currency"`
	ValueDate        time.Time `json:"value_date"`
	BookingDate      time.Time `json:"booking_date"`
	Haushaltsstelle  string    `json:"haushaltsstelle"`
	Produkt          string    `json:"produkt"`
	Sachkonto        string    `json:"sachkonto"`
	Kostenstelle     string    `json:"kostenstelle"`
	BookingText      string    `json:"booking_text"`
	PaymentMethod    string    `json:"payment_method"`
	Platform         string    `json:"platform"`
	PlatformID       string    `json:"platform_id"`
	PaymentReference string    `json:"payment_reference"`
	BookingCode      string    `json:"booking_code"`
	CreatedAt        time.Time `json:"created_at"`
}

func newPostingJSON(p *payment.Posting) postingJSON {
	return postingJSON{PostingID: p.PostingID, Kind: p.Kind, Reverses: p.Reverses, Kassenzeichen: p.Kassenzeichen,
		AmountCents: p.AmountCents, Currency: p.Currency, ValueDate: p.ValueDate, BookingDate: p.BookingDate,
		Haushaltsstelle: p.Haushaltsstelle, Produkt: p.Produkt, Sachkonto: p.Sachkonto, Kostenstelle: p.Kostenstelle,
		BookingText: p.BookingText, PaymentMethod: p.PaymentMethod, Platform: p.Platform, PlatformID: p.PlatformID,
		PaymentReference: p.PaymentReference, BookingCode: p.BookingCode, CreatedAt: p.CreatedAt}
}

type postingsJSON struct {
	Postings []postingJSON `json:"postings"`
}
