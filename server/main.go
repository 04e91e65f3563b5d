// Command server is termin's server: the HTTP API, staff and finance
// views and background workers.
//
//	server [serve]   run the HTTP server (default)
//	server migrate   apply the database migrations
//	server seed      load a city file (the demo city when none is given)
//	server rotate-signing-key
//	                 make a new QR signing key; the old one verifies until its tickets are past
//
// Every option is a flag and an environment variable (server -h lists
// them); see package server/config.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/digitale-verwaltung/termin/server/config"
	"github.com/digitale-verwaltung/termin/server/request"
)

// commands are the subcommands, one file each.
var commands = map[string]func(context.Context, config.Config, *slog.Logger) error{
	"serve":              serve,
	"migrate":            runMigrate,
	"seed":               runSeed,
	"rotate-signing-key": runRotateSigningKey,
}

func main() {
	cmd, args := "serve", os.Args[1:]
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	run, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(os.Stderr, "server: unknown command %q (serve, migrate, seed, rotate-signing-key)\n", cmd)
		os.Exit(2)
	}
	cfg, err := config.Load(args, os.LookupEnv)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "server:", err)
		}
		os.Exit(2)
	}
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewJSONHandler(os.Stderr, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(os.Stderr, opts)
	}
	// Every line written with a request's context carries its id.
	log := slog.New(request.LogHandler{Handler: h})
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg, log)
	stop()
	if err != nil {
		log.Error("server stopped", "cmd", cmd, "err", err)
		os.Exit(1)
	}
}
