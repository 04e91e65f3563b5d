package reconcile

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/camt"
	"github.com/digitale-verwaltung/termin/payment/settlement"
)

var day = time.Date(2030, time.May, 14, 0, 0, 0, 0, time.UTC)

func line(ref, kz string, gross, fee int64) settlement.Line {
	kind := settlement.KindPayment
	if gross < 0 {
		kind = settlement.KindRefund
	}
	return settlement.Line{Kind: kind, Date: day, PlatformID: "P-" + ref, Reference: ref, Kassenzeichen: kz,
		GrossCents: gross, FeeCents: fee, NetCents: gross - fee}
}

func report(lines ...settlement.Line) settlement.Report {
	r := settlement.Report{Date: day, PayoutID: "PAYOUT-0514", Lines: lines}
	r.Totals()
	return r
}

func posting(ref, kz string, amount int64, valueDate time.Time) payment.Posting {
	kind, id := "payment", "B-"+kz
	if amount < 0 {
		kind, id = "storno", "S-"+kz
	}
	return payment.Posting{PostingID: id, Kind: kind, Kassenzeichen: kz, AmountCents: amount, ValueDate: valueDate, PaymentReference: ref}
}

func statement(entries ...camt.Entry) camt.Document {
	return camt.Document{Statements: []camt.Statement{{ID: "STMT-1", Entries: entries}}}
}

func credit(cents int64, remittance ...string) camt.Entry {
	return camt.Entry{AmountCents: cents, Credit: true, AcctSvcrRef: "BANK-" + strings.Join(remittance, "-"),
		Transactions: []camt.Transaction{{Remittance: remittance}}}
}

// payout is the bank credit of a report's payout.
func payout(r settlement.Report) camt.Entry { return credit(r.NetCents, "Auszahlung "+r.PayoutID) }

func TestMatch(t *testing.T) {
	a := line("TRMA", "TB01", 900, 36)
	b := line("TRMB", "TB02", 450, 30)
	tests := []struct {
		name         string
		rep          settlement.Report
		doc          camt.Document
		postings     []payment.Posting // of the report's payments
		day          []payment.Posting // value date = settlement day
		want         []string          // category/reference of each item, in order
		bankPayout   int64
		feeTotal     int64
		wantInDetail string
	}{
		{
			name:     "all matched",
			rep:      report(a, b),
			doc:      statement(payout(report(a, b))),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMB", "TB02", 450, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMB", "TB02", 450, day)},
			want:     []string{"matched/TRMA", "matched/TRMB"}, bankPayout: 1350 - 66, feeTotal: 66,
		},
		{
			name:     "paid but not posted",
			rep:      report(a, b),
			doc:      statement(payout(report(a, b))),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day)},
			want:     []string{"matched/TRMA", "paid_not_posted/TRMB"}, bankPayout: 1284, feeTotal: 66,
		},
		{
			name:     "amount differs from the posting",
			rep:      report(a),
			doc:      statement(payout(report(a))),
			postings: []payment.Posting{posting("TRMA", "TB01", 800, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 800, day)},
			want:     []string{"amount_differs/TRMA"}, bankPayout: 864, feeTotal: 36, wantInDetail: "settled amount differs",
		},
		{
			name:     "Kassenzeichen differs",
			rep:      report(line("TRMA", "TB99", 900, 36)),
			doc:      statement(payout(report(a))),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day)},
			want:     []string{"amount_differs/TRMA"}, bankPayout: 864, feeTotal: 36, wantInDetail: "Kassenzeichen differs",
		},
		{
			name:     "payout not on the statement",
			rep:      report(a),
			doc:      statement(),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day)},
			want:     []string{"posted_not_in_bank/TRMA"}, feeTotal: 36,
		},
		{
			name:     "payout amount differs from the report",
			rep:      report(a),
			doc:      statement(credit(800, "PAYOUT-0514")),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day)},
			want:     []string{"amount_differs/PAYOUT-0514", "matched/TRMA"}, bankPayout: 800, feeTotal: 36,
		},
		{
			name:     "posted on the day but not settled",
			rep:      report(a),
			doc:      statement(payout(report(a))),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMC", "TB03", 450, day)},
			want:     []string{"matched/TRMA", "posted_not_in_bank/TRMC"}, bankPayout: 864, feeTotal: 36,
		},
		{
			name:     "direct transfer quoting the Kassenzeichen",
			rep:      report(a),
			doc:      statement(payout(report(a)), credit(450, "Gebuehr TB03 Mustermann")),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMC", "TB03", 450, day)},
			want:     []string{"matched/TRMA", "matched/TRMC"}, bankPayout: 864, feeTotal: 36, wantInDetail: "direct bank transfer",
		},
		{
			name:     "unexpected credit",
			rep:      report(a),
			doc:      statement(payout(report(a)), credit(1234, "Spende")),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day)},
			want:     []string{"matched/TRMA", "bank_unmatched/BANK-Spende"}, bankPayout: 864, feeTotal: 36,
		},
		{
			name: "refund is matched against its Storno",
			rep:  report(a, line("TRMB", "TB02", -450, 0)),
			doc:  statement(payout(report(a, line("TRMB", "TB02", -450, 0)))),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMB", "TB02", 450, day.AddDate(0, 0, -3)),
				posting("TRMB", "TB02", -450, day)},
			day:  []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMB", "TB02", -450, day)},
			want: []string{"matched/TRMA", "matched/TRMB"}, bankPayout: 414, feeTotal: 36,
		},
		{
			name:     "payment posted on another value date still matches",
			rep:      report(a),
			doc:      statement(payout(report(a))),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day.AddDate(0, 0, -1))},
			want:     []string{"matched/TRMA"}, bankPayout: 864, feeTotal: 36, wantInDetail: "value date 2030-05-13",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Match(tt.rep, tt.doc, tt.postings, tt.day)
			var got []string
			counts := map[string]int{}
			details := ""
			for _, it := range r.Items {
				got = append(got, it.Category+"/"+it.Reference)
				counts[it.Category]++
				details += it.Detail + "\n"
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("items %v, want %v", got, tt.want)
			}
			for c, n := range counts {
				if r.Counts[c] != n {
					t.Errorf("count %s = %d, items say %d", c, r.Counts[c], n)
				}
			}
			if r.BankPayout != tt.bankPayout || r.FeeTotalCents != tt.feeTotal || r.PayoutCents != tt.rep.NetCents {
				t.Errorf("bank payout %d fees %d payout %d, want %d %d %d", r.BankPayout, r.FeeTotalCents, r.PayoutCents,
					tt.bankPayout, tt.feeTotal, tt.rep.NetCents)
			}
			if tt.wantInDetail != "" && !strings.Contains(details, tt.wantInDetail) {
				t.Errorf("details %q lack %q", details, tt.wantInDetail)
			}
			if r.SettlementDate != "2030-05-14" || (len(tt.doc.Statements) > 0 && r.StatementID != "STMT-1") {
				t.Errorf("date %s statement %s", r.SettlementDate, r.StatementID)
			}
		})
	}
}

func TestWriteCSVListsItemsAndFees(t *testing.T) {
	rep := report(line("TRMA", "TB01", 900, 36))
	r := Match(rep, statement(payout(rep)), []payment.Posting{posting("TRMA", "TB01", 900, day)}, nil)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"kategorie;referenz;", "matched;TRMA;TB01;P-TRMA;B-TB01;9.00;9.00;8.64;", "platform_fee;TRMA;;P-TRMA;;-0.36;"} {
		if !strings.Contains(out, want) {
			t.Errorf("CSV lacks %q:\n%s", want, out)
		}
	}
}
