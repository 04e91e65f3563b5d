// Command kiosk is the agent on a counter kiosk or an entrance gate: it
// drives the receipt printer, barcode scanner and gate relay over serial
// ports and talks to the termin server with a device token.
//
//	kiosk [flags]   run the agent (see -help; every flag also reads
//	                KIOSK_<FLAG> from the environment)
//
// The agent on simulated hardware is `simulator kiosk` (deploy/simulator),
// a development binary; this one links no simulator code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/digitale-verwaltung/termin/kiosk/agent"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiosk:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cfg, err := agent.LoadConfig(args, os.LookupEnv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	a, err := agent.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

func newLogger(level slog.Level) *slog.Logger {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	return log
}
