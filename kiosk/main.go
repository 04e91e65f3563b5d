// Command kiosk is the agent on a counter kiosk or an entrance gate: it
// drives the receipt printer, barcode scanner and gate relay over serial
// ports and talks to the termin server with a device token.
//
//	kiosk [flags]       run the agent (see -help; every flag also reads
//	                    KIOSK_<FLAG> from the environment)
//	kiosk sim [flags]   run the agent on a simulated printer, scanner and
//	                    relay board, registering the device first with
//	                    ADMIN_API_KEY when the state dir holds no token
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
	args := os.Args[1:]
	sim := len(args) > 0 && args[0] == "sim"
	if sim {
		args = args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if sim {
		err = runSim(ctx, args)
	} else {
		err = run(ctx, args)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiosk:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cfg, err := agent.LoadConfig(args, os.Getenv)
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

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
	slog.SetDefault(log)
	return log
}
