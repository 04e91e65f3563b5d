package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

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
	LogLevel     slog.Level
}

func parsePaymentConfig(args []string, lookup func(string) (string, bool)) (paymentConfig, error) {
	var c paymentConfig
	env := func(name, def string) string {
		if v, ok := lookup(name); ok && v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("simulator payment", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "paysim-addr", env("PAYSIM_ADDR", "127.0.0.1:8091"), "listen address (PAYSIM_ADDR)")
	fs.StringVar(&c.User, "payment-user", env("PAYMENT_USER", ""), "basic-auth user the platform APIs require; empty: none (PAYMENT_USER)")
	fs.StringVar(&c.Password, "payment-password", env("PAYMENT_PASSWORD", ""), "basic-auth password (PAYMENT_PASSWORD)")
	fs.StringVar(&c.Mandant, "payment-mandant", env("PAYMENT_MANDANT", "07111000"), "8-digit municipal key accepted (PAYMENT_MANDANT)")
	fs.StringVar(&c.Originator, "payment-originator", env("PAYMENT_ORIGINATOR", "termin"), "XBezahldienste originator id accepted (PAYMENT_ORIGINATOR)")
	fs.StringVar(&c.EndPoint, "payment-endpoint", env("PAYMENT_ENDPOINT", ""), "XBezahldienste endpoint id accepted; the Mandant when empty (PAYMENT_ENDPOINT)")
	fs.StringVar(&c.HTTPAddr, "http", env("HTTP_ADDR", "127.0.0.1:8080"), "the termin server's listen address, for notifications when -public-url is empty (HTTP_ADDR)")
	fs.StringVar(&c.PublicURL, "public-url", env("PUBLIC_URL", ""), "URL the termin server is reached at; http://HTTP_ADDR when empty (PUBLIC_URL)")
	fs.StringVar(&c.NotifySecret, "notify-secret", env("NOTIFY_SECRET", ""), "HMAC secret of pushed notifications; empty pushes none (NOTIFY_SECRET)")
	level := env("LOG_LEVEL", "info")
	fs.StringVar(&level, "log-level", level, "debug, info, warn or error (LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return c, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", level)
	}
	return c, nil
}

// simConfig is the paysim configuration c describes.
func (c paymentConfig) simConfig(log *slog.Logger) paysim.Config {
	endpoint := c.EndPoint
	if endpoint == "" {
		endpoint = c.Mandant
	}
	sc := paysim.Config{BaseURL: "http://" + c.Addr, Username: c.User, Password: c.Password,
		Mandant: c.Mandant, OriginatorID: c.Originator, EndPointID: endpoint, Logger: log}
	if c.NotifySecret != "" {
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
	log.Info("payment-platform simulator serving", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
