package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// postStatements starts a reconciliation with the given files (a field
// may carry several) and answers the status and the decoded body.
func (s *payServer) postStatements(t *testing.T, files map[string][][]byte) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for name, list := range files {
		for _, data := range list {
			w, _ := mw.CreateFormFile(name, name+".xml")
			w.Write(data)
		}
	}
	mw.Close()
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/finance/reconciliations", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	res, err := apiClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%d %s", res.StatusCode, raw)
	}
	return res.StatusCode, out
}

func (s *payServer) simFile(t *testing.T, path string) []byte {
	t.Helper()
	res, err := http.Get(s.simURL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("%s: %d %s", path, res.StatusCode, b)
	}
	return b
}

func statementErrorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func warningCodes(run map[string]any) []string {
	var out []string
	ws, _ := run["warnings"].([]any)
	for _, w := range ws {
		m := w.(map[string]any)
		code := m["code"].(string)
		if r, ok := m["reason"].(string); ok {
			code += "/" + r
		}
		out = append(out, code)
	}
	return out
}

// The simulator's statements reconcile in both versions it writes; a
// second import, another account and a breakdown that fits nothing are
// shown as warnings; what cannot be read is refused with its own code.
func TestStatementWarningsInTheFinanceAPI(t *testing.T) {
	s := startPayServer(t, payOptions{platform: "epay21", args: []string{"-payout-account", "DE02 1203 0000 0000 2020 51"}})
	b := s.book(t, s.poolSlot(t), 1)
	s.pay(t, b.Payment.Reference, true)
	s.work(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	today := time.Now().In(berlin)
	settle := s.simFile(t, "/sim/settlement?date="+today.Format(time.DateOnly))
	statement := func(version string) []byte {
		return s.simFile(t, "/sim/camt053?version="+version+"&date="+today.AddDate(0, 0, 1).Format(time.DateOnly))
	}
	var firstID float64
	for i, version := range []string{"001.02", "001.08"} {
		t.Run("simulator statement "+version, func(t *testing.T) {
			status, run := s.postStatements(t, map[string][][]byte{"settlement": {settle}, "camt053": {statement(version)}})
			if status != 201 {
				t.Fatalf("%d %v", status, run)
			}
			counts := run["counts"].(map[string]any)
			if counts["matched"] != 1.0 || len(counts) != 1 {
				t.Fatalf("counts %v", run)
			}
			stmts := run["statements"].([]any)
			st := stmts[0].(map[string]any)
			if len(stmts) != 1 || st["account"] != "DE02120300000000202051" || st["payout_account"] != true || st["entries"] != 1.0 {
				t.Fatalf("statements %v", stmts)
			}
			want := ""
			if i == 1 {
				want = "duplicate_statement"
			} else {
				firstID = run["id"].(float64)
			}
			if got := strings.Join(warningCodes(run), " "); got != want {
				t.Fatalf("warnings %q, want %q: %v", got, want, run["warnings"])
			}
			if i == 1 && run["warnings"].([]any)[0].(map[string]any)["earlier_run_id"] != firstID {
				t.Fatalf("earlier run: %v", run["warnings"])
			}
		})
	}

	t.Run("another account", func(t *testing.T) {
		other := regexp.MustCompile(`<IBAN>[A-Z0-9]+</IBAN>`).ReplaceAll(statement("001.02"), []byte("<IBAN>DE89370400440532013000</IBAN>"))
		status, run := s.postStatements(t, map[string][][]byte{"settlement": {settle}, "camt053": {other}})
		if status != 201 || run["counts"].(map[string]any)["posted_not_in_bank"] != 1.0 ||
			strings.Join(warningCodes(run), " ") != "entry_skipped/other_account" {
			t.Fatalf("%d %v", status, run)
		}
	})

	t.Run("breakdown that fits nothing", func(t *testing.T) {
		ntf := []byte(`<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>N</MsgId></GrpHdr>
<Ntfctn><Id>N-1</Id><Acct><Id><IBAN>DE02120300000000202051</IBAN></Id></Acct>
<Ntry><Amt Ccy="EUR">99.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2025-03-15</Dt></BookgDt><AcctSvcrRef>X</AcctSvcrRef>
<NtryDtls><TxDtls><Amt Ccy="EUR">99.00</Amt></TxDtls></NtryDtls></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>`)
		status, run := s.postStatements(t, map[string][][]byte{"settlement": {settle}, "camt053": {statement("001.08")}, "camt054": {ntf, ntf}})
		if status != 201 || strings.Join(warningCodes(run), " ") != "breakdown_unmatched breakdown_unmatched duplicate_statement" {
			t.Fatalf("%d %v", status, run)
		}
		status, run = s.postStatements(t, map[string][][]byte{"settlement": {settle}, "camt053": {ntf}})
		if status != 422 || statementErrorCode(run) != "camt_invalid" {
			t.Fatalf("a camt.054 as statement: %d %v", status, run)
		}
		status, run = s.postStatements(t, map[string][][]byte{"settlement": {settle}, "camt053": {statement("001.02")}, "camt054": {[]byte("<x/>")}})
		if status != 422 || statementErrorCode(run) != "camt054_invalid" {
			t.Fatalf("unreadable breakdown: %d %v", status, run)
		}
	})
}
