package reconcile

import (
	"bytes"
	"slices"
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

// tx is one transaction of a batch.
func tx(cents int64, remittance ...string) camt.Transaction {
	return camt.Transaction{AmountCents: cents, AmountKnown: true, Credit: true, Remittance: remittance}
}

// batch is a batch credit with its transactions.
func batch(cents int64, txs ...camt.Transaction) camt.Entry {
	return camt.Entry{AmountCents: cents, Credit: true, AcctSvcrRef: "BATCH", BatchCount: len(txs), Transactions: txs}
}

// batchCount is a batch credit of n transactions without their details.
func batchCount(cents int64, n int) camt.Entry {
	return camt.Entry{AmountCents: cents, Credit: true, AcctSvcrRef: "BATCH", BatchCount: n}
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
		opt          Options
		warnings     []string // code/reason of each warning, in order
		bankCents    []int64  // bank amounts of the items, when given
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
		{
			name:     "a batch of direct transfers is matched transaction by transaction",
			rep:      report(a),
			doc:      statement(payout(report(a)), batch(600, tx(350, "Freibad TB03"), tx(250, "Freibad TB04"))),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMC", "TB03", 350, day), posting("TRMD", "TB04", 250, day)},
			want:     []string{"matched/TRMA", "matched/TRMC", "matched/TRMD"}, bankPayout: 864, feeTotal: 36,
			wantInDetail: "direct bank transfer BATCH/1", bankCents: []int64{864, 350, 250},
		},
		{
			name:     "a platform paying out each payment in a batch",
			rep:      report(a, b),
			doc:      statement(batch(864+420, tx(864, "TRMA"), tx(420, "Zahlung TB02"))),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMB", "TB02", 450, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMB", "TB02", 450, day)},
			want:     []string{"matched/TRMA", "matched/TRMB"}, feeTotal: 66, wantInDetail: "paid out singly, bank entry BATCH/2",
			bankCents: []int64{864, 420},
		},
		{
			name:     "a batch without details is flagged and listed whole",
			rep:      report(a),
			doc:      statement(payout(report(a)), batchCount(600, 2)),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMC", "TB03", 350, day)},
			want:     []string{"matched/TRMA", "posted_not_in_bank/TRMC", "bank_unmatched/BATCH"}, bankPayout: 864, feeTotal: 36,
			warnings: []string{"batch_flagged/details_missing"}, bankCents: []int64{864, 0, 600},
		},
		{
			name:     "a batch that does not add up is not split",
			rep:      report(a),
			doc:      statement(payout(report(a)), batch(600, tx(350, "TB03"), tx(200, "TB04"))),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMC", "TB03", 350, day)},
			want:     []string{"matched/TRMA", "posted_not_in_bank/TRMC", "bank_unmatched/BATCH"}, bankPayout: 864, feeTotal: 36,
			warnings: []string{"batch_flagged/sum_differs"},
		},
		{
			name:     "a split reference matches",
			rep:      report(a),
			doc:      statement(payout(report(a)), credit(450, "Gebuehr Freibad Kassenzeichen T", "B03 Erika Mustermann")),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMC", "TB03", 450, day)},
			want:     []string{"matched/TRMA", "matched/TRMC"}, bankPayout: 864, feeTotal: 36,
		},
		{
			name: "structured reference, additional texts and blanks in the reference match",
			rep:  report(a),
			doc: statement(payout(report(a)),
				camt.Entry{AmountCents: 450, Credit: true, AcctSvcrRef: "S", Transactions: []camt.Transaction{{StructuredRefs: []string{"RF18 TB03"}}}},
				camt.Entry{AmountCents: 250, Credit: true, AcctSvcrRef: "A", AdditionalInfo: "GUTSCHRIFT tb 04"},
				camt.Entry{AmountCents: 150, Credit: true, AcctSvcrRef: "T", Transactions: []camt.Transaction{{AdditionalInfo: "TB05"}}}),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day: []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMC", "TB03", 450, day), posting("TRMD", "TB04", 250, day),
				posting("TRME", "TB05", 150, day)},
			want: []string{"matched/TRMA", "matched/TRMC", "matched/TRMD", "matched/TRME"}, bankPayout: 864, feeTotal: 36,
		},
		{
			name: "reversals and returns are listed, never matched",
			rep:  report(a),
			doc: statement(payout(report(a)),
				camt.Entry{AmountCents: 450, Credit: true, Reversal: true, AcctSvcrRef: "REV", Transactions: []camt.Transaction{{Remittance: []string{"TB03"}}}},
				camt.Entry{AmountCents: 450, AcctSvcrRef: "RET", Charges: []camt.Charge{{AmountCents: 300, Type: "BRKF"}},
					Transactions: []camt.Transaction{{Remittance: []string{"Erstattung TB02"}, ReturnReason: "AC04"}}}),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMC", "TB03", 450, day)},
			want:     []string{"matched/TRMA", "posted_not_in_bank/TRMC", "bank_unmatched/REV", "bank_unmatched/RET"}, bankPayout: 864, feeTotal: 36,
			wantInDetail: "returned payment AC04 / charges BRKF -3.00 / Erstattung TB02", bankCents: []int64{864, 0, 450, -450},
		},
		{
			name: "a reversal quoting the payout is not the payout",
			rep:  report(a),
			doc: statement(camt.Entry{AmountCents: 864, AcctSvcrRef: "REV", Reversal: true,
				Transactions: []camt.Transaction{{Remittance: []string{"Storno PAYOUT-0514"}}}}, payout(report(a))),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day)},
			want:     []string{"matched/TRMA", "bank_unmatched/REV"}, bankPayout: 864, feeTotal: 36, wantInDetail: "reversal of an earlier booking",
		},
		{
			name: "pending and information entries are listed, not matched",
			rep:  report(a),
			doc: statement(payout(report(a)),
				camt.Entry{AmountCents: 450, Credit: true, Status: camt.StatusPending, Transactions: []camt.Transaction{{Remittance: []string{"TB03"}}}},
				camt.Entry{AmountCents: 450, Credit: true, Status: camt.StatusInfo, AcctSvcrRef: "I"},
				camt.Entry{AmountCents: 450, Credit: true, Status: "XXXX"}),
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMC", "TB03", 450, day)},
			want:     []string{"matched/TRMA", "posted_not_in_bank/TRMC"}, bankPayout: 864, feeTotal: 36,
			warnings: []string{"entry_skipped/pending", "entry_skipped/information", "entry_skipped/other_status"},
		},
		{
			name: "only the payout account is matched",
			rep:  report(a),
			doc: camt.Document{Statements: []camt.Statement{
				{ID: "STMT-1", Account: "DE99 0000 0000 0000 0000 00", Entries: []camt.Entry{payout(report(a))}},
				{ID: "STMT-2", Account: "DE02120300000000202051", Entries: []camt.Entry{credit(450, "TB03")}}}},
			opt:      Options{PayoutAccount: "de02 1203 0000 0000 2020 51"},
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day), posting("TRMC", "TB03", 450, day)},
			want:     []string{"posted_not_in_bank/TRMA", "matched/TRMC"}, feeTotal: 36,
			warnings: []string{"entry_skipped/other_account"},
		},
		{
			name: "balances that do not add up and unreadable entries are warned about",
			rep:  report(a),
			doc: camt.Document{Statements: []camt.Statement{{ID: "STMT-1", Account: "DE1", Entries: []camt.Entry{payout(report(a))},
				Balances: []camt.Balance{{Code: "OPBD", AmountCents: 1000}, {Code: "CLBD", AmountCents: 1000}}}},
				Problems: []camt.Problem{{Code: camt.ProblemEntryUnreadable, StatementID: "STMT-1", Account: "DE1", Entry: 2, Detail: "CdtDbtInd \"CR\""}}},
			postings: []payment.Posting{posting("TRMA", "TB01", 900, day)},
			day:      []payment.Posting{posting("TRMA", "TB01", 900, day)},
			want:     []string{"matched/TRMA"}, bankPayout: 864, feeTotal: 36,
			warnings: []string{"entry_unreadable", "balance_mismatch"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Match(tt.rep, tt.doc, tt.postings, tt.day, tt.opt)
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
			var warns []string
			for _, w := range r.Warnings {
				warns = append(warns, strings.TrimSuffix(w.Code+"/"+w.Reason, "/"))
				if w.Detail == "" || w.StatementID == "" {
					t.Errorf("warning without detail or statement: %+v", w)
				}
			}
			if strings.Join(warns, " ") != strings.Join(tt.warnings, " ") {
				t.Errorf("warnings %v, want %v", warns, tt.warnings)
			}
			if tt.bankCents != nil {
				var got []int64
				for _, it := range r.Items {
					got = append(got, it.BankCents)
				}
				if !slices.Equal(got, tt.bankCents) {
					t.Errorf("bank amounts %v, want %v", got, tt.bankCents)
				}
			}
			if r.SettlementDate != "2030-05-14" || (len(tt.doc.Statements) > 0 && r.StatementID != "STMT-1") {
				t.Errorf("date %s statement %s", r.SettlementDate, r.StatementID)
			}
		})
	}
}

func TestWriteCSVListsItemsAndFees(t *testing.T) {
	rep := report(line("TRMA", "TB01", 900, 36))
	doc := statement(payout(rep), camt.Entry{Position: 2, AmountCents: 100, Credit: true, Status: camt.StatusPending, AcctSvcrRef: "PEND"})
	r := Match(rep, doc, []payment.Posting{posting("TRMA", "TB01", 900, day)}, nil, Options{})
	var buf bytes.Buffer
	if err := WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"kategorie;referenz;", "matched;TRMA;TB01;P-TRMA;B-TB01;9.00;9.00;8.64;", "platform_fee;TRMA;;P-TRMA;;-0.36;",
		"warning_entry_skipped;PEND;;;;;;1.00;statement STMT-1 entry 2: entry with status PDNG, not matched"} {
		if !strings.Contains(out, want) {
			t.Errorf("CSV lacks %q:\n%s", want, out)
		}
	}
}
