package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPaymentProfiles(t *testing.T) {
	tests := []struct {
		name           string
		env            map[string]string
		wire, auth     string
		wantErrContain string
	}{
		{name: "off", env: nil},
		{name: "epay21 speaks SOAP with basic auth", env: map[string]string{"PAYMENT_PLATFORM": "epay21"}, wire: "soap", auth: "basic"},
		{name: "epay21 over XBezahldienste", env: map[string]string{"PAYMENT_PLATFORM": "epay21", "PAYMENT_INTERFACE": "xbezahldienste"}, wire: "xbezahldienste", auth: "basic"},
		{name: "ePayBL takes a client certificate", env: map[string]string{"PAYMENT_PLATFORM": "epaybl", "PAYMENT_TLS_P12": "/x.p12"}, wire: "xbezahldienste", auth: "tls"},
		{name: "ePayBL without one", env: map[string]string{"PAYMENT_PLATFORM": "epaybl"}, wantErrContain: "PAYMENT_TLS"},
		{name: "pmPayment takes OAuth2", env: map[string]string{"PAYMENT_PLATFORM": "pmpayment", "PAYMENT_OAUTH_TOKEN_URL": "https://t", "PAYMENT_OAUTH_CLIENT_ID": "c",
			"PAYMENT_OAUTH_CLIENT_SECRET_FILE": "/s"}, wire: "xbezahldienste", auth: "oauth2"},
		{name: "GiroCheckout without a client", env: map[string]string{"PAYMENT_PLATFORM": "girocheckout"}, wantErrContain: "PAYMENT_OAUTH"},
		{name: "generic with basic auth", env: map[string]string{"PAYMENT_PLATFORM": "xbezahldienste"}, wire: "xbezahldienste", auth: "basic"},
		{name: "auth overridden", env: map[string]string{"PAYMENT_PLATFORM": "xbezahldienste", "PAYMENT_AUTH": "none"}, wire: "xbezahldienste", auth: "none"},
		{name: "unknown platform", env: map[string]string{"PAYMENT_PLATFORM": "paypal"}, wantErrContain: "PAYMENT_PLATFORM"},
		{name: "SOAP is epay21's", env: map[string]string{"PAYMENT_PLATFORM": "pmpayment", "PAYMENT_INTERFACE": "soap"}, wantErrContain: "PAYMENT_INTERFACE"},
		{name: "SOAP takes basic auth", env: map[string]string{"PAYMENT_PLATFORM": "epay21", "PAYMENT_AUTH": "tls", "PAYMENT_TLS_P12": "/x"}, wantErrContain: "basic auth"},
		{name: "unknown auth", env: map[string]string{"PAYMENT_PLATFORM": "epay21", "PAYMENT_AUTH": "kerberos"}, wantErrContain: "PAYMENT_AUTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(nil, lookup(tt.env))
			if tt.wantErrContain != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrContain) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErrContain)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wire != "" && (c.Pay.Wire() != tt.wire || c.Pay.AuthMode() != tt.auth) {
				t.Fatalf("wire %s auth %s", c.Pay.Wire(), c.Pay.AuthMode())
			}
		})
	}
}

func TestPaymentSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := Load([]string{"-payment-password", "from-flag"}, lookup(map[string]string{
		"PAYMENT_PASSWORD_FILE":            write("pw", "from-file\n"),
		"PAYMENT_OAUTH_CLIENT_SECRET":      "inline",
		"PAYMENT_TLS_P12_PASSWORD_FILE":    write("p12", "p12-pass\r\n"),
		"PAYMENT_OAUTH_CLIENT_SECRET_FILE": "",
	}))
	if err != nil {
		t.Fatal(err)
	}
	pw, secret, p12, err := c.Pay.Secrets()
	if err != nil || pw != "from-file" || secret != "inline" || p12 != "p12-pass" {
		t.Fatalf("secrets %q %q %q %v", pw, secret, p12, err)
	}
	c.Pay.OAuthSecretFile = filepath.Join(dir, "missing")
	if _, _, _, err := c.Pay.Secrets(); err == nil || !strings.Contains(err.Error(), "PAYMENT_OAUTH_CLIENT_SECRET_FILE") {
		t.Fatalf("missing file: %v", err)
	}
}
