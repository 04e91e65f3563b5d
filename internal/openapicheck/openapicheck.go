// Package openapicheck holds the API's answers to docs/openapi.yaml in
// tests: the document must be valid OpenAPI, and every request a test
// sends and every answer it receives must match the documented schema of
// its route and status. The handler tests (on fakes) and the server tests
// (on the real stores) both send through it, so the document cannot drift
// from the server unnoticed.
package openapicheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Checker validates exchanges against the document.
type Checker struct {
	doc    *openapi3.T
	router routers.Router
	// errorSchema is the shape of every error answer, for answers on
	// routes the document does not have (404 not_found, 405).
	errorSchema *openapi3.Schema
}

var (
	loadOnce sync.Once
	loaded   *Checker
	loadErr  error
)

// DocPath is where the document is, found from this file's location.
func DocPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs", "openapi.yaml")
}

// Default is the checker of docs/openapi.yaml, loaded once.
func Default() (*Checker, error) {
	loadOnce.Do(func() { loaded, loadErr = Load(DocPath()) })
	return loaded, loadErr
}

// Load reads and validates a document. Object schemas that list their
// properties are made closed (additionalProperties: false) unless they say
// otherwise, so a field the server sends that the document does not name
// is a failure too.
func Load(path string) (*Checker, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", path, err)
	}
	if err := checkOperations(doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	closeSchemas(doc)
	// Match any host: the tests serve on loopback ports of their own.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", path, err)
	}
	errResp := doc.Components.Responses["Error"]
	if errResp == nil || errResp.Value.Content.Get("application/json") == nil {
		return nil, fmt.Errorf("%s: components.responses.Error with a JSON schema is missing", path)
	}
	return &Checker{doc: doc, router: router, errorSchema: errResp.Value.Content.Get("application/json").Schema.Value}, nil
}

// checkOperations demands an operationId on every operation, and a
// security requirement naming a declared scheme wherever one is given.
func checkOperations(doc *openapi3.T) error {
	var errs []error
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				errs = append(errs, fmt.Errorf("%s %s has no operationId", method, path))
			}
			if op.Security == nil {
				continue
			}
			for _, req := range *op.Security {
				for name := range req {
					if doc.Components.SecuritySchemes[name] == nil {
						errs = append(errs, fmt.Errorf("%s %s names the undeclared security scheme %s", method, path, name))
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

func closeSchemas(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(s *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			closed := false
			s.AdditionalProperties.Has = &closed
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		for _, l := range [][]*openapi3.SchemaRef{s.AllOf, s.AnyOf, s.OneOf} {
			for _, x := range l {
				walk(x)
			}
		}
	}
	for _, s := range doc.Components.Schemas {
		walk(s)
	}
	for _, r := range doc.Components.Responses {
		for _, mt := range r.Value.Content {
			walk(mt.Schema)
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil {
				for _, mt := range op.RequestBody.Value.Content {
					walk(mt.Schema)
				}
			}
			for _, r := range op.Responses.Map() {
				for _, mt := range r.Value.Content {
					walk(mt.Schema)
				}
			}
		}
	}
}

// Check validates one exchange: the request (only when the server took
// it: a refused request may be wrong on purpose) and the answer, whose
// status must be documented for the route; a 2xx or 3xx explicitly, an
// error at least as the route's default. A JSON answer needs a documented
// schema.
func (c *Checker) Check(req *http.Request, reqBody []byte, status int, header http.Header, resBody []byte) error {
	ctx := context.Background()
	what := req.Method + " " + req.URL.RequestURI()
	req = req.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		// Not a documented route or method: only an error may answer.
		if status < 400 {
			return fmt.Errorf("%s answered %d but is not in docs/openapi.yaml", what, status)
		}
		return c.checkError(what, status, header, resBody)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if status < 400 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("%s was accepted (%d) but does not match docs/openapi.yaml: %w", what, status, err)
		}
	}
	if status < 400 && route.Operation.Responses.Status(status) == nil {
		return fmt.Errorf("%s answered %d, which docs/openapi.yaml does not document for it", what, status)
	}
	if r := route.Operation.Responses.Status(status); r == nil || r.Value == nil || len(r.Value.Content) == 0 {
		if r == nil {
			r = route.Operation.Responses.Default()
		}
		if isJSON(header) && len(resBody) > 0 && (r == nil || r.Value == nil || len(r.Value.Content) == 0) {
			return fmt.Errorf("%s answered %d with JSON, but docs/openapi.yaml documents no schema for it: %s", what, status, resBody)
		}
	}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(resBody)), Options: opts,
	})
	if err != nil {
		return fmt.Errorf("%s answered %d not as docs/openapi.yaml says: %w\nbody: %s", what, status, err, resBody)
	}
	return nil
}

func (c *Checker) checkError(what string, status int, header http.Header, body []byte) error {
	if !isJSON(header) {
		return nil // a browser's error page outside the API
	}
	var v any
	if err := jsonUnmarshal(body, &v); err != nil {
		return fmt.Errorf("%s answered %d with a body that is not JSON: %s", what, status, body)
	}
	if err := c.errorSchema.VisitJSON(v); err != nil {
		return fmt.Errorf("%s answered %d not in the error shape of docs/openapi.yaml: %w\nbody: %s", what, status, err, body)
	}
	return nil
}

func isJSON(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// Transport checks every exchange that passes through it; a mismatch is
// the round trip's error, so the test that sent it fails.
type Transport struct {
	Checker *Checker
	// Base sends the requests; http.DefaultTransport when nil.
	Base http.RoundTripper
}

// RoundTrip sends req and checks it and its answer.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	res, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))
	if err := t.Checker.Check(req, reqBody, res.StatusCode, res.Header, resBody); err != nil {
		return nil, err
	}
	return res, nil
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// Doc is the loaded document (with its object schemas closed).
func (c *Checker) Doc() *openapi3.T { return c.doc }
