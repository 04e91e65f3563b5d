package camt

import (
	"fmt"
	"strings"
)

// fixture writes camt messages in the forms the versions use: the older
// forms (the entry status as text, parties without <Pty>, transaction
// amounts only in <AmtDtls>, one charge record) in the lower versions and
// the newer ones (<Sts><Cd>, <Pty>, <Amt> beside <AmtDtls>, <Rcrd>) in the
// higher. The parser reads either form in every version, so the exact
// version where a form changed does not matter to it.
type fixture struct {
	kind    string // KindStatement (default) or KindNotification
	version int    // 2 … 13
}

func (f fixture) v() int {
	if f.version == 0 {
		return 2
	}
	return f.version
}

func (f fixture) document(stmts ...string) string {
	kind, root, block := KindStatement, "BkToCstmrStmt", "Stmt"
	if f.kind == KindNotification {
		kind, root, block = KindNotification, "BkToCstmrDbtCdtNtfctn", "Ntfctn"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="%s" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <%s>
  <GrpHdr><MsgId>MSG-%02d</MsgId><CreDtTm>2025-03-15T18:00:00+01:00</CreDtTm></GrpHdr>
`, Namespace(kind, f.v()), root, f.v())
	for _, s := range stmts {
		fmt.Fprintf(&b, "  <%s>%s</%s>\n", block, s, block)
	}
	fmt.Fprintf(&b, " </%s>\n</Document>\n", root)
	return b.String()
}

// stmt is a statement's head (id, sequence numbers, account) followed by
// balances and entries.
func (f fixture) stmt(head string, body ...string) string {
	return head + strings.Join(body, "")
}

func head(id string, seq int, account string) string {
	return fmt.Sprintf(`<Id>%s</Id><ElctrncSeqNb>%d</ElctrncSeqNb><LglSeqNb>%d</LglSeqNb><CreDtTm>2025-03-15T18:00:00+01:00</CreDtTm>`+
		`<FrToDt><FrDtTm>2025-03-15T00:00:00+01:00</FrDtTm><ToDtTm>2025-03-15T23:59:59+01:00</ToDtTm></FrToDt>%s`, id, seq, seq, account)
}

func iban(s string) string { return `<Acct><Id><IBAN>` + s + `</IBAN></Id><Ccy>EUR</Ccy></Acct>` }
func othr(s string) string {
	return `<Acct><Id><Othr><Id>` + s + `</Id></Othr></Id><Ccy>EUR</Ccy></Acct>`
}

func bal(code, amount, ind string) string {
	return `<Bal><Tp><CdOrPrtry><Cd>` + code + `</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">` + amount + `</Amt><CdtDbtInd>` + ind +
		`</CdtDbtInd><Dt><Dt>2025-03-15</Dt></Dt></Bal>`
}

func (f fixture) status(code string) string {
	if f.v() >= 7 {
		return "<Sts><Cd>" + code + "</Cd></Sts>"
	}
	return "<Sts>" + code + "</Sts>"
}

func (f fixture) party(role, name string) string {
	if f.v() >= 7 {
		return "<" + role + "><Pty><Nm>" + name + "</Nm></Pty></" + role + ">"
	}
	return "<" + role + "><Nm>" + name + "</Nm></" + role + ">"
}

// txAmount is a transaction's amount where the version puts it.
func (f fixture) txAmount(amount string) string {
	dtls := `<AmtDtls><TxAmt><Amt Ccy="EUR">` + amount + `</Amt></TxAmt></AmtDtls>`
	if f.v() >= 4 {
		return `<Amt Ccy="EUR">` + amount + `</Amt>` + dtls
	}
	return dtls
}

func (f fixture) charge(amount string) string {
	rec := `<Amt Ccy="EUR">` + amount + `</Amt><CdtDbtInd>DBIT</CdtDbtInd><Tp><Cd>BRKF</Cd></Tp>`
	if f.v() >= 4 {
		return `<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">` + amount + `</TtlChrgsAndTaxAmt><Rcrd>` + rec + `<ChrgInclInd>true</ChrgInclInd></Rcrd></Chrgs>`
	}
	return `<Chrgs>` + rec + `</Chrgs>`
}

// entry is one Ntry: amount, CRDT/DBIT, status, then what follows the
// dates (AcctSvcrRef, BkTxCd, details) in rest. Dates come from dates
// (both booking and value date when empty).
type entry struct {
	amount, ind, status string
	reversal            string // RvslInd content, empty for none
	dates               string // empty: both dates on 2025-03-15
	ref                 string // AcctSvcrRef
	batch               int    // Btch/NbOfTxs, 0 for none
	txs                 []string
	info                string // AddtlNtryInf
	charges             string
}

func (f fixture) entry(e entry) string {
	if e.status == "" {
		e.status = "BOOK"
	}
	if e.ind == "" {
		e.ind = "CRDT"
	}
	if e.dates == "" {
		e.dates = `<BookgDt><Dt>2025-03-15</Dt></BookgDt><ValDt><Dt>2025-03-15</Dt></ValDt>`
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<Ntry><Amt Ccy="EUR">%s</Amt><CdtDbtInd>%s</CdtDbtInd>`, e.amount, e.ind)
	if e.reversal != "" {
		b.WriteString("<RvslInd>" + e.reversal + "</RvslInd>")
	}
	b.WriteString(f.status(e.status) + e.dates)
	if e.ref != "" {
		b.WriteString("<AcctSvcrRef>" + e.ref + "</AcctSvcrRef>")
	}
	b.WriteString(`<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>`)
	b.WriteString(e.charges)
	if e.batch > 0 || len(e.txs) > 0 {
		b.WriteString("<NtryDtls>")
		if e.batch > 0 {
			fmt.Fprintf(&b, "<Btch><NbOfTxs>%d</NbOfTxs></Btch>", e.batch)
		}
		for _, t := range e.txs {
			b.WriteString("<TxDtls>" + t + "</TxDtls>")
		}
		b.WriteString("</NtryDtls>")
	}
	if e.info != "" {
		b.WriteString("<AddtlNtryInf>" + e.info + "</AddtlNtryInf>")
	}
	b.WriteString("</Ntry>")
	return b.String()
}

// tx is one TxDtls: end-to-end id, amount (where the version puts it, none
// when empty), debtor and remittance lines.
func (f fixture) tx(e2e, amount, debtor string, ustrd ...string) string {
	var b strings.Builder
	b.WriteString("<Refs><EndToEndId>" + e2e + "</EndToEndId></Refs>")
	if amount != "" {
		b.WriteString(f.txAmount(amount))
	}
	if debtor != "" {
		b.WriteString("<RltdPties>" + f.party("Dbtr", debtor) + "</RltdPties>")
	}
	if len(ustrd) > 0 {
		b.WriteString("<RmtInf>")
		for _, u := range ustrd {
			b.WriteString("<Ustrd>" + u + "</Ustrd>")
		}
		b.WriteString("</RmtInf>")
	}
	return b.String()
}

// simple is a statement of one version with one booked credit of 26.31
// carrying a payout id, and a debit of 5.00: the shape of the simulator's
// statements, in every version.
func (f fixture) simple() string {
	return f.document(f.stmt(head("STMT-20250315", 74, iban("DE02120300000000202051")),
		bal("OPBD", "100.00", "CRDT"), bal("CLBD", "121.31", "CRDT"),
		f.entry(entry{amount: "26.31", ref: "BANKREF-1", txs: []string{
			f.tx("SIM-PO-20250314", "26.31", "Zahlungsplattform", "SIM-PO-20250314", "Auszahlung 2025-03-14")}}),
		f.entry(entry{amount: "5", ind: "DBIT", ref: "BANKREF-2"})))
}
