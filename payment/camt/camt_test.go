package camt

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var d15 = time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC)

func mustParse(t *testing.T, in string) Document {
	t.Helper()
	doc, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatalf("%v\n%s", err, in)
	}
	return doc
}

// Every published version of both messages reads the same statement.
func TestParseEveryVersion(t *testing.T) {
	for _, kind := range []string{KindStatement, KindNotification} {
		for v := FirstVersion; v <= LastVersion; v++ {
			f := fixture{kind: kind, version: v}
			t.Run(Namespace(kind, v), func(t *testing.T) {
				doc := mustParse(t, f.simple())
				if doc.Kind != kind || doc.Version != Namespace(kind, v)[len(Namespace(kind, v))-6:] || doc.MessageID == "" ||
					len(doc.Statements) != 1 || len(doc.Problems) != 0 {
					t.Fatalf("doc %+v", doc)
				}
				st := doc.Statements[0]
				if st.ID != "STMT-20250315" || st.Account != "DE02120300000000202051" || st.IBAN != st.Account || st.Currency != "EUR" ||
					st.ElectronicSeq != 74 || st.LegalSeq != 74 || len(st.Entries) != 2 {
					t.Fatalf("statement %+v", st)
				}
				want := Entry{Position: 1, AmountCents: 2631, Currency: "EUR", Credit: true, Status: "BOOK", BookingDate: d15, ValueDate: d15,
					AcctSvcrRef: "BANKREF-1", BankTxCode: "PMNT/RCDT/ESCT", Transactions: []Transaction{{
						EndToEndID: "SIM-PO-20250314", AmountCents: 2631, Currency: "EUR", AmountKnown: true, Credit: true,
						Remittance: []string{"SIM-PO-20250314", "Auszahlung 2025-03-14"}, DebtorName: "Zahlungsplattform"}}}
				if got := st.Entries[0]; !reflect.DeepEqual(got, want) {
					t.Fatalf("entry\n got %+v\nwant %+v", got, want)
				}
				if d := st.Entries[1]; d.SignedCents() != -500 || d.Position != 2 || len(d.Transactions) != 0 {
					t.Errorf("debit %+v", d)
				}
				if b := st.CheckBalance(); !b.Checked || !b.OK() || b.OpeningCents != 10000 || b.BookedCents != 2131 {
					t.Errorf("balance %+v", b)
				}
			})
		}
	}
}

// The variants of entries banks send, each in an old and a new version.
func TestParseEntryVariants(t *testing.T) {
	type check func(t *testing.T, st Statement)
	tests := []struct {
		name  string
		entry func(f fixture) string
		check check
	}{
		{"batch with details", func(f fixture) string {
			return f.entry(entry{amount: "6.00", batch: 2, txs: []string{f.tx("E2E-A", "3.50", "Erika", "TB0000000012"), f.tx("E2E-B", "2.50", "Max", "TB0000000020")}})
		}, func(t *testing.T, st Statement) {
			e := st.Entries[0]
			if !e.IsBatch() || e.BatchCount != 2 || len(e.Transactions) != 2 || e.Transactions[0].AmountCents != 350 ||
				e.Transactions[1].AmountCents != 250 || !e.Transactions[1].Credit || !e.Transactions[1].AmountKnown {
				t.Fatalf("batch %+v", e)
			}
			if r, d := e.BatchIssue(); r != "" {
				t.Fatalf("flagged %s: %s", r, d)
			}
		}},
		{"batch without details", func(f fixture) string {
			return f.entry(entry{amount: "6.00", batch: 3, info: "SAMMEL-GUTSCHRIFT 3 POSTEN"})
		}, func(t *testing.T, st Statement) {
			if r, _ := st.Entries[0].BatchIssue(); r != BatchDetailsMissing || st.Entries[0].AdditionalInfo != "SAMMEL-GUTSCHRIFT 3 POSTEN" {
				t.Fatalf("%q %+v", r, st.Entries[0])
			}
		}},
		{"batch not adding up", func(f fixture) string {
			return f.entry(entry{amount: "6.00", batch: 2, txs: []string{f.tx("A", "3.50", "", "x"), f.tx("B", "2.00", "", "y")}})
		}, func(t *testing.T, st Statement) {
			if r, d := st.Entries[0].BatchIssue(); r != BatchSumDiffers || !strings.Contains(d, "5.50") {
				t.Fatalf("%q %q", r, d)
			}
		}},
		{"batch count differs", func(f fixture) string {
			return f.entry(entry{amount: "6.00", batch: 3, txs: []string{f.tx("A", "3.50", "", "x"), f.tx("B", "2.50", "", "y")}})
		}, func(t *testing.T, st Statement) {
			if r, _ := st.Entries[0].BatchIssue(); r != BatchCountDiffers {
				t.Fatalf("%q", r)
			}
		}},
		{"batch details without amounts", func(f fixture) string {
			return f.entry(entry{amount: "6.00", txs: []string{f.tx("A", "", "", "x"), f.tx("B", "", "", "y")}})
		}, func(t *testing.T, st Statement) {
			if r, _ := st.Entries[0].BatchIssue(); r != BatchAmountsMissing || !st.Entries[0].IsBatch() {
				t.Fatalf("%q", r)
			}
		}},
		{"batch with a debit inside", func(f fixture) string {
			return f.entry(entry{amount: "1.00", txs: []string{f.tx("A", "3.50", "", "x"),
				f.tx("B", "2.50", "", "y") + "<CdtDbtInd>DBIT</CdtDbtInd>"}})
		}, func(t *testing.T, st Statement) {
			e := st.Entries[0]
			if e.Transactions[1].Credit || e.Transactions[1].SignedCents() != -250 {
				t.Fatalf("tx %+v", e.Transactions[1])
			}
			if r, d := e.BatchIssue(); r != "" {
				t.Fatalf("flagged %s: %s", r, d)
			}
		}},
		{"instructed amount only", func(f fixture) string {
			return f.entry(entry{amount: "6.00", txs: []string{
				`<Refs><EndToEndId>A</EndToEndId></Refs><AmtDtls><InstdAmt><Amt Ccy="EUR">4.00</Amt></InstdAmt></AmtDtls>`,
				`<Refs><EndToEndId>B</EndToEndId></Refs><AmtDtls><InstdAmt><Amt Ccy="EUR">2.00</Amt></InstdAmt></AmtDtls>`}})
		}, func(t *testing.T, st Statement) {
			if e := st.Entries[0]; e.Transactions[0].AmountCents != 400 || e.Transactions[1].AmountCents != 200 {
				t.Fatalf("%+v", e.Transactions)
			}
		}},
		{"single transaction without amount takes the entry's", func(f fixture) string {
			return f.entry(entry{amount: "9.00", txs: []string{f.tx("NOTPROVIDED", "", "Erika", "TB0000000012")}})
		}, func(t *testing.T, st Statement) {
			tx := st.Entries[0].Transactions[0]
			if tx.AmountCents != 900 || !tx.AmountKnown || tx.EndToEndID != "" {
				t.Fatalf("%+v", tx)
			}
		}},
		{"reversal true", func(f fixture) string {
			return f.entry(entry{amount: "9.00", ind: "DBIT", reversal: "true"})
		}, func(t *testing.T, st Statement) {
			if !st.Entries[0].Reversal {
				t.Fatal("reversal not read")
			}
		}},
		{"reversal 1", func(f fixture) string {
			return f.entry(entry{amount: "9.00", ind: "DBIT", reversal: "1"})
		}, func(t *testing.T, st Statement) {
			if !st.Entries[0].Reversal {
				t.Fatal("reversal not read")
			}
		}},
		{"reversal false", func(f fixture) string {
			return f.entry(entry{amount: "9.00", reversal: "false"})
		}, func(t *testing.T, st Statement) {
			if st.Entries[0].Reversal {
				t.Fatal("reversal read")
			}
		}},
		{"return with reason", func(f fixture) string {
			return f.entry(entry{amount: "4.50", ind: "DBIT", txs: []string{f.tx("TRMRETURN", "4.50", "", "TB0000000012") +
				`<RtrInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>Konto erloschen</AddtlInf></RtrInf>`}})
		}, func(t *testing.T, st Statement) {
			tx := st.Entries[0].Transactions[0]
			if tx.ReturnReason != "AC04" || tx.ReturnInfo != "Konto erloschen" || tx.Credit {
				t.Fatalf("%+v", tx)
			}
		}},
		{"charges", func(f fixture) string {
			return f.entry(entry{amount: "4.50", ind: "DBIT", charges: f.charge("3.00"), txs: []string{f.tx("R", "4.50", "", "x") + f.charge("3.00")}})
		}, func(t *testing.T, st Statement) {
			e := st.Entries[0]
			if len(e.Charges) != 1 || e.Charges[0].AmountCents != 300 || e.Charges[0].Credit || e.Charges[0].Type != "BRKF" ||
				len(e.Transactions[0].Charges) != 1 {
				t.Fatalf("%+v / %+v", e.Charges, e.Transactions[0].Charges)
			}
		}},
		{"no value date", func(f fixture) string {
			return f.entry(entry{amount: "1.00", dates: `<BookgDt><Dt>2025-03-15</Dt></BookgDt>`})
		}, func(t *testing.T, st Statement) {
			if e := st.Entries[0]; !e.ValueDate.IsZero() || !e.BookingDate.Equal(d15) {
				t.Fatalf("%+v", e)
			}
		}},
		{"no dates at all", func(f fixture) string {
			return f.entry(entry{amount: "1.00", dates: " "})
		}, func(t *testing.T, st Statement) {
			if e := st.Entries[0]; !e.ValueDate.IsZero() || !e.BookingDate.IsZero() {
				t.Fatalf("%+v", e)
			}
		}},
		{"dates with offsets", func(f fixture) string {
			return f.entry(entry{amount: "1.00", dates: `<BookgDt><Dt>2017-04-01+02:00</Dt></BookgDt><ValDt><Dt>2017-04-03Z</Dt></ValDt>`})
		}, func(t *testing.T, st Statement) {
			if e := st.Entries[0]; !e.BookingDate.Equal(time.Date(2017, 4, 1, 0, 0, 0, 0, time.UTC)) ||
				!e.ValueDate.Equal(time.Date(2017, 4, 3, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("%+v", e)
			}
		}},
		{"booking date-times count in Berlin", func(f fixture) string {
			var b strings.Builder
			for _, dt := range []string{
				"2017-03-31T22:30:00Z",          // 00:30 in Berlin (CEST)
				"2017-03-31T23:30:00+00:00",     // 01:30 in Berlin
				"2017-04-01T00:30:00+02:00",     // its own offset is Berlin's
				"2017-04-01T23:30:00",           // no offset: Berlin local
				"2017-04-01T08:15:00.123+01:00", // fractions, winter offset on a summer day
				"2017-04-01T21:59:59-00:00",     // 23:59:59 in Berlin
			} {
				b.WriteString(f.entry(entry{amount: "1.00", dates: `<BookgDt><DtTm>` + dt + `</DtTm></BookgDt><ValDt><DtTm>` + dt + `</DtTm></ValDt>`}))
			}
			return b.String()
		}, func(t *testing.T, st Statement) {
			want := time.Date(2017, 4, 1, 0, 0, 0, 0, time.UTC)
			for _, e := range st.Entries {
				if !e.BookingDate.Equal(want) || !e.ValueDate.Equal(want) {
					t.Errorf("entry %d: %s / %s", e.Position, e.BookingDate, e.ValueDate)
				}
			}
			if len(st.Entries) != 6 {
				t.Fatalf("%d entries", len(st.Entries))
			}
		}},
		{"split reference", func(f fixture) string {
			return f.entry(entry{amount: "4.50", txs: []string{f.tx("NOTPROVIDED", "4.50", "Erika", "Gebuehr Freibad Kassenzeichen TB00", "00000012 Mustermann")}})
		}, func(t *testing.T, st Statement) {
			if texts := strings.Join(st.Entries[0].Texts(), "|"); !strings.Contains(texts, "TB0000000012") {
				t.Fatalf("texts %q", texts)
			}
		}},
		{"structured reference and additional texts", func(f fixture) string {
			return f.entry(entry{amount: "4.50", info: "GUTSCHRIFT", txs: []string{`<Refs><EndToEndId>E</EndToEndId></Refs>` + f.txAmount("4.50") +
				`<RmtInf><Strd><RfrdDocInf><Nb>TB0000000020</Nb></RfrdDocInf><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf>` +
				`<AddtlTxInf>Kassenzeichen TB0000000038</AddtlTxInf>`}})
		}, func(t *testing.T, st Statement) {
			e := st.Entries[0]
			tx := e.Transactions[0]
			if !reflect.DeepEqual(tx.StructuredRefs, []string{"RF18539007547034", "TB0000000020"}) || tx.AdditionalInfo != "Kassenzeichen TB0000000038" {
				t.Fatalf("%+v", tx)
			}
			texts := strings.Join(e.Texts(), "|")
			for _, want := range []string{"RF18539007547034", "TB0000000020", "TB0000000038", "GUTSCHRIFT"} {
				if !strings.Contains(texts, want) {
					t.Errorf("texts %q lack %s", texts, want)
				}
			}
		}},
		{"pending and information entries", func(f fixture) string {
			return f.entry(entry{amount: "1.00", status: "PDNG", dates: `<ValDt><Dt>2025-03-16</Dt></ValDt>`}) +
				f.entry(entry{amount: "2.00", status: "INFO"})
		}, func(t *testing.T, st Statement) {
			if st.Entries[0].Status != StatusPending || st.Entries[0].Booked() || st.Entries[1].Status != StatusInfo {
				t.Fatalf("%+v", st.Entries)
			}
			if b := st.CheckBalance(); b.BookedCents != 0 {
				t.Fatalf("pending counted: %+v", b)
			}
		}},
	}
	for _, tt := range tests {
		for _, v := range []int{2, 8, 13} {
			f := fixture{version: v}
			t.Run(tt.name+"/"+Namespace(KindStatement, v)[31:], func(t *testing.T) {
				doc := mustParse(t, f.document(f.stmt(head("S", 1, iban("DE02120300000000202051")), tt.entry(f))))
				if len(doc.Problems) != 0 {
					t.Fatalf("problems %+v", doc.Problems)
				}
				tt.check(t, doc.Statements[0])
			})
		}
	}
}

func TestParseStatementHead(t *testing.T) {
	f := fixture{version: 8}
	doc := mustParse(t, f.document(
		f.stmt(head("S-1", 41, othr("0202051")), bal("PRCD", "3.00", "DBIT"), bal("CLBD", "1.50", "CRDT"),
			f.entry(entry{amount: "4.50"})),
		f.stmt(`<Id>S-2</Id>`+iban("DE89370400440532013000"), bal("OPBD", "0", "CRDT"), bal("CLBD", "5.00", "CRDT"),
			f.entry(entry{amount: "4.50"}))))
	s1, s2 := doc.Statements[0], doc.Statements[1]
	if s1.Account != "0202051" || s1.IBAN != "" || s1.ElectronicSeq != 41 || s1.LegalSeq != 41 {
		t.Fatalf("s1 %+v", s1)
	}
	if !s1.From.Equal(time.Date(2025, 3, 14, 23, 0, 0, 0, time.UTC)) || !s1.To.Equal(time.Date(2025, 3, 15, 22, 59, 59, 0, time.UTC)) ||
		s1.CreatedAt.IsZero() {
		t.Errorf("s1 dates %s %s %s", s1.From, s1.To, s1.CreatedAt)
	}
	if b := s1.CheckBalance(); !b.Checked || !b.OK() || b.OpeningCents != -300 || b.ClosingCents != 150 {
		t.Errorf("s1 balance %+v", b)
	}
	if s2.ElectronicSeq != 0 || s2.LegalSeq != 0 || !s2.From.IsZero() {
		t.Errorf("s2 %+v", s2)
	}
	if b := s2.CheckBalance(); !b.Checked || b.OK() || b.BookedCents != 450 || b.ClosingCents != 500 {
		t.Errorf("s2 balance %+v", b)
	}
	noBal := mustParse(t, f.document(f.stmt(head("S-3", 1, iban("DE1")), f.entry(entry{amount: "1"}))))
	if b := noBal.Statements[0].CheckBalance(); b.Checked || !b.OK() {
		t.Errorf("without balances %+v", b)
	}
}

// A statement may come in an envelope: a business application header
// beside the Document in any wrapper.
func TestParseEnvelope(t *testing.T) {
	f := fixture{version: 8}
	body := strings.TrimPrefix(f.simple(), `<?xml version="1.0" encoding="UTF-8"?>`)
	appHdr := `<AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.02"><Fr><FIId><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></FIId></Fr>` +
		`<BizMsgIdr>MSG-08</BizMsgIdr><MsgDefIdr>camt.053.001.08</MsgDefIdr><CreDt>2025-03-15T18:00:00Z</CreDt></AppHdr>`
	for name, in := range map[string]string{
		"BizMsgEnvlp":  `<?xml version="1.0"?><BizMsgEnvlp xmlns="urn:iso:std:iso:20022:tech:xsd:nvlp.001.001.01">` + appHdr + body + `</BizMsgEnvlp>`,
		"any wrapper":  `<Message xmlns:h="urn:example">` + appHdr + `<Payload>` + body + `</Payload></Message>`,
		"prefixed":     strings.ReplaceAll(strings.ReplaceAll(body, "<", "<c:"), "<c:/", "</c:"),
		"header after": `<Envelope>` + body + appHdr + `</Envelope>`,
	} {
		t.Run(name, func(t *testing.T) {
			if name == "prefixed" {
				in = strings.Replace(in, `xmlns=`, `xmlns:c=`, 1)
			}
			doc := mustParse(t, in)
			if doc.Version != "001.08" || len(doc.Statements) != 1 || len(doc.Statements[0].Entries) != 2 {
				t.Fatalf("%+v", doc)
			}
		})
	}
}

// Statements declared in a Latin character set are read as such.
func TestParseLatinCharsets(t *testing.T) {
	f := fixture{version: 2}
	utf := f.document(f.stmt(head("S", 1, iban("DE1")), f.entry(entry{amount: "1.00", txs: []string{f.tx("E", "1.00", "Jürgen Müßig", "Gebühr 5€")}})))
	for _, tt := range []struct{ label, want string }{
		{"ISO-8859-1", "Gebühr 5\u0080"}, // Latin-1 has no euro sign: 0x80 is a control character
		{"ISO-8859-15", "Gebühr 5€"},
		{"windows-1252", "Gebühr 5€"},
	} {
		t.Run(tt.label, func(t *testing.T) {
			var raw []byte
			for _, r := range strings.Replace(utf, `encoding="UTF-8"`, `encoding="`+tt.label+`"`, 1) {
				switch {
				case r < 0x100:
					raw = append(raw, byte(r))
				case r == '€' && tt.label == "ISO-8859-15":
					raw = append(raw, 0xA4)
				case r == '€':
					raw = append(raw, 0x80)
				default:
					t.Fatalf("rune %q", r)
				}
			}
			doc, err := Parse(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			tx := doc.Statements[0].Entries[0].Transactions[0]
			if tx.DebtorName != "Jürgen Müßig" || tx.Remittance[0] != tt.want {
				t.Fatalf("%q %q", tx.DebtorName, tx.Remittance)
			}
		})
	}
	if _, err := Parse(strings.NewReader(strings.Replace(utf, `encoding="UTF-8"`, `encoding="EBCDIC"`, 1))); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown charset: %v", err)
	}
}

// One entry that cannot be read is reported; the others are kept.
func TestParseBadEntryIsReported(t *testing.T) {
	f := fixture{version: 2}
	bad := []string{
		f.entry(entry{amount: "abc", ref: "BAD-AMOUNT"}),
		f.entry(entry{amount: "7.00", ind: "CR", ref: "BAD-IND"}),
		f.entry(entry{amount: "7.00", ref: "BAD-DATE", dates: `<BookgDt><Dt>15.03.2025</Dt></BookgDt>`}),
		f.entry(entry{amount: "7.00", ref: "BAD-REVERSAL", reversal: "yes"}),
		f.entry(entry{amount: "7.00", ref: "BAD-TX", txs: []string{f.tx("A", "1.005", "", "x")}}),
		f.entry(entry{amount: "7.00", ref: "BAD-BATCH", batch: 2}) + "",
	}
	bad[5] = strings.Replace(bad[5], "<NbOfTxs>2</NbOfTxs>", "<NbOfTxs>two</NbOfTxs>", 1)
	in := f.document(f.stmt(head("S", 1, iban("DE1")), append([]string{f.entry(entry{amount: "1.00", ref: "GOOD-1"})},
		append(bad, f.entry(entry{amount: "2.00", ref: "GOOD-2"}))...)...))
	doc := mustParse(t, in)
	st := doc.Statements[0]
	if len(st.Entries) != 2 || st.Entries[0].AcctSvcrRef != "GOOD-1" || st.Entries[1].AcctSvcrRef != "GOOD-2" || st.Entries[1].Position != 8 {
		t.Fatalf("entries %+v", st.Entries)
	}
	if len(doc.Problems) != len(bad) {
		t.Fatalf("problems %+v", doc.Problems)
	}
	for i, p := range doc.Problems {
		if p.Code != ProblemEntryUnreadable || p.Entry != i+2 || p.StatementID != "S" || p.Account != "DE1" || p.Detail == "" ||
			!strings.HasPrefix(p.BankReference, "BAD-") {
			t.Errorf("problem %+v", p)
		}
	}
	if doc.Problems[1].AmountCents != 700 || doc.Problems[0].AmountCents != 0 {
		t.Errorf("amounts %+v", doc.Problems)
	}
}

func TestParseRejects(t *testing.T) {
	f := fixture{version: 2}
	v02 := f.simple()
	tests := map[string]string{
		"not xml":          "hello",
		"empty":            "",
		"camt.052":         strings.Replace(v02, "camt.053.001.02", "camt.052.001.02", 1),
		"pain.001":         strings.Replace(v02, "camt.053.001.02", "pain.001.001.03", 1),
		"version 01":       strings.Replace(v02, "camt.053.001.02", "camt.053.001.01", 1),
		"version 14":       strings.Replace(v02, "camt.053.001.02", "camt.053.001.14", 1),
		"no namespace":     strings.Replace(v02, ` xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"`, "", 1),
		"no Document":      `<Envelope><AppHdr/></Envelope>`,
		"no statement":     f.document(),
		"truncated":        v02[:len(v02)/2],
		"no account":       strings.Replace(v02, "<IBAN>DE02120300000000202051</IBAN>", "", 1),
		"no statement id":  strings.Replace(v02, "<Id>STMT-20250315</Id>", "", 1),
		"bad sequence":     strings.Replace(v02, "<ElctrncSeqNb>74", "<ElctrncSeqNb>x74", 1),
		"bad balance":      strings.Replace(v02, `<Amt Ccy="EUR">100.00`, `<Amt Ccy="EUR">1,00`, 1),
		"bad from date":    strings.Replace(v02, "<FrDtTm>2025-03-15T00", "<FrDtTm>2025-13-15T00", 1),
		"statement as 054": strings.Replace(v02, "camt.053.001.02", "camt.054.001.02", 1),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(strings.NewReader(in)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

// A camt.054 breakdown gives a batch entry booked as one sum its
// transactions.
func TestApplyBreakdown(t *testing.T) {
	f := fixture{version: 2}
	stmt := mustParse(t, f.document(f.stmt(head("S", 1, iban("DE1")),
		f.entry(entry{amount: "6.00", ref: "BATCH-1", batch: 2}),
		f.entry(entry{amount: "6.00", ref: "BATCH-2", batch: 2}),
		f.entry(entry{amount: "4.50", ref: "SINGLE", txs: []string{f.tx("E", "4.50", "", "TB0000000012")}}))))
	n := fixture{kind: KindNotification, version: 8}
	ntf := mustParse(t, n.document(
		n.stmt(head("N-1", 1, iban("DE1")),
			n.entry(entry{amount: "6.00", ref: "BATCH-2", batch: 2, txs: []string{n.tx("A", "3.50", "", "TB0000000012"), n.tx("B", "2.50", "", "TB0000000020")}}),
			n.entry(entry{amount: "4.50", ref: "SINGLE", txs: []string{n.tx("E", "4.50", "", "TB0000000012")}}),
			n.entry(entry{amount: "9.99", ref: "UNKNOWN", txs: []string{n.tx("E", "9.99", "", "x")}})),
		n.stmt(head("N-2", 1, iban("DE2")),
			n.entry(entry{amount: "6.00", ref: "BATCH-1", txs: []string{n.tx("A", "3.50", "", "x"), n.tx("B", "2.50", "", "y")}}))))
	if err := stmt.ApplyBreakdown(ntf); err != nil {
		t.Fatal(err)
	}
	es := stmt.Statements[0].Entries
	if r, _ := es[0].BatchIssue(); r != BatchDetailsMissing {
		t.Errorf("another account's breakdown taken: %+v", es[0])
	}
	if r, d := es[1].BatchIssue(); r != "" || len(es[1].Transactions) != 2 || es[1].Transactions[0].AmountCents != 350 {
		t.Errorf("breakdown not taken: %s %s %+v", r, d, es[1])
	}
	if len(es[2].Transactions) != 1 {
		t.Errorf("single entry %+v", es[2])
	}
	if len(stmt.Problems) != 2 || stmt.Problems[0].BankReference != "UNKNOWN" || stmt.Problems[1].BankReference != "BATCH-1" ||
		stmt.Problems[0].Code != ProblemBreakdownUnmatched {
		t.Errorf("problems %+v", stmt.Problems)
	}
	// Without bank references the booking date decides.
	noRef := mustParse(t, f.document(f.stmt(head("S", 1, iban("DE1")), f.entry(entry{amount: "6.00", batch: 2}))))
	ntf2 := mustParse(t, n.document(n.stmt(head("N", 1, iban("DE1")),
		n.entry(entry{amount: "6.00", txs: []string{n.tx("A", "3.50", "", "x"), n.tx("B", "2.50", "", "y")}}))))
	if err := noRef.ApplyBreakdown(ntf2); err != nil || len(noRef.Statements[0].Entries[0].Transactions) != 2 {
		t.Errorf("by date: %v %+v", err, noRef.Statements[0].Entries[0])
	}
	if err := noRef.ApplyBreakdown(stmt); !errors.Is(err, ErrNotBreakdown) {
		t.Errorf("a camt.053 as breakdown: %v", err)
	}
}

// Files in testdata (fixtures, and real statements where they may be
// published) all read without error and keep the invariants. A folder of
// further statements (real ones that may not be published) is read too
// when CAMT_SAMPLES names it:
//
//	CAMT_SAMPLES=/path/to/statements go test -run TestParseTestdata ./payment/camt
func TestParseTestdata(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	if dir := os.Getenv("CAMT_SAMPLES"); dir != "" {
		more, err := filepath.Glob(filepath.Join(dir, "*.xml"))
		if err != nil || len(more) == 0 {
			t.Fatalf("CAMT_SAMPLES=%s holds no *.xml: %v", dir, err)
		}
		files = append(files, more...)
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			raw, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Parse(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, doc)
			if len(doc.Problems) != 0 {
				t.Errorf("problems: %+v", doc.Problems)
			}
		})
	}
}

func checkInvariants(t *testing.T, doc Document) {
	t.Helper()
	if doc.Kind != KindStatement && doc.Kind != KindNotification || len(doc.Statements) == 0 {
		t.Fatalf("accepted %+v", doc)
	}
	for _, s := range doc.Statements {
		if s.ID == "" || s.Account == "" {
			t.Fatalf("accepted statement without id or account: %+v", s)
		}
		for _, e := range s.Entries {
			if e.AmountCents < 0 || e.Position < 1 {
				t.Fatalf("accepted bad entry %+v", e)
			}
			for _, tx := range e.Transactions {
				if tx.AmountCents < 0 {
					t.Fatalf("accepted bad transaction %+v", tx)
				}
			}
			_, _ = e.BatchIssue()
			_ = e.Texts()
		}
		_ = s.CheckBalance()
	}
	for _, p := range doc.Problems {
		if p.Detail == "" || p.Entry < 1 {
			t.Fatalf("problem without detail %+v", p)
		}
	}
}

func fuzzSeeds(f *testing.F, kind string) {
	for v := FirstVersion; v <= LastVersion; v += 3 {
		fx := fixture{kind: kind, version: v}
		f.Add([]byte(fx.simple()))
		f.Add([]byte(fx.document(fx.stmt(head("S", 1, othr("123")),
			fx.entry(entry{amount: "6.00", batch: 2, charges: fx.charge("1.00"), txs: []string{fx.tx("A", "3.50", "x", "TB00", "12"), fx.tx("B", "2.50", "", "y")}}),
			fx.entry(entry{amount: "1", status: "PDNG", reversal: "1", dates: `<BookgDt><DtTm>2017-04-01T00:30:00+02:00</DtTm></BookgDt>`})))))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, name := range files {
		if raw, err := os.ReadFile(name); err == nil {
			f.Add(raw)
		}
	}
}

func fuzzParse(t *testing.T, in []byte) {
	doc, err := Parse(bytes.NewReader(in))
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error not ErrMalformed: %v", err)
		}
		return
	}
	checkInvariants(t, doc)
}

func FuzzParseCamt053(f *testing.F) {
	fuzzSeeds(f, KindStatement)
	f.Fuzz(fuzzParse)
}

func FuzzParseCamt054(f *testing.F) {
	fuzzSeeds(f, KindNotification)
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzParse(t, in)
		// A breakdown of anything into a statement keeps the statement sound.
		ntf, err := Parse(bytes.NewReader(in))
		if err != nil || ntf.Kind != KindNotification {
			return
		}
		stmt, err := Parse(strings.NewReader(fixture{version: 2}.simple()))
		if err != nil {
			t.Fatal(err)
		}
		if err := stmt.ApplyBreakdown(ntf); err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, stmt)
	})
}
