// Package platformauth builds the HTTP client a payment platform adapter
// talks through, with the platform's way of authenticating callers. The
// XBezahldienste standard leaves authentication open and the platforms
// differ: epay21 takes HTTP basic auth, pmPayment and GiroCheckout OAuth2
// client credentials (a Bearer token), ePayBL a TLS client certificate.
// Basic auth is set by the adapters themselves; this package adds the
// other two and the platform's own CA where it is not publicly trusted.
package platformauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"software.sslmate.com/src/go-pkcs12"
)

// Modes of authentication.
const (
	ModeNone   = "none"
	ModeBasic  = "basic"  // user and password, set by the adapter on each request
	ModeOAuth2 = "oauth2" // client credentials grant, Bearer token
	ModeTLS    = "tls"    // TLS client certificate
)

// Config says how to authenticate at a platform.
type Config struct {
	Mode string

	// OAuth2 client credentials.
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
	// RefreshBefore renews a token this long before it expires, so no
	// request goes out with a token about to lapse; default 60 s.
	RefreshBefore time.Duration

	// TLS client certificate: a PEM certificate (chain) and key, or a
	// PKCS#12 file (.p12/.pfx) with its password.
	CertFile, KeyFile          string
	PKCS12File, PKCS12Password string

	// CAFile, when set, is the PEM bundle the platform's server
	// certificate is checked against instead of the system's roots.
	CAFile string

	// Timeout bounds each request; default 15 s.
	Timeout time.Duration
}

// ErrConfig reports an unusable authentication configuration.
var ErrConfig = errors.New("payment platform authentication misconfigured")

// NewClient returns the HTTP client for cfg. ctx is the life of the
// client: OAuth2 tokens are fetched with it.
func NewClient(ctx context.Context, cfg Config) (*http.Client, error) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: CA file: %w", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", ErrConfig, cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	switch cfg.Mode {
	case "", ModeNone, ModeBasic, ModeOAuth2:
	case ModeTLS:
		cert, err := LoadCertificate(cfg)
		if err != nil {
			return nil, err
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	default:
		return nil, fmt.Errorf("%w: mode %q (want none, basic, oauth2 or tls)", ErrConfig, cfg.Mode)
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = tlsCfg
	if cfg.Mode != ModeOAuth2 {
		return &http.Client{Timeout: timeout, Transport: base}, nil
	}
	if cfg.TokenURL == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, fmt.Errorf("%w: OAuth2 needs a token URL, a client id and a client secret", ErrConfig)
	}
	cc := &clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL, Scopes: cfg.Scopes}
	// Token requests go through the same TLS settings, with a timeout.
	tctx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: timeout, Transport: base})
	before := cfg.RefreshBefore
	if before <= 0 {
		before = time.Minute
	}
	src := tokenSource{oauth2.ReuseTokenSourceWithExpiry(nil, cc.TokenSource(tctx), before)}
	return &http.Client{Timeout: timeout, Transport: &oauth2.Transport{Source: src, Base: base}}, nil
}

// LoadCertificate reads the client certificate of cfg: PEM files, or a
// PKCS#12 file.
func LoadCertificate(cfg Config) (tls.Certificate, error) {
	switch {
	case cfg.PKCS12File != "" && cfg.CertFile != "":
		return tls.Certificate{}, fmt.Errorf("%w: give a PEM certificate or a PKCS#12 file, not both", ErrConfig)
	case cfg.PKCS12File != "":
		data, err := os.ReadFile(cfg.PKCS12File)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("%w: PKCS#12 file: %w", ErrConfig, err)
		}
		key, leaf, chain, err := pkcs12.DecodeChain(data, cfg.PKCS12Password)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("%w: PKCS#12 file %s: %w", ErrConfig, cfg.PKCS12File, err)
		}
		cert := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
		for _, c := range chain {
			cert.Certificate = append(cert.Certificate, c.Raw)
		}
		return cert, nil
	case cfg.CertFile != "" && cfg.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("%w: client certificate: %w", ErrConfig, err)
		}
		return cert, nil
	}
	return tls.Certificate{}, fmt.Errorf("%w: a TLS client certificate needs a certificate and key file or a PKCS#12 file", ErrConfig)
}

// tokenSource marks a failed token request: the platform call it was for
// never went out, so its outcome is not unknown.
type tokenSource struct{ src oauth2.TokenSource }

func (s tokenSource) Token() (*oauth2.Token, error) {
	t, err := s.src.Token()
	if err != nil {
		return nil, tokenError{err}
	}
	return t, nil
}

type tokenError struct{ err error }

func (e tokenError) Error() string        { return "OAuth2 token: " + e.err.Error() }
func (e tokenError) Unwrap() error        { return e.err }
func (e tokenError) RequestNotSent() bool { return true }
