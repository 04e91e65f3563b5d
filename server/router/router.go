// Package router builds the server's HTTP application: it mounts every
// group of routes (citizens, devices, staff, finance, payment callbacks),
// the health checks, and the one error handler that answers every failure
// from the error table, as JSON, or as a page for a browser outside /api.
package router

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/valyala/fasthttp"

	"github.com/digitale-verwaltung/termin/server/request"
	"github.com/digitale-verwaltung/termin/server/response"
)

// Group is a set of routes mounted on /api/v1.
type Group interface {
	Routes(v1 fiber.Router)
}

// Config is what the application is built from.
type Config struct {
	// Ready reports whether the stores answer, for /readyz.
	Ready func(ctx context.Context) error
	// Degraded are outside systems /readyz looks at without failing: one
	// that is down is listed, and the answer stays 200 (bookings without
	// payment still work, a replica must not be taken out for it).
	Degraded []Check
	// Groups are mounted on /api/v1 in order.
	Groups []Group
	// Pages, when set, are mounted at the root after the API: the
	// citizens' web pages.
	Pages Group
	// Metrics, when set, runs first on every request (server/metrics).
	Metrics fiber.Handler
	// HSTS tells browsers to use https only (Strict-Transport-Security):
	// on when citizens reach the server by https, TLS ending at a proxy.
	HSTS bool
	Log  *slog.Logger
}

// New builds the application.
func New(cfg Config) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "termin",
		DisableStartupMessage: true,
		ErrorHandler:          errorHandler(cfg.Log),
		ReadTimeout:           15 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           60 * time.Second,
		BodyLimit:             256 << 10,
	})
	app.Use(recover.New())
	app.Use(request.ID)
	app.Use(securityHeaders(cfg.HSTS))
	if cfg.Metrics != nil {
		app.Use(cfg.Metrics)
	}
	app.Use(request.Screen)
	app.Get("/healthz", func(c *fiber.Ctx) error { return response.OK(c, statusJSON{"ok"}) })
	app.Get("/readyz", func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if err := cfg.Ready(ctx); err != nil {
			return err
		}
		out := readinessJSON{Status: "ready"}
		for _, chk := range cfg.Degraded {
			if err := chk.Check(ctx); err != nil {
				out.Status = "degraded"
				out.Degraded = append(out.Degraded, degradedJSON{Name: chk.Name, Error: err.Error()})
			}
		}
		return response.OK(c, out)
	})
	v1 := app.Group("/api/v1")
	for _, g := range cfg.Groups {
		g.Routes(v1)
	}
	if cfg.Pages != nil {
		cfg.Pages.Routes(app)
	}
	app.Use(func(c *fiber.Ctx) error { return response.ErrNotFound })
	answerUnknownMethods(app)
	return app
}

// answerUnknownMethods answers a request with a method the framework does
// not know (FOO) with the JSON error: the framework itself would answer
// plain text before any handler or error handler runs.
func answerUnknownMethods(app *fiber.App) {
	known := map[string]bool{}
	for _, m := range app.Config().RequestMethods {
		known[m] = true
	}
	body, err := json.Marshal(fiber.Map{"error": response.ErrMethodNotAllowed})
	if err != nil {
		panic(err)
	}
	srv := app.Server()
	next := srv.Handler
	srv.Handler = func(ctx *fasthttp.RequestCtx) {
		if known[string(ctx.Method())] {
			next(ctx)
			return
		}
		ctx.SetStatusCode(response.ErrMethodNotAllowed.Status)
		ctx.SetContentType(fiber.MIMEApplicationJSONCharsetUTF8)
		ctx.SetBody(body)
	}
}

// securityHeaders are set on every answer: no content sniffing, no
// referrer, HSTS behind TLS; the API's JSON may not be framed or run
// anything. The pages set their own Content-Security-Policy (server/web).
func securityHeaders(hsts bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
		if hsts {
			c.Set(fiber.HeaderStrictTransportSecurity, "max-age=31536000; includeSubDomains")
		}
		if strings.HasPrefix(c.Path(), "/api/") || c.Path() == "/healthz" || c.Path() == "/readyz" {
			c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; frame-ancestors 'none'")
		}
		return c.Next()
	}
}

type statusJSON struct {
	Status string `json:"status"`
}

// Check is an outside system /readyz reports on.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

type readinessJSON struct {
	Status   string         `json:"status"`
	Degraded []degradedJSON `json:"degraded,omitempty"`
}

type degradedJSON struct {
	Name  string `json:"name"`
	Error string `json:"error"`
}
