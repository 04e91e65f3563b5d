package payment

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func validCreate() CreateRequest {
	return CreateRequest{
		Reference:     "T-2025-000123",
		Kassenzeichen: "BA0000428",
		Purpose:       SanitizePurpose("Gebühr Reisepass"),
		AmountCents:   3700,
		Currency:      "EUR",
		ReturnURL:     "https://termin.example/pay/return",
		CancelURL:     "https://termin.example/pay/cancel",
		Timeout:       90 * time.Second,
	}
}

func TestCreateRequestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*CreateRequest)
		want   string // substring of the error; empty = valid
	}{
		{"valid", func(*CreateRequest) {}, ""},
		{"long reference", func(r *CreateRequest) { r.Reference = strings.Repeat("a", 28) }, "reference"},
		{"bad reference char", func(r *CreateRequest) { r.Reference = "a b" }, "reference"},
		{"zero amount", func(r *CreateRequest) { r.AmountCents = 0 }, "amount"},
		{"currency", func(r *CreateRequest) { r.Currency = "USD" }, "currency"},
		{"unsanitized purpose", func(r *CreateRequest) { r.Purpose = "Gebühr" }, "purpose"},
		{"relative return", func(r *CreateRequest) { r.ReturnURL = "/pay/return" }, "return URL"},
		{"ftp cancel", func(r *CreateRequest) { r.CancelURL = "ftp://x/y" }, "cancel URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validCreate()
			tt.modify(&r)
			err := r.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalidRequest mentioning %q", err, tt.want)
			}
		})
	}
	if m := validCreate().TimeoutMinutes(30); m != 2 {
		t.Errorf("TimeoutMinutes = %d, want 2 (rounded up)", m)
	}
	if m := (CreateRequest{}).TimeoutMinutes(30); m != 30 {
		t.Errorf("default TimeoutMinutes = %d", m)
	}
}

func TestStateFinal(t *testing.T) {
	for _, s := range []State{StateCreated, StateInitiated} {
		if s.Final() {
			t.Errorf("%s should not be final", s)
		}
	}
	for _, s := range []State{StatePaid, StateConfirmed, StateCancelled, StateFailed, StateExpired, StateRefunded} {
		if !s.Final() {
			t.Errorf("%s should be final", s)
		}
	}
}
