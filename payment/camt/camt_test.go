package camt

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const v02 = `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2025-03-15T18:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>STMT-20250315</Id>
   <Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy></Acct>
   <Ntry>
    <Amt Ccy="EUR">26.31</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2025-03-15</Dt></BookgDt><ValDt><Dt>2025-03-15</Dt></ValDt>
    <AcctSvcrRef>BANKREF-1</AcctSvcrRef>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>SIM-PO-20250314</EndToEndId></Refs>
     <RltdPties><Dbtr><Nm>Zahlungsplattform</Nm></Dbtr></RltdPties>
     <RmtInf><Ustrd>SIM-PO-20250314</Ustrd><Ustrd>Auszahlung 2025-03-14</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">5</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts>
    <BookgDt><DtTm>2025-03-15T10:00:00+01:00</DtTm></BookgDt><ValDt><Dt>2025-03-16</Dt></ValDt>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>`

var v08 = strings.NewReplacer(
	"camt.053.001.02", "camt.053.001.08",
	"<Sts>BOOK</Sts>", "<Sts><Cd>BOOK</Cd></Sts>",
	"<Dbtr><Nm>Zahlungsplattform</Nm></Dbtr>", "<Dbtr><Pty><Nm>Zahlungsplattform</Nm></Pty></Dbtr>",
).Replace(v02)

func TestParseVersions(t *testing.T) {
	d15 := time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC)
	wantStmt := Statement{ID: "STMT-20250315", IBAN: "DE02120300000000202051", Entries: []Entry{
		{AmountCents: 2631, Currency: "EUR", Credit: true, Status: "BOOK", BookingDate: d15, ValueDate: d15, AcctSvcrRef: "BANKREF-1",
			Transactions: []Transaction{{EndToEndID: "SIM-PO-20250314", Remittance: []string{"SIM-PO-20250314", "Auszahlung 2025-03-14"}, DebtorName: "Zahlungsplattform"}}},
		{AmountCents: 500, Currency: "EUR", Reversal: true, Status: "BOOK", BookingDate: d15, ValueDate: d15.AddDate(0, 0, 1)},
	}}
	for version, in := range map[string]string{"001.02": v02, "001.08": v08} {
		t.Run(version, func(t *testing.T) {
			doc, err := Parse(strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			if doc.Version != version || doc.MessageID != "MSG-1" || len(doc.Statements) != 1 {
				t.Fatalf("doc %+v", doc)
			}
			if got := doc.Statements[0]; !reflect.DeepEqual(got, wantStmt) {
				t.Fatalf("statement\n got %+v\nwant %+v", got, wantStmt)
			}
			if doc.Statements[0].Entries[1].SignedCents() != -500 {
				t.Error("debit not negative")
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := map[string]string{
		"not xml":         "hello",
		"camt.052":        strings.Replace(v02, "camt.053.001.02", "camt.052.001.02", 1),
		"no namespace":    strings.Replace(v02, ` xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"`, "", 1),
		"bad indicator":   strings.Replace(v02, "<CdtDbtInd>CRDT", "<CdtDbtInd>CR", 1),
		"three decimals":  strings.Replace(v02, "26.31", "26.315", 1),
		"negative amount": strings.Replace(v02, "26.31", "-26.31", 1),
		"no currency":     strings.Replace(v02, `<Amt Ccy="EUR">26.31`, `<Amt>26.31`, 1),
		"bad date":        strings.Replace(v02, "<BookgDt><Dt>2025-03-15", "<BookgDt><Dt>15.03.2025", 1),
		"no value date":   strings.Replace(v02, "<ValDt><Dt>2025-03-15</Dt></ValDt>", "", 1),
		"no IBAN":         strings.Replace(v02, "<IBAN>DE02120300000000202051</IBAN>", "", 1),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(strings.NewReader(in)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzParseCamt053(f *testing.F) {
	f.Add([]byte(v02))
	f.Add([]byte(v08))
	f.Fuzz(func(t *testing.T, in []byte) {
		doc, err := Parse(bytes.NewReader(in))
		if err != nil {
			return
		}
		for _, s := range doc.Statements {
			if s.ID == "" || s.IBAN == "" {
				t.Fatalf("accepted statement without id: %+v", s)
			}
			for _, e := range s.Entries {
				if e.AmountCents < 0 || e.BookingDate.IsZero() || e.ValueDate.IsZero() {
					t.Fatalf("accepted bad entry %+v", e)
				}
			}
		}
	})
}
