package request

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/response"
)

func TestScreenJSON(t *testing.T) {
	tests := []struct {
		name, body, code string
	}{
		{"plain", `{"name":"Erika Mustermann","email":"erika@example.org"}`, ""},
		{"umlauts and emoji", `{"name":"Jürgen Groß 😀","x":"\u00fc\ud83d\ude00"}`, ""},
		{"escaped quote and newline in a key", `{"a\"b":"c\\"}`, ""},
		{"nested", `{"status":{"printer":{"paper":"ok"}},"list":["a","b"]}`, ""},
		{"not JSON at all", `{"name":`, ""},
		{"escaped NUL", `{"name":"a\u0000b"}`, "text_invalid"},
		{"escaped NUL in a key", `{"a\u0000":"b"}`, "text_invalid"},
		{"escaped NUL nested", `{"status":{"v":["ok","\u0000"]}}`, "text_invalid"},
		{"lone high surrogate", `{"name":"\ud800"}`, "text_invalid"},
		{"lone low surrogate", `{"name":"x\udc00y"}`, "text_invalid"},
		{"high surrogate before a non-surrogate", `{"name":"\ud800\u0041"}`, "text_invalid"},
		{"escaped control character", `{"name":"\u001b[31m"}`, "text_invalid"},
		{"escaped C1 control character", `{"name":"\u0085"}`, "text_invalid"},
		{"escaped tab", `{"name":"a\tb"}`, "text_invalid"},
		{"raw invalid UTF-8", "{\"name\":\"\xff\"}", "text_invalid"},
		{"replacement character", `{"name":"\ufffd"}`, "text_invalid"},
		{"name at its limit", `{"name":"` + strings.Repeat("ä", 200) + `"}`, ""},
		{"name over its limit", `{"name":"` + strings.Repeat("ä", 201) + `"}`, "too_long"},
		{"email over its limit", `{"email":"` + strings.Repeat("a", 255) + `"}`, "too_long"},
		{"unknown field over the default", `{"whatever":"` + strings.Repeat("a", DefaultMaxLength+1) + `"}`, "too_long"},
		{"overlong key", `{"` + strings.Repeat("k", DefaultMaxLength+1) + `":1}`, "too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ScreenJSON([]byte(tt.body))
			var e *response.Error
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.code != "" && (!errors.As(err, &e) || e.Code != tt.code || e.Status != 400):
				t.Fatalf("got %v, want %s", err, tt.code)
			}
		})
	}
}

// FuzzScreenJSON: for any document encoding/json accepts, ScreenJSON
// passes exactly when every string json decodes is storable text (decoded
// strings cannot show a lone surrogate, which json turns into U+FFFD, and
// U+FFFD is refused too); it never panics on any input.
func FuzzScreenJSON(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":"\u0000"}`, `{"a":"\ud800"}`, `{"a":["\ud83d\ude00",{"b":"\\"}]}`, `[1,"x"]`, `"\u00e4"`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := ScreenJSON(doc)
		var v any
		if json.Unmarshal(doc, &v) != nil {
			return
		}
		if clean := allText(v); clean != (err == nil) {
			// A long string may be refused for its length alone.
			var e *response.Error
			if !(errors.As(err, &e) && e.Code == "too_long" && clean) {
				t.Fatalf("%q: screen %v, strings clean %v", doc, err, clean)
			}
		}
	})
}

func allText(v any) bool {
	switch v := v.(type) {
	case string:
		return checkText("", v, 1<<30) == nil
	case []any:
		for _, e := range v {
			if !allText(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range v {
			if !allText(k) || !allText(e) {
				return false
			}
		}
	}
	return true
}

func TestScreen(t *testing.T) {
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return response.WriteError(c, response.For(err))
	}})
	app.Use(Screen)
	reached := 0
	app.All("/*", func(c *fiber.Ctx) error { reached++; return response.NoContent(c) })
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write(bytes.Repeat([]byte(" "), 1<<20))
	zw.Close()
	tests := []struct {
		name, method, target, body string
		header                     []string
		status                     int
		code                       string
	}{
		{"clean", "GET", "/api/v1/finance/postings?kassenzeichen=TB1234", "", nil, 204, ""},
		{"NUL in a query parameter", "GET", "/api/v1/finance/postings?kassenzeichen=%00", "", nil, 400, "text_invalid"},
		{"invalid UTF-8 in a query parameter", "GET", "/api/v1/availability?location=%ff", "", nil, 400, "text_invalid"},
		{"NUL in a query parameter's name", "GET", "/api/v1/locations?a%00=1", "", nil, 400, "text_invalid"},
		{"overlong query parameter", "GET", "/api/v1/availability?location=" + strings.Repeat("x", 65), "", nil, 400, "too_long"},
		{"overlong path segment", "GET", "/api/v1/bookings/" + strings.Repeat("x", MaxPathSegment+1), "", nil, 400, "too_long"},
		{"a page's hold ticket in the path", "GET", "/reservierung/" + strings.Repeat("x", MaxPathSegment+1), "", nil, 204, ""},
		{"overlong page path segment", "GET", "/reservierung/" + strings.Repeat("x", MaxPagePathSegment+1), "", nil, 400, "too_long"},
		{"escaped NUL in the path", "DELETE", "/api/v1/bookings/%00", "", nil, 400, "text_invalid"},
		{"escaped invalid UTF-8 in the path", "GET", "/api/v1/payments/%ff/return", "", nil, 400, "text_invalid"},
		{"bad escape in the path", "GET", "/api/v1/payments/%zz/return", "", nil, 400, "text_invalid"},
		{"escaped umlaut in the path", "GET", "/api/v1/locations/k%C3%B6ln/services", "", nil, 204, ""},
		{"NUL in the body", "POST", "/api/v1/bookings", `{"name":"\u0000"}`, []string{"Content-Type", "application/json"}, 400, "text_invalid"},
		{"NUL in a body without a type", "POST", "/api/v1/payments/notifications", `{"eventId":"\u0000"}`, nil, 400, "text_invalid"},
		{"gzip", "POST", "/api/v1/holds", bomb.String(), []string{"Content-Encoding", "gzip"}, 415, "encoding_unsupported"},
		{"gzip twice", "POST", "/api/v1/holds", bomb.String(), []string{"Content-Encoding", "gzip, gzip"}, 415, "encoding_unsupported"},
		{"deflate", "POST", "/api/v1/holds", "x", []string{"Content-Encoding", "deflate"}, 415, "encoding_unsupported"},
		{"identity", "POST", "/api/v1/holds", `{}`, []string{"Content-Encoding", "identity"}, 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req := httptest.NewRequest(tt.method, "/", body)
			req.URL.RawQuery = ""
			req.RequestURI = tt.target
			req.URL.Opaque = tt.target
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			before := reached
			res, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status || tt.code != "" && !strings.Contains(string(b), `"code":"`+tt.code+`"`) {
				t.Fatalf("got %d %s, want %d %s", res.StatusCode, b, tt.status, tt.code)
			}
			if tt.code != "" && reached != before {
				t.Fatal("a refused request reached the handler")
			}
		})
	}
}
