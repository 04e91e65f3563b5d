package paysim

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/settlement"
)

const dayLayout = "2006-01-02"

// Settlement builds the settlement report for the civil day (in
// Config.Location) of day: one line per payment paid that day, one per
// refund made that day, and the payout total.
func (s *Server) Settlement(day time.Time) settlement.Report {
	loc := s.cfg.Location
	y, m, d := day.Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, loc)
	end := start.AddDate(0, 0, 1)
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(start) && t.Before(end) }
	rep := settlement.Report{
		Date:     time.Date(y, m, d, 0, 0, 0, 0, time.UTC),
		PayoutID: payoutID(y, m, d),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.order {
		p := s.payments[id]
		if in(p.PaidAt) {
			fee := s.fee(p.AmountCents)
			rep.Lines = append(rep.Lines, settlement.Line{Kind: settlement.KindPayment, Date: rep.Date, PlatformID: p.ID,
				Reference: p.Reference, Kassenzeichen: p.Kassenzeichen, GrossCents: p.AmountCents, FeeCents: fee,
				NetCents: p.AmountCents - fee, Method: p.Method})
		}
		for _, r := range p.Refunds {
			if in(r.At) {
				rep.Lines = append(rep.Lines, settlement.Line{Kind: settlement.KindRefund, Date: rep.Date, PlatformID: p.ID,
					Reference: p.Reference, Kassenzeichen: p.Kassenzeichen, GrossCents: -r.AmountCents,
					NetCents: -r.AmountCents, Method: p.Method})
			}
		}
	}
	rep.Totals()
	return rep
}

func payoutID(y int, m time.Month, d int) string { return fmt.Sprintf("SIM-PO-%04d%02d%02d", y, m, d) }

func parseDay(w http.ResponseWriter, r *http.Request) (time.Time, bool) {
	day, err := time.Parse(dayLayout, r.URL.Query().Get("date"))
	if err != nil {
		http.Error(w, "date=YYYY-MM-DD required", http.StatusBadRequest)
		return time.Time{}, false
	}
	return day, true
}

func (s *Server) handleSettlement(w http.ResponseWriter, r *http.Request) {
	day, ok := parseDay(w, r)
	if !ok {
		return
	}
	var b bytes.Buffer
	if err := settlement.Write(&b, s.Settlement(day)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="settlement-%s.csv"`, day.Format(dayLayout)))
	_, _ = w.Write(b.Bytes())
}

// camt.053 shapes for generation. The two versions differ (in what we
// write) only in Sts and Dbtr, which marshal themselves per version.

type camtAmt struct {
	Ccy   string `xml:"Ccy,attr"`
	Value string `xml:",chardata"`
}

type camtStatus struct {
	v08  bool
	code string
}

func (c camtStatus) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if c.v08 {
		return e.EncodeElement(struct {
			Cd string `xml:"Cd"`
		}{c.code}, start)
	}
	return e.EncodeElement(c.code, start)
}

type camtParty struct {
	v08  bool
	name string
}

func (c camtParty) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if c.v08 {
		return e.EncodeElement(struct {
			Nm string `xml:"Pty>Nm"`
		}{c.name}, start)
	}
	return e.EncodeElement(struct {
		Nm string `xml:"Nm"`
	}{c.name}, start)
}

type camtBal struct {
	Cd        string  `xml:"Tp>CdOrPrtry>Cd"`
	Amt       camtAmt `xml:"Amt"`
	CdtDbtInd string  `xml:"CdtDbtInd"`
	Dt        string  `xml:"Dt>Dt"`
}

type camtNtry struct {
	Amt         camtAmt    `xml:"Amt"`
	CdtDbtInd   string     `xml:"CdtDbtInd"`
	Sts         camtStatus `xml:"Sts"`
	BookgDt     string     `xml:"BookgDt>Dt"`
	ValDt       string     `xml:"ValDt>Dt"`
	AcctSvcrRef string     `xml:"AcctSvcrRef"`
	Domn        string     `xml:"BkTxCd>Domn>Cd"`
	Fmly        string     `xml:"BkTxCd>Domn>Fmly>Cd"`
	SubFmly     string     `xml:"BkTxCd>Domn>Fmly>SubFmlyCd"`
	EndToEndID  string     `xml:"NtryDtls>TxDtls>Refs>EndToEndId"`
	Dbtr        camtParty  `xml:"NtryDtls>TxDtls>RltdPties>Dbtr"`
	Ustrd       []string   `xml:"NtryDtls>TxDtls>RmtInf>Ustrd"`
}

type camtDoc struct {
	XMLName xml.Name `xml:"Document"`
	NS      string   `xml:"xmlns,attr"`
	MsgID   string   `xml:"BkToCstmrStmt>GrpHdr>MsgId"`
	CreDtTm string   `xml:"BkToCstmrStmt>GrpHdr>CreDtTm"`
	Stmt    struct {
		ID           string     `xml:"Id"`
		ElctrncSeqNb int        `xml:"ElctrncSeqNb"`
		CreDtTm      string     `xml:"CreDtTm"`
		IBAN         string     `xml:"Acct>Id>IBAN"`
		Ccy          string     `xml:"Acct>Ccy"`
		Owner        string     `xml:"Acct>Ownr>Nm"`
		Bal          []camtBal  `xml:"Bal"`
		Ntry         []camtNtry `xml:"Ntry"`
	} `xml:"BkToCstmrStmt>Stmt"`
}

// Camt053 renders the bank statement of the city's account for the civil
// day of day, in version "001.02" or "001.08". It holds the payout of the
// settlement day PayoutLagDays earlier as one lump entry (a credit, or a
// debit when refunds exceeded payments); its remittance information and
// end-to-end id carry the payout id of the settlement report. The
// simulator knows no other bookings, so the opening balance is zero.
func (s *Server) Camt053(day time.Time, version string) ([]byte, error) {
	var ns string
	switch version {
	case "001.02", "":
		version, ns = "001.02", "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
	case "001.08":
		ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
	default:
		return nil, fmt.Errorf("camt.053 version %q not supported", version)
	}
	v08 := version == "001.08"
	y, m, d := day.Date()
	stmtDay := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	settled := stmtDay.AddDate(0, 0, -s.cfg.PayoutLagDays)
	rep := s.Settlement(settled)
	date := stmtDay.Format(dayLayout)
	compact := stmtDay.Format("20060102")

	var doc camtDoc
	doc.NS = ns
	doc.MsgID = "SIM-CAMT-" + compact
	doc.CreDtTm = stmtDay.Add(18 * time.Hour).Format("2006-01-02T15:04:05")
	doc.Stmt.ID = "SIM-STMT-" + compact
	doc.Stmt.ElctrncSeqNb = stmtDay.YearDay()
	doc.Stmt.CreDtTm = doc.CreDtTm
	doc.Stmt.IBAN = s.cfg.AccountIBAN
	doc.Stmt.Ccy = "EUR"
	doc.Stmt.Owner = s.cfg.AccountOwner
	closing := rep.NetCents
	ind := func(c int64) string {
		if c < 0 {
			return "DBIT"
		}
		return "CRDT"
	}
	abs := func(c int64) int64 {
		if c < 0 {
			return -c
		}
		return c
	}
	doc.Stmt.Bal = []camtBal{
		{Cd: "OPBD", Amt: camtAmt{"EUR", "0.00"}, CdtDbtInd: "CRDT", Dt: date},
		{Cd: "CLBD", Amt: camtAmt{"EUR", payment.FormatCents(abs(closing))}, CdtDbtInd: ind(closing), Dt: date},
	}
	if rep.NetCents != 0 {
		doc.Stmt.Ntry = append(doc.Stmt.Ntry, camtNtry{
			Amt:         camtAmt{"EUR", payment.FormatCents(abs(rep.NetCents))},
			CdtDbtInd:   ind(rep.NetCents),
			Sts:         camtStatus{v08, "BOOK"},
			BookgDt:     date,
			ValDt:       date,
			AcctSvcrRef: "SIMBANK-" + compact + "-1",
			Domn:        "PMNT", Fmly: "RCDT", SubFmly: "ESCT",
			EndToEndID: rep.PayoutID,
			Dbtr:       camtParty{v08, "Zahlungsplattform-Simulator"},
			Ustrd:      []string{rep.PayoutID, "Auszahlung " + rep.Date.Format(dayLayout)},
		})
	}
	out, err := xml.MarshalIndent(doc, "", " ")
	if err != nil {
		return nil, fmt.Errorf("marshal camt.053: %w", err)
	}
	return append([]byte(xml.Header), out...), nil
}

func (s *Server) handleCamt(w http.ResponseWriter, r *http.Request) {
	day, ok := parseDay(w, r)
	if !ok {
		return
	}
	b, err := s.Camt053(day, r.URL.Query().Get("version"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	_, _ = w.Write(b)
}
