package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/epay21"
	paymentpg "github.com/digitale-verwaltung/termin/payment/postgres"
	"github.com/digitale-verwaltung/termin/payment/xbezahldienste"
	"github.com/digitale-verwaltung/termin/server/config"
)

// newPlatform builds the configured adapter; nil when payment is off.
func newPlatform(cfg config.Config, log *slog.Logger) (payment.Platform, error) {
	pc := cfg.Pay
	switch pc.Platform {
	case "":
		return nil, nil
	case "epay21":
		return epay21.New(epay21.Config{Endpoint: pc.URL, Username: pc.User, Password: pc.Password, Mandant: pc.Mandant,
			App: "termin", DefaultTimeoutMinutes: int(pc.Timeout / time.Minute), Logger: log})
	case "xbezahldienste":
		return xbezahldienste.New(xbezahldienste.Config{BaseURL: pc.URL, OriginatorID: pc.Originator, EndPointID: pc.EndPointID(),
			Username: pc.User, Password: pc.Password, Logger: log})
	}
	return nil, fmt.Errorf("PAYMENT_PLATFORM %q: want epay21 or xbezahldienste", pc.Platform)
}

// payments is the payment side of a server: its store, and the flow and
// workers when online payment is on.
type payments struct {
	cfg    config.Pay
	store  *paymentpg.Store
	flow   *payment.Flow // nil when online payment is off
	worker *payment.Worker
	log    *slog.Logger
}

func newPayments(d *deps) *payments {
	pc := d.cfg.Pay
	p := &payments{cfg: pc, store: paymentpg.New(d.db), log: d.log}
	if d.platform == nil {
		return p
	}
	p.flow = &payment.Flow{
		Engine: d.engine, Store: p.store, Platform: d.platform, PlatformName: pc.Platform,
		Scheme: payment.KassenzeichenScheme{Prefix: pc.KassenzeichenPrefix}, PublicURL: d.cfg.PublicURL(),
		Timeout: pc.Timeout, LateGrace: pc.LateGrace, FreeCancelBefore: pc.FreeCancelBefore,
		PollInterval: pc.PollInterval, MaxPollInterval: pc.MaxPollInterval, HTTPPostings: pc.TreasuryURL != "",
		Log: d.log, Zone: d.cfg.Zone,
	}
	p.worker = &payment.Worker{Flow: p.flow, ExportDir: pc.ExportDir, TreasuryURL: pc.TreasuryURL,
		MaxAttempts: pc.TreasuryMaxAttempts, RetryBase: pc.PollInterval, RetryMax: time.Hour}
	return p
}

// start runs the sweeper and the outbox worker until ctx ends.
func (p *payments) start(ctx context.Context) {
	if p.flow == nil {
		p.log.Warn("no payment platform configured: fee-paying services are booked without online payment")
		return
	}
	if p.cfg.ExportDir == "" {
		p.log.Warn("EXPORT_DIR not set: postings wait in the outbox until an export directory is configured")
	}
	go p.sweep(ctx)
	go p.worker.Run(ctx, p.cfg.WorkerEvery)
}

// sweep asks the platform about open payments every WorkerEvery, in
// rounds until a round finds nothing more to do.
func (p *payments) sweep(ctx context.Context) {
	t := time.NewTicker(p.cfg.WorkerEvery)
	defer t.Stop()
	for {
		for {
			n, err := p.flow.Sweep(ctx)
			if err != nil && ctx.Err() == nil {
				p.log.Warn("payment sweep", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
