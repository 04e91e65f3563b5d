package camt

import "strings"

// XML shapes. Element names carry no namespace, so they match in every
// version; the namespace of <Document> is checked apart. Where versions
// place an element differently, both places are listed.

type xDocument struct {
	Stmt   xMessage `xml:"BkToCstmrStmt"`
	Ntfctn xMessage `xml:"BkToCstmrDbtCdtNtfctn"`
}

type xMessage struct {
	GrpHdr struct {
		MsgID string `xml:"MsgId"`
	} `xml:"GrpHdr"`
	Stmts   []xStmt `xml:"Stmt"`
	Ntfctns []xStmt `xml:"Ntfctn"`
}

type xAmt struct {
	Ccy   string `xml:"Ccy,attr"`
	Value string `xml:",chardata"`
}

type xDate struct {
	Dt   string `xml:"Dt"`
	DtTm string `xml:"DtTm"`
}

// xStatus holds every form of the entry status: text in the older
// versions, a Cd or Prtry child in the newer ones.
type xStatus struct {
	Text  string `xml:",chardata"`
	Cd    string `xml:"Cd"`
	Prtry string `xml:"Prtry"`
}

// xParty is a related party: Nm directly in the older versions, inside
// Pty in the newer ones.
type xParty struct {
	Nm    string `xml:"Nm"`
	PtyNm string `xml:"Pty>Nm"`
}

func (p xParty) name() string {
	if n := strings.TrimSpace(p.Nm); n != "" {
		return n
	}
	return strings.TrimSpace(p.PtyNm)
}

type xStmt struct {
	ID           string `xml:"Id"`
	ElctrncSeqNb string `xml:"ElctrncSeqNb"`
	LglSeqNb     string `xml:"LglSeqNb"`
	CreDtTm      string `xml:"CreDtTm"`
	FrToDt       struct {
		Fr string `xml:"FrDtTm"`
		To string `xml:"ToDtTm"`
	} `xml:"FrToDt"`
	Acct struct {
		IBAN string `xml:"Id>IBAN"`
		Othr string `xml:"Id>Othr>Id"`
		Ccy  string `xml:"Ccy"`
	} `xml:"Acct"`
	Bal []struct {
		Cd        string `xml:"Tp>CdOrPrtry>Cd"`
		Prtry     string `xml:"Tp>CdOrPrtry>Prtry"`
		Amt       xAmt   `xml:"Amt"`
		CdtDbtInd string `xml:"CdtDbtInd"`
		Dt        xDate  `xml:"Dt"`
	} `xml:"Bal"`
	Ntry []xNtry `xml:"Ntry"`
}

type xBkTxCd struct {
	Domn    string `xml:"Domn>Cd"`
	Fmly    string `xml:"Domn>Fmly>Cd"`
	SubFmly string `xml:"Domn>Fmly>SubFmlyCd"`
	Prtry   string `xml:"Prtry>Cd"`
}

func (c xBkTxCd) code() string {
	if c.Domn != "" {
		return strings.TrimSpace(c.Domn) + "/" + strings.TrimSpace(c.Fmly) + "/" + strings.TrimSpace(c.SubFmly)
	}
	return strings.TrimSpace(c.Prtry)
}

type xNtry struct {
	Amt          xAmt     `xml:"Amt"`
	CdtDbtInd    string   `xml:"CdtDbtInd"`
	RvslInd      string   `xml:"RvslInd"`
	Sts          xStatus  `xml:"Sts"`
	BookgDt      xDate    `xml:"BookgDt"`
	ValDt        xDate    `xml:"ValDt"`
	AcctSvcrRef  string   `xml:"AcctSvcrRef"`
	BkTxCd       xBkTxCd  `xml:"BkTxCd"`
	Chrgs        []xChrgs `xml:"Chrgs"`
	AddtlNtryInf string   `xml:"AddtlNtryInf"`
	NtryDtls     []struct {
		Btch []struct {
			NbOfTxs string `xml:"NbOfTxs"`
			TtlAmt  *xAmt  `xml:"TtlAmt"`
		} `xml:"Btch"`
		TxDtls []xTxDtls `xml:"TxDtls"`
	} `xml:"NtryDtls"`
}

// xChrgs is one charge (the oldest versions) or a list of them in Rcrd
// (the newer ones).
type xChrgs struct {
	xChrgRcrd
	Rcrd []xChrgRcrd `xml:"Rcrd"`
}

type xChrgRcrd struct {
	Amt         *xAmt  `xml:"Amt"`
	CdtDbtInd   string `xml:"CdtDbtInd"`
	ChrgInclInd string `xml:"ChrgInclInd"`
	Tp          struct {
		Cd    string `xml:"Cd"`
		Prtry string `xml:"Prtry>Id"`
	} `xml:"Tp"`
}

type xTxDtls struct {
	Refs struct {
		EndToEndID  string `xml:"EndToEndId"`
		AcctSvcrRef string `xml:"AcctSvcrRef"`
	} `xml:"Refs"`
	Amt       *xAmt  `xml:"Amt"`
	CdtDbtInd string `xml:"CdtDbtInd"`
	AmtDtls   struct {
		InstdAmt *xAmt `xml:"InstdAmt>Amt"`
		TxAmt    *xAmt `xml:"TxAmt>Amt"`
	} `xml:"AmtDtls"`
	Chrgs     []xChrgs `xml:"Chrgs"`
	RltdPties struct {
		Dbtr xParty `xml:"Dbtr"`
		Cdtr xParty `xml:"Cdtr"`
	} `xml:"RltdPties"`
	RmtInf struct {
		Ustrd []string `xml:"Ustrd"`
		Strd  []struct {
			CdtrRef string   `xml:"CdtrRefInf>Ref"`
			DocNb   []string `xml:"RfrdDocInf>Nb"`
		} `xml:"Strd"`
	} `xml:"RmtInf"`
	RtrInf struct {
		Rsn struct {
			Cd    string `xml:"Cd"`
			Prtry string `xml:"Prtry"`
		} `xml:"Rsn"`
		AddtlInf []string `xml:"AddtlInf"`
	} `xml:"RtrInf"`
	AddtlTxInf string `xml:"AddtlTxInf"`
}
