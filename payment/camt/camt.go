// Package camt reads ISO 20022 bank-to-customer messages as banks send
// them: camt.053 account statements (Kontoauszug) and camt.054
// debit/credit notifications (the itemised breakdown of batch bookings
// some banks send apart), in every published version from .001.02 to
// .001.13.
//
// The versions differ, in what reconciliation reads, only in where some
// elements sit (the entry status as text or as <Cd>, parties with or
// without <Pty>, charges with or without <Rcrd>, the transaction amount in
// <Amt> or in <AmtDtls>); element names are read in any namespace and the
// namespace of <Document> decides the message and version. The document
// may come inside an envelope (a business application header <AppHdr>
// beside <Document> in any wrapper element).
//
// encoding/xml suffices for this subset: the one Go library that models
// camt in full (github.com/moov-io/iso20022) generates a package per
// version and is not among the modules this project can use; reading
// eleven versions through their generated types would be more code, not
// less.
//
// A statement is read as far as it can be: an entry that cannot be read
// is left out and reported in Document.Problems, so one bad booking does
// not hide the rest of the day.
package camt

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// Message kinds.
const (
	KindStatement    = "camt.053"
	KindNotification = "camt.054"
)

// Versions read: .001.02 (2009) to .001.13 (2023), the published ones.
const (
	FirstVersion = 2
	LastVersion  = 13
)

// Namespace is the XML namespace of a message kind ("camt.053") and
// version number (2 for .001.02).
func Namespace(kind string, version int) string {
	return fmt.Sprintf("urn:iso:std:iso:20022:tech:xsd:%s.001.%02d", kind, version)
}

// ErrMalformed reports a document that is not a camt.053 or camt.054
// message we can read at all. Single unreadable entries are not errors:
// they are listed in Document.Problems.
var ErrMalformed = errors.New("malformed camt message")

// maxDocument bounds what is read; a city account's daily statement is far
// smaller.
const maxDocument = 64 << 20

// Codes of the problems found while reading.
const (
	ProblemEntryUnreadable    = "entry_unreadable"    // an entry left out: a field that cannot be read
	ProblemBreakdownUnmatched = "breakdown_unmatched" // a camt.054 entry that details no entry of the statement
)

// Document is a parsed camt.053 or camt.054 message.
type Document struct {
	Kind       string // KindStatement or KindNotification
	Version    string // "001.02" … "001.13"
	MessageID  string
	Statements []Statement // the Stmt (camt.053) or Ntfctn (camt.054) blocks
	Problems   []Problem
}

// Problem is an entry (or a camt.054 breakdown) that could not be taken
// over, for a person to look at.
type Problem struct {
	Code          string // ProblemEntryUnreadable or ProblemBreakdownUnmatched
	StatementID   string
	Account       string
	Entry         int    // position of the entry in its statement, from 1
	BankReference string // AcctSvcrRef, when it could be read
	AmountCents   int64  // signed, when it could be read
	Detail        string
}

// Statement is one account's statement (or notification).
type Statement struct {
	ID string
	// ElectronicSeq (ElctrncSeqNb) and LegalSeq (LglSeqNb, the
	// Auszugsnummer) are 0 when the bank sends none.
	ElectronicSeq int64
	LegalSeq      int64
	CreatedAt     time.Time // CreDtTm; zero when absent
	From, To      time.Time // FrToDt; zero when absent
	// Account is the account's identification: the IBAN, or Othr/Id for
	// accounts without one. IBAN is set only for the former.
	Account  string
	IBAN     string
	Currency string
	Balances []Balance
	Entries  []Entry
}

// Balance is one Bal of a statement.
type Balance struct {
	Code        string // OPBD, PRCD, CLBD, CLAV, ITBD, …
	AmountCents int64  // signed: debit balances negative
	Date        time.Time
}

// Balance codes used in the balance check.
const (
	BalanceOpening         = "OPBD"
	BalancePreviousClosing = "PRCD"
	BalanceClosing         = "CLBD"
)

// Entry statuses.
const (
	StatusBooked  = "BOOK"
	StatusPending = "PDNG"
	StatusInfo    = "INFO"
)

// Entry is one booking on the account. A batch booking (one credit for many
// payments) is one Entry with several Transactions.
type Entry struct {
	Position    int   // in its statement, from 1
	AmountCents int64 // always positive; see Credit
	Currency    string
	Credit      bool // CdtDbtInd CRDT; false means DBIT
	// Reversal (RvslInd true or 1): the entry undoes an earlier one of the
	// opposite direction.
	Reversal bool
	Status   string // BOOK, PDNG, INFO (as the bank writes it)
	// BookingDate and ValueDate are civil days (UTC midnight). A
	// date-time is taken as the day it falls on in the reading location
	// (Europe/Berlin by default). Either is zero when absent.
	BookingDate    time.Time
	ValueDate      time.Time
	AcctSvcrRef    string
	BankTxCode     string // Domn/Cd/Fmly/Cd/SubFmlyCd, or the proprietary code
	AdditionalInfo string // AddtlNtryInf
	// BatchCount is Btch/NbOfTxs (summed over NtryDtls); 0 when not given.
	BatchCount int
	// BatchTotalCents is Btch/TtlAmt when given (positive), else 0.
	BatchTotalCents int64
	Charges         []Charge
	Transactions    []Transaction
}

// SignedCents is the amount with debits negative.
func (e Entry) SignedCents() int64 {
	if e.Credit {
		return e.AmountCents
	}
	return -e.AmountCents
}

// Booked reports whether the entry is booked. A camt.053 is a statement of
// booked entries; one whose status is missing counts as booked.
func (e Entry) Booked() bool { return e.Status == StatusBooked || e.Status == "" }

// IsBatch reports whether the entry books several payments at once.
func (e Entry) IsBatch() bool { return e.BatchCount > 1 || len(e.Transactions) > 1 }

// Reasons why a batch entry is flagged (BatchIssue).
const (
	BatchDetailsMissing = "details_missing" // NbOfTxs announced, no transaction details
	BatchCountDiffers   = "count_differs"   // NbOfTxs ≠ number of transaction details
	BatchAmountsMissing = "amounts_missing" // details without their amounts
	BatchSumDiffers     = "sum_differs"     // the transactions' amounts do not add up to the entry
)

// BatchIssue says why a batch entry cannot be split into its payments
// (one of the Batch… reasons, with a sentence for people), or "" when it
// can, or is no batch.
func (e Entry) BatchIssue() (reason, detail string) {
	n := len(e.Transactions)
	switch {
	case !e.IsBatch():
		return "", ""
	case n == 0:
		return BatchDetailsMissing, fmt.Sprintf("batch of %d transactions without their details", e.BatchCount)
	case e.BatchCount > 0 && e.BatchCount != n:
		return BatchCountDiffers, fmt.Sprintf("batch announces %d transactions, %d are detailed", e.BatchCount, n)
	}
	var sum int64
	for _, t := range e.Transactions {
		if !t.AmountKnown {
			return BatchAmountsMissing, "batch transactions without their amounts"
		}
		sum += t.SignedCents()
	}
	if sum != e.SignedCents() {
		return BatchSumDiffers, fmt.Sprintf("batch transactions add up to %s, the entry is %s",
			payment.FormatCents(sum), payment.FormatCents(e.SignedCents()))
	}
	if e.BatchTotalCents != 0 && e.BatchTotalCents != e.AmountCents {
		return BatchSumDiffers, fmt.Sprintf("batch total %s differs from the entry %s",
			payment.FormatCents(e.BatchTotalCents), payment.FormatCents(e.AmountCents))
	}
	return "", ""
}

// Texts are the entry's references and texts for matching: those of all
// its transactions, and the entry's own additional information.
func (e Entry) Texts() []string {
	var out []string
	for _, t := range e.Transactions {
		out = append(out, t.Texts()...)
	}
	if e.AdditionalInfo != "" {
		out = append(out, e.AdditionalInfo)
	}
	return out
}

// Charge is a bank or agent charge on an entry or a transaction.
type Charge struct {
	AmountCents int64 // positive
	Credit      bool  // CdtDbtInd CRDT (a charge refunded); debit otherwise
	Included    bool  // ChrgInclInd: already part of the booked amount
	Type        string
}

// Transaction is one TxDtls of an entry.
type Transaction struct {
	EndToEndID  string // "" also when the bank writes NOTPROVIDED
	AcctSvcrRef string
	// AmountCents is TxDtls/Amt, else AmtDtls/TxAmt/Amt, else
	// AmtDtls/InstdAmt/Amt; for the only transaction of an entry without
	// any of them, the entry's amount. AmountKnown tells which.
	AmountCents int64
	Currency    string
	AmountKnown bool
	// Credit is TxDtls/CdtDbtInd, else the entry's direction.
	Credit         bool
	Remittance     []string // RmtInf/Ustrd lines
	StructuredRefs []string // RmtInf/Strd: CdtrRefInf/Ref and RfrdDocInf/Nb
	AdditionalInfo string   // AddtlTxInf
	DebtorName     string
	CreditorName   string
	ReturnReason   string // RtrInf/Rsn/Cd (or Prtry), e.g. AC04
	ReturnInfo     string // RtrInf/AddtlInf lines
	Charges        []Charge
}

// SignedCents is the amount with debits negative.
func (t Transaction) SignedCents() int64 {
	if t.Credit {
		return t.AmountCents
	}
	return -t.AmountCents
}

// Texts are the transaction's references and texts for matching: the
// end-to-end id, structured references, each remittance line, the lines
// joined (a reference the bank split over two 35-character lines is whole
// again there) and the additional information.
func (t Transaction) Texts() []string {
	var out []string
	if t.EndToEndID != "" {
		out = append(out, t.EndToEndID)
	}
	out = append(out, t.StructuredRefs...)
	out = append(out, t.Remittance...)
	if len(t.Remittance) > 1 {
		out = append(out, strings.Join(t.Remittance, ""))
	}
	if t.AdditionalInfo != "" {
		out = append(out, t.AdditionalInfo)
	}
	return out
}

// Parse reads a camt.053 or camt.054 document, with day boundaries in
// Europe/Berlin.
func Parse(r io.Reader) (Document, error) { return ParseIn(r, berlin) }

// berlin is the treasury's zone; UTC only where the zone database is
// missing (the server embeds it).
var berlin = func() *time.Location {
	if loc, err := time.LoadLocation("Europe/Berlin"); err == nil {
		return loc
	}
	return time.UTC
}()

// ParseIn reads a camt.053 or camt.054 document; date-times count as the
// day they fall on in loc, and date-times without an offset are taken as
// loc's local time.
func ParseIn(r io.Reader, loc *time.Location) (Document, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxDocument+1))
	if err != nil {
		return Document{}, fmt.Errorf("read camt: %w", err)
	}
	if len(raw) > maxDocument {
		return Document{}, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, maxDocument)
	}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.CharsetReader = charsetReader
	start, err := findDocument(dec)
	if err != nil {
		return Document{}, err
	}
	kind, version, err := messageVersion(start.Name.Space)
	if err != nil {
		return Document{}, err
	}
	var x xDocument
	if err := dec.DecodeElement(&x, &start); err != nil {
		return Document{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	p := parser{loc: loc, doc: Document{Kind: kind, Version: fmt.Sprintf("001.%02d", version)}}
	msg := x.Stmt
	blocks := msg.Stmts
	if kind == KindNotification {
		msg = x.Ntfctn
		blocks = msg.Ntfctns
	}
	p.doc.MessageID = strings.TrimSpace(msg.GrpHdr.MsgID)
	if len(blocks) == 0 {
		return Document{}, fmt.Errorf("%w: no statement in the %s message", ErrMalformed, kind)
	}
	for i, xs := range blocks {
		st, err := p.statement(xs)
		if err != nil {
			return Document{}, fmt.Errorf("%w: statement %d: %w", ErrMalformed, i+1, err)
		}
		p.doc.Statements = append(p.doc.Statements, st)
	}
	return p.doc, nil
}

// findDocument moves dec to the start of the first <Document> element, in
// whatever envelope it comes.
func findDocument(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return xml.StartElement{}, fmt.Errorf("%w: no Document element", ErrMalformed)
		}
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if s, ok := tok.(xml.StartElement); ok && s.Name.Local == "Document" {
			return s, nil
		}
	}
}

// messageVersion reads kind and version from a Document namespace.
func messageVersion(ns string) (string, int, error) {
	const prefix = "urn:iso:std:iso:20022:tech:xsd:"
	rest, ok := strings.CutPrefix(ns, prefix)
	if !ok {
		return "", 0, fmt.Errorf("%w: unsupported namespace %q", ErrMalformed, ns)
	}
	kind, v, ok := strings.Cut(rest, ".001.")
	if !ok || (kind != KindStatement && kind != KindNotification) || len(v) != 2 {
		return "", 0, fmt.Errorf("%w: unsupported message %q (camt.053 or camt.054 expected)", ErrMalformed, ns)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < FirstVersion || n > LastVersion {
		return "", 0, fmt.Errorf("%w: unsupported version %q of %s", ErrMalformed, v, kind)
	}
	return kind, n, nil
}

type parser struct {
	loc *time.Location
	doc Document
}

func (p *parser) statement(xs xStmt) (Statement, error) {
	st := Statement{ID: strings.TrimSpace(xs.ID), IBAN: strings.TrimSpace(xs.Acct.IBAN), Currency: strings.TrimSpace(xs.Acct.Ccy)}
	st.Account = st.IBAN
	if st.Account == "" {
		st.Account = strings.TrimSpace(xs.Acct.Othr)
	}
	if st.ID == "" || st.Account == "" {
		return Statement{}, errors.New("no Id or no account (IBAN or Othr/Id)")
	}
	var err error
	if st.ElectronicSeq, err = sequence(xs.ElctrncSeqNb); err != nil {
		return Statement{}, fmt.Errorf("ElctrncSeqNb: %w", err)
	}
	if st.LegalSeq, err = sequence(xs.LglSeqNb); err != nil {
		return Statement{}, fmt.Errorf("LglSeqNb: %w", err)
	}
	for _, f := range []struct {
		name string
		in   string
		out  *time.Time
	}{{"CreDtTm", xs.CreDtTm, &st.CreatedAt}, {"FrDtTm", xs.FrToDt.Fr, &st.From}, {"ToDtTm", xs.FrToDt.To, &st.To}} {
		if strings.TrimSpace(f.in) == "" {
			continue
		}
		if *f.out, err = p.dateTime(f.in); err != nil {
			return Statement{}, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	for i, b := range xs.Bal {
		bal := Balance{Code: strings.TrimSpace(b.Cd)}
		if bal.Code == "" {
			bal.Code = strings.TrimSpace(b.Prtry)
		}
		cents, err := parseAmount(b.Amt)
		if err != nil {
			return Statement{}, fmt.Errorf("balance %d: %w", i+1, err)
		}
		credit, err := indicator(b.CdtDbtInd, false)
		if err != nil {
			return Statement{}, fmt.Errorf("balance %d: %w", i+1, err)
		}
		if !credit {
			cents = -cents
		}
		bal.AmountCents = cents
		if bal.Date, err = p.day(b.Dt); err != nil {
			return Statement{}, fmt.Errorf("balance %d: date: %w", i+1, err)
		}
		st.Balances = append(st.Balances, bal)
	}
	for i, xn := range xs.Ntry {
		e, err := p.entry(xn, i+1)
		if err != nil {
			pr := Problem{Code: ProblemEntryUnreadable, StatementID: st.ID, Account: st.Account, Entry: i + 1,
				BankReference: strings.TrimSpace(xn.AcctSvcrRef), Detail: err.Error()}
			if c, err := parseAmount(xn.Amt); err == nil {
				if ind, err := indicator(xn.CdtDbtInd, false); err == nil && !ind {
					c = -c
				}
				pr.AmountCents = c
			}
			p.doc.Problems = append(p.doc.Problems, pr)
			continue
		}
		st.Entries = append(st.Entries, e)
	}
	return st, nil
}

func (p *parser) entry(xn xNtry, pos int) (Entry, error) {
	e := Entry{
		Position:       pos,
		Currency:       strings.TrimSpace(xn.Amt.Ccy),
		AcctSvcrRef:    strings.TrimSpace(xn.AcctSvcrRef),
		Status:         strings.TrimSpace(xn.Sts.Cd),
		AdditionalInfo: strings.TrimSpace(xn.AddtlNtryInf),
		BankTxCode:     xn.BkTxCd.code(),
	}
	if e.Status == "" {
		e.Status = strings.TrimSpace(xn.Sts.Prtry)
	}
	if e.Status == "" {
		e.Status = strings.TrimSpace(xn.Sts.Text)
	}
	var err error
	if e.AmountCents, err = parseAmount(xn.Amt); err != nil {
		return Entry{}, err
	}
	if e.Credit, err = indicator(xn.CdtDbtInd, false); err != nil {
		return Entry{}, err
	}
	if e.Reversal, err = boolean(xn.RvslInd); err != nil {
		return Entry{}, fmt.Errorf("RvslInd: %w", err)
	}
	if e.BookingDate, err = p.day(xn.BookgDt); err != nil {
		return Entry{}, fmt.Errorf("BookgDt: %w", err)
	}
	if e.ValueDate, err = p.day(xn.ValDt); err != nil {
		return Entry{}, fmt.Errorf("ValDt: %w", err)
	}
	if e.Charges, err = charges(xn.Chrgs); err != nil {
		return Entry{}, err
	}
	for _, nd := range xn.NtryDtls {
		for _, b := range nd.Btch {
			if n := strings.TrimSpace(b.NbOfTxs); n != "" {
				c, err := strconv.Atoi(n)
				if err != nil || c < 0 || c > 1e6 {
					return Entry{}, fmt.Errorf("Btch/NbOfTxs %q", n)
				}
				e.BatchCount += c
			}
			if b.TtlAmt != nil {
				c, err := parseAmount(*b.TtlAmt)
				if err != nil {
					return Entry{}, fmt.Errorf("Btch/TtlAmt: %w", err)
				}
				e.BatchTotalCents += c
			}
		}
		for ti, xt := range nd.TxDtls {
			t, err := transaction(xt, e.Credit)
			if err != nil {
				return Entry{}, fmt.Errorf("transaction %d: %w", ti+1, err)
			}
			e.Transactions = append(e.Transactions, t)
		}
	}
	if len(e.Transactions) == 1 && e.BatchCount <= 1 && !e.Transactions[0].AmountKnown {
		t := &e.Transactions[0]
		t.AmountCents, t.Currency, t.Credit, t.AmountKnown = e.AmountCents, e.Currency, e.Credit, true
	}
	return e, nil
}

func transaction(xt xTxDtls, entryCredit bool) (Transaction, error) {
	t := Transaction{
		EndToEndID:     strings.TrimSpace(xt.Refs.EndToEndID),
		AcctSvcrRef:    strings.TrimSpace(xt.Refs.AcctSvcrRef),
		AdditionalInfo: strings.TrimSpace(xt.AddtlTxInf),
		DebtorName:     xt.RltdPties.Dbtr.name(),
		CreditorName:   xt.RltdPties.Cdtr.name(),
		ReturnReason:   strings.TrimSpace(xt.RtrInf.Rsn.Cd),
	}
	if strings.EqualFold(t.EndToEndID, "NOTPROVIDED") {
		t.EndToEndID = ""
	}
	if t.ReturnReason == "" {
		t.ReturnReason = strings.TrimSpace(xt.RtrInf.Rsn.Prtry)
	}
	t.ReturnInfo = joinTrimmed(xt.RtrInf.AddtlInf, " ")
	for _, u := range xt.RmtInf.Ustrd {
		if u = strings.TrimSpace(u); u != "" {
			t.Remittance = append(t.Remittance, u)
		}
	}
	for _, s := range xt.RmtInf.Strd {
		for _, ref := range append([]string{s.CdtrRef}, s.DocNb...) {
			if ref = strings.TrimSpace(ref); ref != "" {
				t.StructuredRefs = append(t.StructuredRefs, ref)
			}
		}
	}
	for _, a := range []*xAmt{xt.Amt, xt.AmtDtls.TxAmt, xt.AmtDtls.InstdAmt} {
		if a == nil {
			continue
		}
		c, err := parseAmount(*a)
		if err != nil {
			return Transaction{}, err
		}
		t.AmountCents, t.Currency, t.AmountKnown = c, strings.TrimSpace(a.Ccy), true
		break
	}
	var err error
	if t.Credit, err = indicator(xt.CdtDbtInd, true); err != nil {
		return Transaction{}, err
	}
	if strings.TrimSpace(xt.CdtDbtInd) == "" {
		t.Credit = entryCredit
	}
	if t.Charges, err = charges(xt.Chrgs); err != nil {
		return Transaction{}, err
	}
	return t, nil
}

func charges(xs []xChrgs) ([]Charge, error) {
	var out []Charge
	add := func(r xChrgRcrd) error {
		if r.Amt == nil {
			return nil
		}
		c, err := parseAmount(*r.Amt)
		if err != nil {
			return fmt.Errorf("charges: %w", err)
		}
		credit, err := indicator(r.CdtDbtInd, true)
		if err != nil {
			return fmt.Errorf("charges: %w", err)
		}
		incl, err := boolean(r.ChrgInclInd)
		if err != nil {
			return fmt.Errorf("charges: ChrgInclInd: %w", err)
		}
		typ := strings.TrimSpace(r.Tp.Cd)
		if typ == "" {
			typ = strings.TrimSpace(r.Tp.Prtry)
		}
		out = append(out, Charge{AmountCents: c, Credit: credit, Included: incl, Type: typ})
		return nil
	}
	for _, x := range xs {
		if err := add(x.xChrgRcrd); err != nil { // oldest versions: the record itself
			return nil, err
		}
		for _, r := range x.Rcrd { // newer versions: a list of records
			if err := add(r); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func parseAmount(a xAmt) (int64, error) {
	if len(strings.TrimSpace(a.Ccy)) != 3 {
		return 0, fmt.Errorf("currency %q", a.Ccy)
	}
	c, err := payment.ParseCents(strings.TrimSpace(a.Value))
	if err != nil {
		return 0, err
	}
	if c < 0 {
		return 0, fmt.Errorf("negative amount %q (direction belongs in CdtDbtInd)", a.Value)
	}
	return c, nil
}

// indicator reads CdtDbtInd; empty is an error unless optional.
func indicator(s string, optional bool) (bool, error) {
	switch strings.TrimSpace(s) {
	case "CRDT":
		return true, nil
	case "DBIT":
		return false, nil
	case "":
		if optional {
			return false, nil
		}
	}
	return false, fmt.Errorf("CdtDbtInd %q", s)
}

// boolean reads an xs:boolean: true, false, 1, 0; absent is false.
func boolean(s string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "true", "1":
		return true, nil
	case "false", "0", "":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", s)
}

func sequence(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a sequence number", s)
	}
	return n, nil
}

// day reads a DateAndDateTimeChoice as a civil day; absent is the zero
// time.
func (p *parser) day(d xDate) (time.Time, error) {
	if s := strings.TrimSpace(d.Dt); s != "" {
		return parseXSDate(s)
	}
	s := strings.TrimSpace(d.DtTm)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := p.dateTime(s)
	if err != nil {
		return time.Time{}, err
	}
	y, m, dd := t.In(p.loc).Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC), nil
}

// parseXSDate reads an xs:date, which may carry a zone ("2017-04-01",
// "2017-04-01Z", "2017-04-01+02:00"): the day is the one written.
func parseXSDate(s string) (time.Time, error) {
	if len(s) < 10 {
		return time.Time{}, fmt.Errorf("date %q", s)
	}
	t, err := time.Parse(time.DateOnly, s[:10])
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q", s)
	}
	if zone := s[10:]; zone != "" && zone != "Z" {
		if _, err := time.Parse("-07:00", zone); err != nil {
			return time.Time{}, fmt.Errorf("date %q: zone", s)
		}
	}
	return t, nil
}

// dateTime reads an xs:dateTime; without an offset it is local time in
// p.loc.
func (p *parser) dateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", s, p.loc); err == nil {
		return t, nil
	}
	// Some banks write only a date where a date-time is due.
	if t, err := parseXSDate(s); err == nil {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, p.loc), nil
	}
	return time.Time{}, fmt.Errorf("date-time %q", s)
}

func joinTrimmed(ss []string, sep string) string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}
