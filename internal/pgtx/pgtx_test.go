package pgtx

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/lib/pq"
)

var errDown = errors.New("store down")

func TestFailClassifiesDataExceptions(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		rejected bool
	}{
		{"invalid byte sequence (NUL)", &pq.Error{Code: "22021"}, true},
		{"unsupported unicode escape in jsonb", &pq.Error{Code: "22P05"}, true},
		{"numeric out of range", &pq.Error{Code: "22003"}, true},
		{"wrapped", fmt.Errorf("query: %w", &pq.Error{Code: "22007"}), true},
		{"unique violation", &pq.Error{Code: "23505"}, false},
		{"admin shutdown", &pq.Error{Code: "57P01"}, false},
		{"connection refused", &net.OpError{Op: "dial"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Fail(errDown, "insert", tt.err)
			if errors.Is(err, ErrInputRejected) != tt.rejected || errors.Is(err, errDown) == tt.rejected {
				t.Fatalf("%v: rejected %v, down %v", err, errors.Is(err, ErrInputRejected), errors.Is(err, errDown))
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("%v lost the cause", err)
			}
		})
	}
}
