package platformauth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"testing"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/paysim"
	"github.com/digitale-verwaltung/termin/payment/platformauth"
	"github.com/digitale-verwaltung/termin/payment/platformauth/authtest"
	"github.com/digitale-verwaltung/termin/payment/xbezahldienste"
)

func TestClientCertificate(t *testing.T) {
	pki := authtest.New(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = pki.ServerTLS()
	srv.StartTLS()
	defer srv.Close()
	for _, tt := range []struct {
		name string
		cfg  platformauth.Config
	}{
		{"PEM", platformauth.Config{Mode: platformauth.ModeTLS, CertFile: pki.ClientCertFile, KeyFile: pki.ClientKey, CAFile: pki.CAFile}},
		{"PKCS#12", platformauth.Config{Mode: platformauth.ModeTLS, PKCS12File: pki.ClientP12, PKCS12Password: pki.P12Password, CAFile: pki.CAFile}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hc, err := platformauth.NewClient(context.Background(), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := hc.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(b) != "Stadt Beispiel termin" {
				t.Fatalf("server saw %q", b)
			}
		})
	}
	t.Run("without a certificate the handshake fails", func(t *testing.T) {
		hc, _ := platformauth.NewClient(context.Background(), platformauth.Config{Mode: platformauth.ModeNone, CAFile: pki.CAFile})
		if _, err := hc.Get(srv.URL); err == nil {
			t.Fatal("server accepted a client without a certificate")
		}
	})
	t.Run("wrong PKCS#12 password", func(t *testing.T) {
		_, err := platformauth.NewClient(context.Background(), platformauth.Config{Mode: platformauth.ModeTLS, PKCS12File: pki.ClientP12, PKCS12Password: "wrong"})
		if !errors.Is(err, platformauth.ErrConfig) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []platformauth.Config{
		{Mode: "kerberos"},
		{Mode: platformauth.ModeOAuth2, TokenURL: "https://x/token"},
		{Mode: platformauth.ModeTLS},
		{Mode: platformauth.ModeTLS, CertFile: "/nonexistent", KeyFile: "/nonexistent"},
		{Mode: platformauth.ModeNone, CAFile: "/nonexistent"},
	} {
		if _, err := platformauth.NewClient(context.Background(), cfg); !errors.Is(err, platformauth.ErrConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

// The token is fetched once and reused; a request never goes out with a
// token the simulator no longer takes.
func TestOAuth2TokenIsCachedAndRenewed(t *testing.T) {
	sim := paysim.New(paysim.Config{Logger: slog.New(slog.DiscardHandler), XBZAuth: paysim.AuthOAuth2, OAuthClientID: "termin",
		OAuthClientSecret: "s3cret", TokenTTL: 2 * time.Second, OriginatorID: "termin", EndPointID: "07315000"})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	hc, err := platformauth.NewClient(context.Background(), platformauth.Config{Mode: platformauth.ModeOAuth2, TokenURL: srv.URL + "/oauth/token",
		ClientID: "termin", ClientSecret: "s3cret", RefreshBefore: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, err := xbezahldienste.New(xbezahldienste.Config{BaseURL: srv.URL + paysim.XBezahldienstePrefix, OriginatorID: "termin", EndPointID: "07315000", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if err := c.Health(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := sim.TokensIssued(); n != 1 {
		t.Fatalf("%d tokens for three calls", n)
	}
	time.Sleep(1100 * time.Millisecond) // within a second of expiry: renewed
	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	if n := sim.TokensIssued(); n != 2 {
		t.Fatalf("token not renewed before expiry: %d issued", n)
	}
	bad, _ := platformauth.NewClient(ctx, platformauth.Config{Mode: platformauth.ModeOAuth2, TokenURL: srv.URL + "/oauth/token", ClientID: "termin", ClientSecret: "wrong"})
	cb, _ := xbezahldienste.New(xbezahldienste.Config{BaseURL: srv.URL + paysim.XBezahldienstePrefix, OriginatorID: "termin", EndPointID: "07315000", HTTPClient: bad})
	if err := cb.Health(ctx); !errors.Is(err, payment.ErrUnavailable) || errors.Is(err, payment.ErrOutcomeUnknown) {
		t.Fatalf("wrong secret: %v", err)
	}
	plain, _ := xbezahldienste.New(xbezahldienste.Config{BaseURL: srv.URL + paysim.XBezahldienstePrefix, OriginatorID: "termin", EndPointID: "07315000"})
	var ae *xbezahldienste.APIError
	if err := plain.Health(ctx); !errors.As(err, &ae) || ae.Problem.FunctionalCode != xbezahldienste.CodeForbidden {
		t.Fatalf("without a token: %v", err)
	}
}
