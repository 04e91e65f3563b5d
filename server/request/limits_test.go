package request

import (
	"fmt"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/digitale-verwaltung/termin/internal/openapicheck"
)

// TestLimitsMatchOpenAPI: every string input docs/openapi.yaml documents
// has the maxLength the screening applies, and every limit here is
// documented somewhere.
func TestLimitsMatchOpenAPI(t *testing.T) {
	checker, err := openapicheck.Default()
	if err != nil {
		t.Fatal(err)
	}
	usedBody, usedQuery := map[string]bool{}, map[string]bool{}
	check := func(where, name string, s *openapi3.Schema, want int) {
		if !s.Type.Is("string") {
			return
		}
		if s.MaxLength == nil || int(*s.MaxLength) != want {
			got := "none"
			if s.MaxLength != nil {
				got = fmt.Sprint(*s.MaxLength)
			}
			t.Errorf("%s %s: maxLength %s in docs/openapi.yaml, %d screened", where, name, got, want)
		}
	}
	var walk func(where string, s *openapi3.Schema)
	walk = func(where string, s *openapi3.Schema) {
		for name, p := range s.Properties {
			if p.Value.Type.Is("string") {
				usedBody[name] = true
				check(where, name, p.Value, bodyFieldLimit(name))
			}
			walk(where, p.Value)
		}
		if s.Items != nil {
			walk(where, s.Items.Value)
		}
	}
	for path, item := range checker.Doc().Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			for _, prm := range append(item.Parameters, op.Parameters...) {
				switch prm.Value.In {
				case "query":
					usedQuery[prm.Value.Name] = true
					check(where, "query "+prm.Value.Name, prm.Value.Schema.Value, queryParamLimit(prm.Value.Name))
				case "path":
					check(where, "path "+prm.Value.Name, prm.Value.Schema.Value, MaxPathSegment)
				}
			}
			if op.RequestBody != nil {
				if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil {
					walk(where, mt.Schema.Value)
				}
			}
		}
	}
	for name := range BodyFields {
		if !usedBody[name] {
			t.Errorf("body field %s has a limit but is not documented", name)
		}
	}
	for name := range QueryParams {
		if !usedQuery[name] {
			t.Errorf("query parameter %s has a limit but is not documented", name)
		}
	}
}
