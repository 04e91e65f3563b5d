package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/epay21"
	"github.com/digitale-verwaltung/termin/payment/platformauth"
	paymentpg "github.com/digitale-verwaltung/termin/payment/postgres"
	"github.com/digitale-verwaltung/termin/payment/xbezahldienste"
	"github.com/digitale-verwaltung/termin/server/config"
)

// newPlatform builds the configured adapter, with the profile's wire and
// authentication; nil when payment is off.
func newPlatform(cfg config.Config, log *slog.Logger) (payment.Platform, error) {
	pc := cfg.Pay
	if pc.Platform == "" {
		return nil, nil
	}
	password, oauthSecret, p12Password, err := pc.Secrets()
	if err != nil {
		return nil, err
	}
	mode := pc.AuthMode()
	// The client lives as long as the process: its OAuth2 tokens are
	// fetched in the background of calls.
	hc, err := platformauth.NewClient(context.Background(), platformauth.Config{
		Mode: mode, TokenURL: pc.OAuthTokenURL, ClientID: pc.OAuthClientID, ClientSecret: oauthSecret, Scopes: pc.OAuthScopes,
		CertFile: pc.TLSCertFile, KeyFile: pc.TLSKeyFile, PKCS12File: pc.TLSP12File, PKCS12Password: p12Password, CAFile: pc.CAFile,
	})
	if err != nil {
		return nil, fmt.Errorf("payment platform %s: %w", pc.Platform, err)
	}
	user := pc.User
	if mode != platformauth.ModeBasic {
		user, password = "", ""
	}
	switch pc.Wire() {
	case "soap":
		return epay21.New(epay21.Config{Endpoint: pc.URL, Username: user, Password: password, Mandant: pc.Mandant,
			MandantDesc: pc.MandantDesc, App: pc.App, GetQrCode: pc.GetQrCode, Location: cfg.Zone,
			DefaultTimeoutMinutes: int(pc.Timeout / time.Minute), HTTPClient: hc, Logger: log})
	case "xbezahldienste":
		return xbezahldienste.New(xbezahldienste.Config{BaseURL: pc.URL, OriginatorID: pc.Originator, EndPointID: pc.EndPointID(),
			Username: user, Password: password, HTTPClient: hc, SimulatorRefunds: pc.SimulatorRefunds, Location: cfg.Zone, Logger: log})
	}
	return nil, fmt.Errorf("PAYMENT_INTERFACE %q: want soap or xbezahldienste", pc.Wire())
}

// platformHealth asks a platform that has a health endpoint whether it is
// up, at most once per every: /readyz is asked often, the platform need
// not be.
type platformHealth struct {
	check payment.HealthChecker
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex
	at   time.Time
	last error
}

func (h *platformHealth) Check(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.at.IsZero() && h.now().Sub(h.at) < h.every {
		return h.last
	}
	h.last, h.at = h.check.Health(ctx), h.now()
	return h.last
}

// payments is the payment side of a server: its store, and the flow and
// workers when online payment is on.
type payments struct {
	cfg    config.Pay
	store  *paymentpg.Store
	flow   *payment.Flow // nil when online payment is off
	worker *payment.Worker
	// refunds is the refund work list; a flow without a platform when
	// online payment is off, so tasks of earlier days can still be done.
	refunds *payment.Flow
	// health degrades /readyz while the platform is down; nil when the
	// platform has no health endpoint.
	health *platformHealth
	log    *slog.Logger
}

func newPayments(d *deps) *payments {
	pc := d.cfg.Pay
	p := &payments{cfg: pc, store: paymentpg.New(d.db), log: d.log}
	p.refunds = &payment.Flow{Engine: d.engine, Store: p.store, PlatformName: pc.Platform, HTTPPostings: pc.TreasuryURL != "", Log: d.log, Zone: d.cfg.Zone}
	if d.platform == nil {
		return p
	}
	if hc, ok := d.platform.(payment.HealthChecker); ok {
		p.health = &platformHealth{check: hc, every: pc.HealthEvery, now: time.Now}
	}
	p.flow = &payment.Flow{
		Engine: d.engine, Store: p.store, Platform: d.platform, PlatformName: pc.Platform,
		Scheme: payment.KassenzeichenScheme{Prefix: pc.KassenzeichenPrefix}, PublicURL: d.cfg.PublicURL(),
		Timeout: pc.Timeout, LateGrace: pc.LateGrace, FreeCancelBefore: pc.FreeCancelBefore,
		PollInterval: pc.PollInterval, MaxPollInterval: pc.MaxPollInterval, HTTPPostings: pc.TreasuryURL != "",
		Log: d.log, Zone: d.cfg.Zone,
	}
	p.refunds = p.flow
	p.worker = &payment.Worker{Flow: p.flow, ExportDir: pc.ExportDir, TreasuryURL: pc.TreasuryURL,
		MaxAttempts: pc.TreasuryMaxAttempts, RetryBase: pc.PollInterval, RetryMax: time.Hour}
	return p
}

// start runs the sweeper and the outbox worker until ctx ends.
func (p *payments) start(w *workers) {
	if p.flow == nil {
		p.log.Warn("no payment platform configured: fee-paying services are booked without online payment")
		return
	}
	if p.cfg.ExportDir == "" {
		p.log.Warn("EXPORT_DIR not set: postings wait in the outbox until an export directory is configured")
	}
	// The sweep asks the platform about open payments, in rounds until
	// one finds nothing more to do.
	w.every("payment sweep", p.cfg.WorkerEvery, func(ctx context.Context) bool {
		n, err := p.flow.Sweep(ctx)
		if err != nil {
			p.log.Warn("payment sweep", "err", err)
			return false
		}
		return n > 0
	})
	w.every("payment outbox", p.cfg.WorkerEvery, func(ctx context.Context) bool {
		if err := p.worker.RunOnce(ctx); err != nil {
			p.log.Warn("payment outbox", "err", err)
		}
		return false
	})
}
