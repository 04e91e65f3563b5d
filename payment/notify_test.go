package payment

import (
	"errors"
	"testing"
)

func TestVerifyNotification(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"eventId":"ev-1","platformId":"P-1","reference":"T-1","type":"payment.paid"}`)
	good := SignNotification(secret, body)
	tests := []struct {
		name    string
		secret  []byte
		header  string
		body    []byte
		wantErr error
	}{
		{"valid", secret, good, body, nil},
		{"valid with spaces", secret, "  " + good + " ", body, nil},
		{"wrong secret", []byte("other"), good, body, ErrBadSignature},
		{"no secret", nil, good, body, ErrBadSignature},
		{"body changed", secret, good, append([]byte(" "), body...), ErrBadSignature},
		{"missing prefix", secret, good[len("sha256="):], body, ErrBadSignature},
		{"not hex", secret, "sha256=zz", body, ErrBadSignature},
		{"empty header", secret, "", body, ErrBadSignature},
		{"signed but malformed", secret, SignNotification(secret, []byte(`{"eventId":""}`)), []byte(`{"eventId":""}`), ErrMalformedNotification},
		{"signed but not json", secret, SignNotification(secret, []byte(`x`)), []byte(`x`), ErrMalformedNotification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := VerifyNotification(tt.secret, tt.header, tt.body)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (n.EventID != "ev-1" || n.PlatformID != "P-1" || n.Reference != "T-1") {
				t.Fatalf("parsed %+v", n)
			}
		})
	}
}

func FuzzVerifyNotification(f *testing.F) {
	secret := []byte("k")
	body := []byte(`{"eventId":"e","platformId":"p"}`)
	f.Add(SignNotification(secret, body), body)
	f.Add("sha256=00", []byte(`{}`))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		n, err := VerifyNotification(secret, header, body)
		if err != nil {
			return
		}
		// Accepted means the header was the right MAC and the body parses.
		if header == "" || n.EventID == "" {
			t.Fatalf("accepted %q with %+v", header, n)
		}
		if _, err := VerifyNotification(secret, SignNotification(secret, body), body); err != nil {
			t.Fatalf("re-sign failed: %v", err)
		}
	})
}
