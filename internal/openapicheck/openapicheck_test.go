package openapicheck

import "testing"

// TestDocumentIsValid: docs/openapi.yaml is a valid OpenAPI document with
// an operationId on every operation and only declared security schemes.
func TestDocumentIsValid(t *testing.T) {
	if _, err := Load(DocPath()); err != nil {
		t.Fatal(err)
	}
}
