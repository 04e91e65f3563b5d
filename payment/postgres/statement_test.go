package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/camt"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/payment/settlement"
)

const cityIBAN = "DE02120300000000202051"

// batchStatement is a camt.053.001.02 statement as German banks write a
// Sammelgutschrift: one entry of the sum, its transfers in TxDtls with
// their amounts in AmtDtls/TxAmt only, each quoting a reference — the
// second split over two remittance lines.
func batchStatement(id string, seq int, day time.Time, refs [2]string) string {
	d := day.Format(time.DateOnly)
	split := len(refs[1]) / 2
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>MSG-%[1]s</MsgId><CreDtTm>%[3]sT06:00:00+01:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>%[1]s</Id><ElctrncSeqNb>%[2]d</ElctrncSeqNb>
   <FrToDt><FrDtTm>%[3]sT00:00:00</FrDtTm><ToDtTm>%[3]sT23:59:59</ToDtTm></FrToDt>
   <Acct><Id><IBAN>%[4]s</IBAN></Id><Ccy>EUR</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>%[3]s</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">106.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>%[3]s</Dt></Dt></Bal>
   <Ntry>
    <Amt Ccy="EUR">6.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>%[3]s</Dt></BookgDt><ValDt><Dt>%[3]s</Dt></ValDt>
    <AcctSvcrRef>BATCH-%[1]s</AcctSvcrRef>
    <NtryDtls>
     <Btch><NbOfTxs>2</NbOfTxs></Btch>
     <TxDtls>
      <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
      <AmtDtls><TxAmt><Amt Ccy="EUR">3.50</Amt></TxAmt></AmtDtls>
      <RltdPties><Dbtr><Nm>Erika Mustermann</Nm></Dbtr></RltdPties>
      <RmtInf><Ustrd>Freibad %[5]s</Ustrd></RmtInf>
     </TxDtls>
     <TxDtls>
      <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
      <AmtDtls><TxAmt><Amt Ccy="EUR">2.50</Amt></TxAmt></AmtDtls>
      <RltdPties><Dbtr><Nm>Max Mustermann</Nm></Dbtr></RltdPties>
      <RmtInf><Ustrd>Freibad ermaessigt %[6]s</Ustrd><Ustrd>%[7]s Max Mustermann</Ustrd></RmtInf>
     </TxDtls>
    </NtryDtls>
    <AddtlNtryInf>SAMMEL-GUTSCHRIFT</AddtlNtryInf>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>`, id, seq, d, cityIBAN, refs[0], refs[1][:split], refs[1][split:])
}

// The must-show case: a camt.053.001.02 batch entry of 6.00 with two
// transactions of 3.50 and 2.50 reconciles as two payments of the right
// amounts, through the store; importing the statement again, or one with
// a gap before it, is shown on the run.
func TestBatchEntryReconcilesAsTwoPayments(t *testing.T) {
	r := newFlowRig(t, rigOptions{fees: []int64{350, 250}})
	ctx := context.Background()
	var paid [2]*payment.Payment
	for i, fee := range []int64{350, 250} {
		_, p := r.bookService(r.feeService(fee), 1)
		r.pay(p)
		var err error
		if paid[i], err = r.flow.Check(ctx, p.Reference); err != nil {
			t.Fatal(err)
		}
		if paid[i].State != payment.StatePaid && paid[i].State != payment.StateConfirmed {
			t.Fatalf("payment %+v", paid[i])
		}
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	y, m, d := paid[0].PaidAt.In(berlin).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	opt := reconcile.Options{PayoutAccount: "DE02 1203 0000 0000 2020 51"}
	parse := func(xml string) camt.Document {
		t.Helper()
		doc, err := camt.Parse(strings.NewReader(xml))
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	checkTwoPayments := func(t *testing.T, run *reconcile.Reconciliation, detail string) {
		t.Helper()
		if len(run.Items) != 2 || run.Counts[reconcile.RecMatched] != 2 {
			t.Fatalf("items %+v", run.Items)
		}
		for i, p := range paid {
			it := run.Items[i]
			if it.PostingID != "B-"+p.Kassenzeichen || it.PostedCents != p.AmountCents || it.BankCents != p.AmountCents ||
				!strings.Contains(it.Detail, detail) {
				t.Errorf("item %d: %+v, want posting of %+v", i, it, p)
			}
		}
		if paid[0].AmountCents != 350 || paid[1].AmountCents != 250 {
			t.Fatalf("amounts %d %d", paid[0].AmountCents, paid[1].AmountCents)
		}
	}

	// Citizens' transfers quoting their Kassenzeichen, booked as one sum.
	noReport := settlement.Report{Date: day, PayoutID: "SIM-PO-NONE"}
	first, err := reconcile.Run(ctx, r.store, noReport,
		parse(batchStatement("ST-53", 53, day, [2]string{paid[0].Kassenzeichen, paid[1].Kassenzeichen})), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("direct transfers", func(t *testing.T) {
		checkTwoPayments(t, first, "direct bank transfer BATCH-ST-53/")
		if len(first.Warnings) != 0 {
			t.Errorf("warnings %+v", first.Warnings)
		}
		got, err := reconcile.ByID(ctx, r.store, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Items, first.Items) || len(got.Statements) != 1 || got.Statements[0].ElectronicSeq != 53 ||
			got.Statements[0].Account != cityIBAN || !got.Statements[0].PayoutAccount || !got.Statements[0].From.Equal(first.Statements[0].From) {
			t.Fatalf("read back %+v", got)
		}
	})

	t.Run("the same statement again", func(t *testing.T) {
		again, err := reconcile.Run(ctx, r.store, noReport,
			parse(batchStatement("ST-53", 53, day, [2]string{paid[0].Kassenzeichen, paid[1].Kassenzeichen})), opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Warnings) != 1 || again.Warnings[0].Code != reconcile.WarnDuplicateStatement || again.Warnings[0].EarlierRunID != first.ID {
			t.Fatalf("warnings %+v", again.Warnings)
		}
		got, err := reconcile.ByID(ctx, r.store, again.ID)
		if err != nil || !reflect.DeepEqual(got.Warnings, again.Warnings) {
			t.Fatalf("read back %+v %v", got, err)
		}
	})

	// A platform that pays out each payment: the report's lines, the
	// bank's batch quoting our payment references.
	t.Run("payments paid out singly, with a gap before the statement", func(t *testing.T) {
		rep := settlement.Report{Date: day, PayoutID: "SIM-PO-ELSEWHERE"}
		for _, p := range paid {
			rep.Lines = append(rep.Lines, settlement.Line{Kind: settlement.KindPayment, Date: day, PlatformID: p.PlatformID,
				Reference: p.Reference, Kassenzeichen: p.Kassenzeichen, GrossCents: p.AmountCents, NetCents: p.AmountCents})
		}
		rep.Totals()
		run, err := reconcile.Run(ctx, r.store, rep, parse(batchStatement("ST-55", 55, day, [2]string{paid[0].Reference, paid[1].Reference})), opt)
		if err != nil {
			t.Fatal(err)
		}
		checkTwoPayments(t, run, "paid out singly, bank entry BATCH-ST-55/")
		if len(run.Warnings) != 1 || run.Warnings[0].Code != reconcile.WarnSequenceGap || run.Warnings[0].Expected != 54 || run.Warnings[0].Found != 55 {
			t.Fatalf("warnings %+v", run.Warnings)
		}
	})
	if n := r.count(`SELECT count(*) FROM bank_statements WHERE account_key = $1`, cityIBAN); n != 3 {
		t.Fatalf("%d statements kept", n)
	}
}

// Two imports of one statement at the same time: one of them is told it
// is the second.
func TestConcurrentImportsOfOneStatement(t *testing.T) {
	r := newFlowRig(t, rigOptions{})
	ctx := context.Background()
	day := time.Date(2030, 5, 14, 0, 0, 0, 0, time.UTC)
	doc := camt.Document{Kind: camt.KindStatement, Statements: []camt.Statement{{ID: "ST-CONC", Account: "DE99CONCURRENT", ElectronicSeq: 9}}}
	const n = 4
	errs := make(chan error, n)
	dups := make(chan int, n)
	for range n {
		go func() {
			run, err := reconcile.Run(ctx, r.store, settlement.Report{Date: day, PayoutID: "P"}, doc, reconcile.Options{})
			if err == nil {
				dups <- len(run.Warnings)
			}
			errs <- err
		}()
	}
	total := 0
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(dups)
	for w := range dups {
		total += w
	}
	if total != n-1 {
		t.Fatalf("%d duplicate warnings for %d imports", total, n)
	}
}
