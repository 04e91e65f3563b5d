package openapicheck

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDocumentIsValid: docs/openapi.yaml is a valid OpenAPI document with
// an operationId on every operation and only declared security schemes.
func TestDocumentIsValid(t *testing.T) {
	if _, err := Load(DocPath()); err != nil {
		t.Fatal(err)
	}
}

// TestCheckCatchesDrift: answers the document does not describe fail.
func TestCheckCatchesDrift(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	errBody := `{"error":{"code":"not_found","message":"m","message_de":"d"}}`
	tests := []struct {
		name, method, target, reqBody string
		status                        int
		body                          string
		ok                            bool
	}{
		{"documented answer", "GET", "/api/v1/locations", "", 200, `[{"id":"x","kind":"pool","name":"n","timezone":"Europe/Berlin"}]`, true},
		{"undocumented field", "GET", "/api/v1/locations", "", 200, `[{"id":"x","colour":"red"}]`, false},
		{"wrong type", "GET", "/api/v1/locations", "", 200, `[{"id":1}]`, false},
		{"undocumented success status", "GET", "/api/v1/locations", "", 201, `[]`, false},
		{"error on a documented route", "GET", "/api/v1/locations", "", 503, errBody, true},
		{"error without message_de", "GET", "/api/v1/locations", "", 503, `{"error":{"code":"x","message":"m"}}`, false},
		{"error on an unknown route", "GET", "/api/v1/nowhere", "", 404, errBody, true},
		{"success on an unknown route", "GET", "/api/v1/nowhere", "", 200, `{}`, false},
		{"accepted request the document forbids", "POST", "/api/v1/holds", `{"location":"x"}`, 201, `{}`, false},
		{"refused request the document forbids", "POST", "/api/v1/holds", `{"location":"x"}`, 400, errBody, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.reqBody))
			req.Header.Set("Content-Type", "application/json")
			err := c.Check(req, []byte(tt.reqBody), tt.status, jsonHeader, []byte(tt.body))
			if (err == nil) != tt.ok {
				t.Fatalf("check: %v", err)
			}
		})
	}
}
