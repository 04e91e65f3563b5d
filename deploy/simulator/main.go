// Command simulator runs the development stand-ins for outside systems.
// It is built only for demos and tests (make run, deploy/run.sh) and is
// never part of a release: the server and kiosk binaries link none of it.
//
//	simulator payment [flags]   the payment-platform simulator: epay21 SOAP,
//	                            XBezahldienste REST and the pay pages
//	                            (PAYSIM_ADDR, PAYMENT_USER, ...; see -help)
//	simulator kiosk [flags]     the kiosk agent on a simulated printer,
//	                            scanner and relay board, registering the
//	                            device first with ADMIN_API_KEY when the
//	                            state dir holds no token; every agent flag
//	                            (and KIOSK_<FLAG>) applies
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
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: simulator payment|kiosk [flags]")
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd {
	case "payment":
		err = runPayment(ctx, args, os.LookupEnv)
	case "kiosk":
		err = runKiosk(ctx, args)
	default:
		err = fmt.Errorf("unknown command %q (payment, kiosk)", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "simulator %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func newLogger(level slog.Level) *slog.Logger {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	return log
}
