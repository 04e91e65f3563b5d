package main

import (
	"slices"
	"testing"
)

func TestSplitSimFlags(t *testing.T) {
	sf, rest, err := splitSimFlags([]string{"-server", "http://127.0.0.1:8080", "-sim-location=stadtbad", "--sim-tickets", "/tmp/t", "-mode", "gate", "-admin-key", "k"})
	if err != nil {
		t.Fatal(err)
	}
	if sf.location != "stadtbad" || sf.tickets != "/tmp/t" || sf.adminKey != "k" || sf.name == "" {
		t.Errorf("sim flags %+v", sf)
	}
	if !slices.Equal(rest, []string{"-server", "http://127.0.0.1:8080", "-mode", "gate"}) {
		t.Errorf("rest %q", rest)
	}
	if _, _, err := splitSimFlags([]string{"-sim-location"}); err == nil {
		t.Error("missing value accepted")
	}
}
