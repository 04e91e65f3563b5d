package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/digitale-verwaltung/termin/internal/openapicheck"
)

// snapshot is a digest of every row of every table of the server's
// database: equal snapshots mean nothing was written.
func (s *testServer) snapshot(t *testing.T) map[string]string {
	t.Helper()
	var tables []string
	if err := s.deps.db.Select(&tables, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tbl := range tables {
		var digest string
		q := fmt.Sprintf(`SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM %q t`, tbl)
		if err := s.deps.db.Get(&digest, q); err != nil {
			t.Fatal(err)
		}
		out[tbl] = digest
	}
	return out
}

// send sends a request with a byte body through apiClient.
func (s *testServer) send(t *testing.T, method, target string, body []byte, header http.Header) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+target, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := apiClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

// TestHostileInputAgainstTheStores runs the hostile requests of the
// handler tests (every documented route: bad text in every string of body,
// query and path, wrong types, bodies that are no object, compression
// bombs, unknown methods) against the real server on PostgreSQL and
// Redis: none answers 5xx, each answers the JSON error, and no row of
// any table changes.
func TestHostileInputAgainstTheStores(t *testing.T) {
	s := startServer(t, "-admin-api-key", testAdminKey)
	deviceToken := s.enrolledDevice(t, "buergeramt-koblenz", "counter")
	code, manage := s.bookedPool(t)
	checker, err := openapicheck.Default()
	if err != nil {
		t.Fatal(err)
	}
	bombs, err := openapicheck.NewBombs(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	auth := func(method, path string) http.Header {
		h := http.Header{}
		switch {
		case strings.HasPrefix(path, "/api/v1/kiosk/"):
			h.Set("Authorization", "Bearer "+deviceToken)
		case strings.HasPrefix(path, "/api/v1/staff/"), strings.HasPrefix(path, "/api/v1/admin/"), strings.HasPrefix(path, "/api/v1/finance/"):
			h.Set("Authorization", "Bearer "+testAdminKey)
		case strings.HasPrefix(path, "/api/v1/bookings/"):
			h.Set("Authorization", "Bearer "+manage)
		}
		return h
	}
	params := map[string]string{"id": "buergeramt-koblenz", "code": code, "ticket": "1", "reference": "ref-1", "name": "termin-buchungen-2030-01-07.csv"}
	before := s.snapshot(t)
	cases := checker.HostileRequests(params, auth, bombs)
	for _, h := range cases {
		t.Run(h.Name, func(t *testing.T) {
			res := s.send(t, h.Method, h.Path, h.Body, h.Header)
			var e struct {
				Error struct {
					Code, Message string
					MessageDE     string `json:"message_de"`
				}
			}
			if err := json.Unmarshal(res.Body, &e); err != nil || res.Status < 400 || res.Status >= 500 ||
				e.Error.Code == "" || e.Error.Message == "" || e.Error.MessageDE == "" {
				t.Fatalf("got %d %.300s", res.Status, res.Body)
			}
		})
	}
	after := s.snapshot(t)
	for tbl, digest := range before {
		if after[tbl] != digest {
			t.Errorf("table %s changed", tbl)
		}
	}
}

// bookedPool books one pool ticket and returns its code and manage token.
func (s *testServer) bookedPool(t *testing.T) (code, manage string) {
	t.Helper()
	hold := s.mustHold(t, s.pool, "erwachsene", s.poolSlot(t), 1)
	res := s.do(t, "POST", "/api/v1/bookings", `{"hold":"`+hold+`","name":"Erika Mustermann","email":"erika@example.org"}`)
	if res.Status != 201 {
		t.Fatalf("book: %d %s", res.Status, res.Body)
	}
	var b struct {
		Code        string
		ManageToken string `json:"manage_token"`
	}
	res.decode(t, &b)
	return b.Code, b.ManageToken
}

// TestCompressionBombsAgainstTheServer: bodies that decode to 200 MiB,
// gzip, deflate and gzip twice, are refused with 415 by the real server
// without being decoded; the memory it allocates answering them stays far
// below one decoded body.
func TestCompressionBombsAgainstTheServer(t *testing.T) {
	const decoded = 200 << 20
	s := startServer(t)
	bombs, err := openapicheck.NewBombs(decoded)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	sent := 0
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, b := range []struct {
		encoding string
		body     []byte
	}{{"gzip", bombs.Gzip}, {"deflate", bombs.Deflate}, {"gzip, gzip", bombs.GzipGzip}} {
		for _, target := range []string{"/api/v1/holds", "/api/v1/bookings", "/api/v1/devices/enroll"} {
			h := http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {b.encoding}}
			res := s.send(t, "POST", target, b.body, h)
			sent++
			if res.Status != 415 || errorCode(t, res) != "encoding_unsupported" {
				t.Fatalf("%s to %s: %d %s", b.encoding, target, res.Status, res.Body)
			}
		}
	}
	runtime.ReadMemStats(&after)
	// What the test's own plumbing copies (the compressed body, the
	// answer) is counted too; one decoded body would be decoded bytes.
	if perRequest := (after.TotalAlloc - before.TotalAlloc) / uint64(sent); perRequest > decoded/16 {
		t.Fatalf("answering a bomb allocated %d KiB", perRequest>>10)
	}
}
