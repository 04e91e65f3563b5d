package router

import (
	"html/template"
	"log/slog"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/response"
)

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.MessageDE}} – termin</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}
h1{font-size:1.4rem}p.en{color:#444}code{background:#eee;padding:.1rem .3rem}</style></head>
<body><main><h1>{{.MessageDE}}</h1><p class="en" lang="en">{{.Message}}</p>
<p><a href="/">Zur Startseite</a> · Fehlercode <code>{{.Code}}</code></p></main></body></html>`))

// errorHandler answers every error from the error table: as JSON, or as a
// page for a browser that asked for HTML outside the API.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		e := response.For(err)
		if e.Status >= 500 {
			log.ErrorContext(c.UserContext(), "request failed", "method", c.Method(), "route", c.Route().Path, "code", e.Code, "err", err)
		}
		if !strings.HasPrefix(c.Path(), "/api/") && c.Accepts(fiber.MIMEApplicationJSON, fiber.MIMETextHTML) == fiber.MIMETextHTML {
			response.SetStatus(c, e)
			c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
			return errorPage.Execute(c.Response().BodyWriter(), e)
		}
		return response.WriteError(c, e)
	}
}
