package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/digitale-verwaltung/termin/internal/config"
	"github.com/digitale-verwaltung/termin/payment/paysim"
)

// paymentConfig holds the options of `simulator payment`. The names are
// the server's, so one environment (deploy/run.sh exports it) configures
// the server's adapter and the simulator it talks to alike.
type paymentConfig struct {
	Addr         string // PAYSIM_ADDR
	User         string
	Password     string
	Mandant      string
	Originator   string
	EndPoint     string
	HTTPAddr     string // the server's, for the notification URL
	PublicURL    string
	NotifySecret string
	Extensions   bool
	Auth         string
	OAuthID      string
	OAuthSecret  string
	TLSCert      string
	TLSKey       string
	TLSClientCA  string
	LogLevel     slog.Level
}

func parsePaymentConfig(args []string, lookup func(string) (string, bool)) (paymentConfig, error) {
	var c paymentConfig
	s := config.NewSet("simulator payment")
	s.String(&c.Addr, "paysim-addr", "PAYSIM_ADDR", "127.0.0.1:8091", "listen address")
	s.String(&c.User, "payment-user", "PAYMENT_USER", "", "basic-auth user the platform APIs require; empty: none")
	s.String(&c.Password, "payment-password", "PAYMENT_PASSWORD", "", "basic-auth password")
	s.String(&c.Mandant, "payment-mandant", "PAYMENT_MANDANT", "07111000", "8-digit municipal key accepted")
	s.String(&c.Originator, "payment-originator", "PAYMENT_ORIGINATOR", "termin", "XBezahldienste originator id accepted")
	s.String(&c.EndPoint, "payment-endpoint", "PAYMENT_ENDPOINT", "", "XBezahldienste endpoint id accepted; the Mandant when empty")
	s.String(&c.HTTPAddr, "http", "HTTP_ADDR", "127.0.0.1:8080", "the termin server's listen address, for notifications when -public-url is empty")
	s.String(&c.PublicURL, "public-url", "PUBLIC_URL", "", "URL the termin server is reached at; http://HTTP_ADDR when empty")
	s.String(&c.NotifySecret, "notify-secret", "NOTIFY_SECRET", "", "HMAC secret of pushed notifications; pushes need -paysim-extensions too")
	s.Bool(&c.Extensions, "paysim-extensions", "PAYSIM_EXTENSIONS", false, "serve what no real platform shows: pushed notifications and the XBezahldienste refund call")
	s.String(&c.Auth, "paysim-auth", "PAYSIM_AUTH", "basic", "how XBezahldienste callers authenticate: basic, oauth2 (tokens from /oauth/token) or tls (client certificate)")
	s.String(&c.OAuthID, "payment-oauth-client-id", "PAYMENT_OAUTH_CLIENT_ID", "termin", "the OAuth2 client the token endpoint knows")
	s.String(&c.OAuthSecret, "payment-oauth-client-secret", "PAYMENT_OAUTH_CLIENT_SECRET", "", "its secret")
	s.String(&c.TLSCert, "paysim-tls-cert", "PAYSIM_TLS_CERT", "", "serve HTTPS with this certificate (PEM); plain HTTP when empty")
	s.String(&c.TLSKey, "paysim-tls-key", "PAYSIM_TLS_KEY", "", "key of the HTTPS certificate (PEM)")
	s.String(&c.TLSClientCA, "paysim-tls-client-ca", "PAYSIM_TLS_CLIENT_CA", "", "with -paysim-auth tls: the CA (PEM) client certificates must be signed by")
	s.LogLevel(&c.LogLevel, "log-level", "LOG_LEVEL", slog.LevelInfo, "debug, info, warn or error")
	if err := s.Parse(args, lookup); err != nil {
		return c, err
	}
	if len(s.Args()) > 0 {
		return c, fmt.Errorf("unexpected arguments %q", s.Args())
	}
	switch c.Auth {
	case paysim.AuthBasic, paysim.AuthOAuth2:
	case paysim.AuthTLS:
		if c.TLSCert == "" || c.TLSClientCA == "" {
			return c, fmt.Errorf("PAYSIM_AUTH tls needs PAYSIM_TLS_CERT, PAYSIM_TLS_KEY and PAYSIM_TLS_CLIENT_CA")
		}
	default:
		return c, fmt.Errorf("PAYSIM_AUTH %q: want basic, oauth2 or tls", c.Auth)
	}
	return c, nil
}

// simConfig is the paysim configuration c describes.
func (c paymentConfig) simConfig(log *slog.Logger) paysim.Config {
	endpoint := c.EndPoint
	if endpoint == "" {
		endpoint = c.Mandant
	}
	scheme := "http://"
	if c.TLSCert != "" {
		scheme = "https://"
	}
	sc := paysim.Config{BaseURL: scheme + c.Addr, Username: c.User, Password: c.Password,
		Mandant: c.Mandant, OriginatorID: c.Originator, EndPointID: endpoint, Logger: log, Extensions: c.Extensions,
		XBZAuth: c.Auth, OAuthClientID: c.OAuthID, OAuthClientSecret: c.OAuthSecret}
	if c.NotifySecret != "" && c.Extensions {
		public := c.PublicURL
		if public == "" {
			public = "http://" + c.HTTPAddr
		}
		sc.NotifyURL = strings.TrimRight(public, "/") + "/api/v1/payments/notifications"
		sc.NotifySecret = []byte(c.NotifySecret)
		sc.Faults.Notify.Enabled = true
	}
	return sc
}

// runPayment serves the payment-platform simulator until ctx ends.
func runPayment(ctx context.Context, args []string, lookup func(string) (string, bool)) error {
	c, err := parsePaymentConfig(args, lookup)
	if err != nil {
		return err
	}
	log := newLogger(c.LogLevel)
	sim := paysim.New(c.simConfig(log))
	defer sim.Close()
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("payment simulator listen: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	if c.TLSClientCA != "" {
		pem, err := os.ReadFile(c.TLSClientCA)
		if err != nil {
			return fmt.Errorf("payment simulator client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("payment simulator client CA %s holds no PEM certificate", c.TLSClientCA)
		}
		srv.TLSConfig = &tls.Config{ClientCAs: pool, ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12}
	}
	log.Info("payment-platform simulator serving", "addr", ln.Addr().String(), "tls", c.TLSCert != "", "auth", c.Auth, "extensions", c.Extensions)
	errc := make(chan error, 1)
	go func() {
		if c.TLSCert != "" {
			errc <- srv.ServeTLS(ln, c.TLSCert, c.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
