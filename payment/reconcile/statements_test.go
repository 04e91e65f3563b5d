package reconcile

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/camt"
	"github.com/digitale-verwaltung/termin/payment/settlement"
)

func stmtInfo(account, id string, seq int64, day int) StatementInfo {
	from := time.Date(2025, 3, day, 0, 0, 0, 0, berlin)
	return StatementInfo{Account: account, StatementID: id, ElectronicSeq: seq, From: from, To: from.Add(24*time.Hour - time.Second)}
}

func imported(run int64, s StatementInfo) ImportedStatement {
	return ImportedStatement{StatementInfo: s, RunID: run}
}

func TestCheckStatements(t *testing.T) {
	const acct = "DE02120300000000202051"
	tests := []struct {
		name  string
		prior []ImportedStatement
		now   []StatementInfo
		want  []string // code:expected:found:earlier run
	}{
		{"first import", nil, []StatementInfo{stmtInfo(acct, "S-53", 53, 15)}, nil},
		{"next in sequence", []ImportedStatement{imported(1, stmtInfo(acct, "S-52", 52, 14))},
			[]StatementInfo{stmtInfo(acct, "S-53", 53, 15)}, nil},
		{"gap of one", []ImportedStatement{imported(1, stmtInfo(acct, "S-51", 51, 13))},
			[]StatementInfo{stmtInfo(acct, "S-53", 53, 15)}, []string{"sequence_gap:52:53:0"}},
		{"gap filled later", []ImportedStatement{imported(1, stmtInfo(acct, "S-51", 51, 13)), imported(2, stmtInfo(acct, "S-53", 53, 15))},
			[]StatementInfo{stmtInfo(acct, "S-52", 52, 14)}, nil},
		{"older statement imported late", []ImportedStatement{imported(1, stmtInfo(acct, "S-53", 53, 15))},
			[]StatementInfo{stmtInfo(acct, "S-50", 50, 12)}, nil},
		{"other account's numbers do not count", []ImportedStatement{imported(1, stmtInfo("DE99", "S-51", 51, 13))},
			[]StatementInfo{stmtInfo(acct, "S-53", 53, 15)}, nil},
		{"numbers count anew each year", []ImportedStatement{imported(1, StatementInfo{Account: acct, StatementID: "S-2024-250", ElectronicSeq: 250,
			To: time.Date(2024, 12, 31, 12, 0, 0, 0, time.UTC)})},
			[]StatementInfo{stmtInfo(acct, "S-2025-3", 3, 4)}, nil},
		{"legal number when there is no electronic one", []ImportedStatement{imported(1, StatementInfo{Account: acct, StatementID: "A", LegalSeq: 7})},
			[]StatementInfo{{Account: acct, StatementID: "B", LegalSeq: 9}}, []string{"sequence_gap:8:9:0"}},
		{"second import by id", []ImportedStatement{imported(4, stmtInfo(acct, "S-53", 53, 15))},
			[]StatementInfo{stmtInfo(acct, "S-53", 53, 15)}, []string{"duplicate_statement:0:53:4"}},
		{"second import under another id", []ImportedStatement{imported(4, stmtInfo(acct, "S-53", 53, 15))},
			[]StatementInfo{stmtInfo(acct, "RESENT-53", 53, 15)}, []string{"duplicate_statement:0:53:4"}},
		{"account written differently", []ImportedStatement{imported(4, stmtInfo("DE02 1203 0000 0000 2020 51", "S-53", 53, 15))},
			[]StatementInfo{stmtInfo(acct, "S-53", 53, 15)}, []string{"duplicate_statement:0:53:4"}},
		{"same statement twice in one file", nil,
			[]StatementInfo{stmtInfo(acct, "S-53", 53, 15), stmtInfo(acct, "S-53", 53, 15)}, []string{"duplicate_statement:0:53:0"}},
		{"gap inside one file", nil,
			[]StatementInfo{stmtInfo(acct, "S-50", 50, 12), stmtInfo(acct, "S-53", 53, 15)}, []string{"sequence_gap:51:53:0"}},
		{"no numbers: only ids compared", []ImportedStatement{imported(1, StatementInfo{Account: acct, StatementID: "X"})},
			[]StatementInfo{{Account: acct, StatementID: "Y"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Reconciliation{Statements: tt.now}
			CheckStatements(tt.prior, r)
			var got []string
			for _, w := range r.Warnings {
				got = append(got, strings.Join([]string{w.Code, itoa(w.Expected), itoa(w.Found), itoa(w.EarlierRunID)}, ":"))
				if w.Detail == "" || w.StatementID == "" || w.Account == "" {
					t.Errorf("warning %+v", w)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("warnings %v, want %v (%+v)", got, tt.want, r.Warnings)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAccountKeys(t *testing.T) {
	r := &Reconciliation{Statements: []StatementInfo{{Account: "de02 1203"}, {Account: "X"}, {Account: "DE021203"}}}
	if got := strings.Join(r.AccountKeys(), ","); got != "DE021203,X" {
		t.Fatal(got)
	}
}

// The case a real city met: a camt.053.001.02 Sammelgutschrift of 6.00
// whose two transfers of 3.50 and 2.50 carry their amounts only in
// AmtDtls/TxAmt reconciles as two payments of the right amounts.
func TestBatchOfVersion02ReconcilesAsTwoPayments(t *testing.T) {
	f, err := os.Open("../camt/testdata/camt053-v02-batch.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := camt.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	d := time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC)
	rep := settlement.Report{Date: d, PayoutID: "SIM-PO-20250315"}
	day := []payment.Posting{
		{PostingID: "B-TB0000000012", Kind: "payment", Kassenzeichen: "TB0000000012", AmountCents: 350, ValueDate: d, PaymentReference: "TRM1"},
		{PostingID: "B-TB0000000020", Kind: "payment", Kassenzeichen: "TB0000000020", AmountCents: 250, ValueDate: d, PaymentReference: "TRM2"},
	}
	r := Match(rep, doc, nil, day, Options{PayoutAccount: "DE02120300000000202051"})
	if len(r.Items) != 2 || r.Counts[RecMatched] != 2 || len(r.Warnings) != 0 {
		t.Fatalf("run %+v", r)
	}
	for i, want := range []int64{350, 250} {
		if it := r.Items[i]; it.BankCents != want || it.PostedCents != want || it.PostingID != day[i].PostingID {
			t.Errorf("item %d: %+v", i, it)
		}
	}
	if len(r.Statements) != 1 || r.Statements[0].ElectronicSeq != 53 || r.Statements[0].MessageID != "CAMT053-20250316-0001" {
		t.Errorf("statements %+v", r.Statements)
	}
}
