package main

import (
	"net/http"

	"github.com/digitale-verwaltung/termin/internal/openapicheck"
)

// apiClient sends the server tests' requests and checks every exchange
// against docs/openapi.yaml: a request the server took must match the
// documented request, and every answer the documented schema of its route
// and status; a mismatch fails the request.
var apiClient = &http.Client{Transport: checkedTransport{}}

type checkedTransport struct{}

func (checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	checker, err := openapicheck.Default()
	if err != nil {
		return nil, err
	}
	return openapicheck.Transport{Checker: checker}.RoundTrip(req)
}
