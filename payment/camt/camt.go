// Package camt reads the subset of ISO 20022 camt.053 bank statements that
// reconciliation needs: statement id, account, and per entry the amount,
// credit/debit, booking and value date, the bank's reference, end-to-end
// ids, unstructured remittance information and debtor names.
//
// German banks deliver camt.053.001.02 and, newer ones, .001.08. The two
// differ in this subset only in the entry status (<Sts>BOOK</Sts> vs
// <Sts><Cd>BOOK</Cd></Sts>) and in related parties (<Dbtr><Nm> vs
// <Dbtr><Pty><Nm>); both forms are accepted. encoding/xml suffices for a
// subset this small; a full camt library would bring hundreds of generated
// types we would not use.
package camt

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
)

// Namespaces of the supported versions.
const (
	NS053v02 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
	NS053v08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
)

// ErrMalformed reports a document that is not a camt.053 statement we can
// read.
var ErrMalformed = errors.New("malformed camt.053 statement")

// maxDocument bounds what is read; a city account's daily statement is far
// smaller.
const maxDocument = 64 << 20

// Document is a parsed camt.053 message.
type Document struct {
	Version    string // "001.02" or "001.08"
	MessageID  string
	Statements []Statement
}

// Statement is one account's statement.
type Statement struct {
	ID      string
	IBAN    string
	Entries []Entry
}

// Entry is one booking on the account. A batch booking (one credit for many
// payments) is one Entry with several Transactions.
type Entry struct {
	AmountCents  int64 // always positive; see Credit
	Currency     string
	Credit       bool // CdtDbtInd CRDT; false means DBIT
	Reversal     bool // RvslInd
	Status       string
	BookingDate  time.Time // date part only, UTC
	ValueDate    time.Time
	AcctSvcrRef  string
	Transactions []Transaction
}

// SignedCents is the amount with debits negative.
func (e Entry) SignedCents() int64 {
	if e.Credit {
		return e.AmountCents
	}
	return -e.AmountCents
}

// Transaction is one TxDtls of an entry.
type Transaction struct {
	EndToEndID  string
	AmountCents int64 // 0 when the bank gives no per-transaction amount
	Remittance  []string
	DebtorName  string
}

// xml shapes; element names match any namespace, the root's namespace is
// checked separately.
type xDocument struct {
	XMLName xml.Name `xml:"Document"`
	Stmt    struct {
		GrpHdr struct {
			MsgID string `xml:"MsgId"`
		} `xml:"GrpHdr"`
		Stmts []xStmt `xml:"Stmt"`
	} `xml:"BkToCstmrStmt"`
}

type xAmt struct {
	Ccy   string `xml:"Ccy,attr"`
	Value string `xml:",chardata"`
}

type xDate struct {
	Dt   string `xml:"Dt"`
	DtTm string `xml:"DtTm"`
}

// xStatus holds both forms of the entry status: text (.001.02) or a Cd
// child (.001.08).
type xStatus struct {
	Text string `xml:",chardata"`
	Cd   string `xml:"Cd"`
}

type xParty struct {
	Nm    string `xml:"Nm"`
	PtyNm string `xml:"Pty>Nm"`
}

type xStmt struct {
	ID   string `xml:"Id"`
	IBAN string `xml:"Acct>Id>IBAN"`
	Ntry []struct {
		Amt         xAmt    `xml:"Amt"`
		CdtDbtInd   string  `xml:"CdtDbtInd"`
		RvslInd     string  `xml:"RvslInd"`
		Sts         xStatus `xml:"Sts"`
		BookgDt     xDate   `xml:"BookgDt"`
		ValDt       xDate   `xml:"ValDt"`
		AcctSvcrRef string  `xml:"AcctSvcrRef"`
		NtryDtls    []struct {
			TxDtls []struct {
				EndToEndID string   `xml:"Refs>EndToEndId"`
				Amt        *xAmt    `xml:"Amt"`
				Dbtr       xParty   `xml:"RltdPties>Dbtr"`
				Ustrd      []string `xml:"RmtInf>Ustrd"`
			} `xml:"TxDtls"`
		} `xml:"NtryDtls"`
	} `xml:"Ntry"`
}

// Parse reads a camt.053 .001.02 or .001.08 document.
func Parse(r io.Reader) (Document, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxDocument+1))
	if err != nil {
		return Document{}, fmt.Errorf("read camt.053: %w", err)
	}
	if len(raw) > maxDocument {
		return Document{}, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, maxDocument)
	}
	var x xDocument
	d := xml.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(&x); err != nil {
		return Document{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	doc := Document{MessageID: x.Stmt.GrpHdr.MsgID}
	switch x.XMLName.Space {
	case NS053v02:
		doc.Version = "001.02"
	case NS053v08:
		doc.Version = "001.08"
	default:
		return Document{}, fmt.Errorf("%w: unsupported namespace %q", ErrMalformed, x.XMLName.Space)
	}
	if len(x.Stmt.Stmts) == 0 {
		return Document{}, fmt.Errorf("%w: no Stmt", ErrMalformed)
	}
	for si, xs := range x.Stmt.Stmts {
		st := Statement{ID: strings.TrimSpace(xs.ID), IBAN: strings.TrimSpace(xs.IBAN)}
		if st.ID == "" || st.IBAN == "" {
			return Document{}, fmt.Errorf("%w: statement %d lacks Id or IBAN", ErrMalformed, si+1)
		}
		for ni, xn := range xs.Ntry {
			where := fmt.Sprintf("statement %s entry %d", st.ID, ni+1)
			e := Entry{
				Currency:    xn.Amt.Ccy,
				AcctSvcrRef: strings.TrimSpace(xn.AcctSvcrRef),
				Reversal:    strings.TrimSpace(xn.RvslInd) == "true",
				Status:      strings.TrimSpace(xn.Sts.Cd),
			}
			if e.Status == "" {
				e.Status = strings.TrimSpace(xn.Sts.Text)
			}
			if e.AmountCents, err = parseAmount(xn.Amt); err != nil {
				return Document{}, fmt.Errorf("%w: %s: %w", ErrMalformed, where, err)
			}
			switch strings.TrimSpace(xn.CdtDbtInd) {
			case "CRDT":
				e.Credit = true
			case "DBIT":
			default:
				return Document{}, fmt.Errorf("%w: %s: CdtDbtInd %q", ErrMalformed, where, xn.CdtDbtInd)
			}
			if e.BookingDate, err = parseDate(xn.BookgDt); err != nil {
				return Document{}, fmt.Errorf("%w: %s: BookgDt: %w", ErrMalformed, where, err)
			}
			if e.ValueDate, err = parseDate(xn.ValDt); err != nil {
				return Document{}, fmt.Errorf("%w: %s: ValDt: %w", ErrMalformed, where, err)
			}
			for _, nd := range xn.NtryDtls {
				for _, tx := range nd.TxDtls {
					t := Transaction{EndToEndID: strings.TrimSpace(tx.EndToEndID), DebtorName: strings.TrimSpace(tx.Dbtr.Nm)}
					if t.DebtorName == "" {
						t.DebtorName = strings.TrimSpace(tx.Dbtr.PtyNm)
					}
					for _, u := range tx.Ustrd {
						t.Remittance = append(t.Remittance, strings.TrimSpace(u))
					}
					if tx.Amt != nil {
						if t.AmountCents, err = parseAmount(*tx.Amt); err != nil {
							return Document{}, fmt.Errorf("%w: %s: TxDtls: %w", ErrMalformed, where, err)
						}
					}
					e.Transactions = append(e.Transactions, t)
				}
			}
			st.Entries = append(st.Entries, e)
		}
		doc.Statements = append(doc.Statements, st)
	}
	return doc, nil
}

func parseAmount(a xAmt) (int64, error) {
	if len(a.Ccy) != 3 {
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

// parseDate reads a DateAndDateTimeChoice and keeps the civil date.
func parseDate(d xDate) (time.Time, error) {
	if s := strings.TrimSpace(d.Dt); s != "" {
		return time.Parse("2006-01-02", s)
	}
	s := strings.TrimSpace(d.DtTm)
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
		}
	}
	return time.Time{}, fmt.Errorf("date-time %q", s)
}
