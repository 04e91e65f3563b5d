package main

import (
	"errors"
	"html/template"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

// apiError is what every failed request answers: a stable code for
// programs, and a message in English and German for people.
type apiError struct {
	Status    int    `json:"-"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	MessageDE string `json:"message_de"`
	// RetryAfter, in seconds, is sent as the Retry-After header.
	RetryAfter int `json:"-"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newError(status int, code, en, de string) *apiError {
	return &apiError{Status: status, Code: code, Message: en, MessageDE: de}
}

var (
	errInvalidJSON      = newError(400, "invalid_json", "The request body is not valid JSON.", "Der Inhalt der Anfrage ist kein gültiges JSON.")
	errNotFound         = newError(404, "not_found", "There is nothing at this address.", "Unter dieser Adresse gibt es nichts.")
	errMethodNotAllowed = newError(405, "method_not_allowed", "This method is not allowed here.", "Diese Methode ist hier nicht erlaubt.")
	errUnauthorized     = newError(401, "unauthorized", "A valid access token is required.", "Ein gültiges Zugangstoken ist erforderlich.")
	errRequestTimeout   = newError(408, "request_timeout", "The request took too long to arrive.", "Die Anfrage kam nicht rechtzeitig an.")
	errInternal         = newError(500, "internal", "Something went wrong on our side. Please try again.", "Bei uns ist ein Fehler aufgetreten. Bitte versuchen Sie es erneut.")
	errUnavailable      = &apiError{Status: 503, Code: "unavailable", RetryAfter: 2,
		Message:   "The booking service is briefly unavailable. Please try again in a moment.",
		MessageDE: "Die Terminbuchung ist kurz nicht erreichbar. Bitte versuchen Sie es gleich noch einmal."}
)

// rateLimitedError tells a client to slow down and when to try again.
func rateLimitedError(wait time.Duration) *apiError {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return &apiError{Status: 429, Code: "rate_limited", RetryAfter: secs,
		Message:   "Too many requests from your connection. Please wait a moment and try again.",
		MessageDE: "Zu viele Anfragen von Ihrer Verbindung. Bitte warten Sie einen Moment und versuchen Sie es erneut."}
}

func invalidField(field, en, de string) *apiError {
	return newError(400, "invalid_request", field+": "+en, field+": "+de)
}

// domainErrors maps the booking core's outcomes to answers.
var domainErrors = []struct {
	err error
	api *apiError
}{
	{booking.ErrLocationUnknown, newError(404, "location_not_found", "This location does not exist.", "Diesen Standort gibt es nicht.")},
	{booking.ErrServiceUnknown, newError(404, "service_not_found", "This service is not offered at this location.", "Diese Dienstleistung wird an diesem Standort nicht angeboten.")},
	{booking.ErrSlotFull, newError(409, "slot_full", "Not enough places are free at this time. Please choose another time.", "Zu dieser Zeit sind nicht genug Plätze frei. Bitte wählen Sie eine andere Zeit.")},
	{booking.ErrSlotInvalid, newError(422, "slot_invalid", "No appointment can start at this time.", "Zu dieser Zeit kann kein Termin beginnen.")},
	{booking.ErrSlotPast, newError(422, "slot_past", "This time has already passed.", "Dieser Zeitpunkt liegt in der Vergangenheit.")},
	{booking.ErrUnitsInvalid, newError(422, "units_invalid", "The number of places is not allowed for this service.", "Die Anzahl der Plätze ist für diese Dienstleistung nicht zulässig.")},
	{booking.ErrHoldNotFound, newError(404, "hold_not_found", "This reservation does not exist.", "Diese Reservierung gibt es nicht.")},
	{booking.ErrHoldExpired, newError(410, "hold_expired", "The reservation has expired. Please choose a time again.", "Die Reservierung ist abgelaufen. Bitte wählen Sie erneut einen Termin.")},
	{booking.ErrHoldUsed, newError(409, "hold_used", "This reservation has already been booked.", "Diese Reservierung wurde bereits gebucht.")},
	{booking.ErrNameInvalid, newError(422, "name_invalid", "Please enter a name (at most 200 characters).", "Bitte geben Sie einen Namen ein (höchstens 200 Zeichen).")},
	{booking.ErrEmailInvalid, newError(422, "email_invalid", "Please enter a valid e-mail address.", "Bitte geben Sie eine gültige E-Mail-Adresse ein.")},
	{booking.ErrBookingNotFound, newError(404, "booking_not_found", "No booking matches this code and token.", "Zu diesem Code und Token gibt es keine Buchung.")},
	{booking.ErrTooLate, newError(409, "too_late", "This appointment can no longer be changed.", "Dieser Termin kann nicht mehr geändert werden.")},
	{booking.ErrContactLimit, newError(409, "contact_limit", "This e-mail address already has the most bookings allowed at this location on this day.", "Für diese E-Mail-Adresse gibt es an diesem Tag und Standort bereits die höchstens erlaubte Zahl an Buchungen.")},
	{fairness.ErrChallengeRequired, newError(428, "challenge_required", "Many people are booking right now. Please solve the challenge from /api/v1/challenge and send it with the reservation.", "Gerade buchen sehr viele Menschen. Bitte lösen Sie die Aufgabe von /api/v1/challenge und senden Sie sie mit der Reservierung.")},
	{fairness.ErrChallengeInvalid, newError(403, "challenge_invalid", "The solved challenge is wrong, expired or already used. Please fetch a new one.", "Die gelöste Aufgabe ist falsch, abgelaufen oder schon benutzt. Bitte holen Sie eine neue.")},
	{booking.ErrUnavailable, errUnavailable},
	{fairness.ErrUnavailable, errUnavailable},
}

// toAPIError classifies any error returned by a handler.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	for _, m := range domainErrors {
		if errors.Is(err, m.err) {
			return m.api
		}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusNotFound:
			return errNotFound
		case fiber.StatusMethodNotAllowed:
			return errMethodNotAllowed
		case fiber.StatusRequestEntityTooLarge:
			return newError(413, "too_large", "The request is too large.", "Die Anfrage ist zu groß.")
		case fiber.StatusRequestTimeout:
			// fasthttp reports a keep-alive connection that stayed idle
			// past the read timeout this way; it is not our failure.
			return errRequestTimeout
		case fiber.StatusRequestHeaderFieldsTooLarge:
			return newError(431, "too_large", "The request headers are too large.", "Die Kopfzeilen der Anfrage sind zu groß.")
		case fiber.StatusBadRequest, fiber.StatusUnprocessableEntity:
			return errInvalidJSON
		}
	}
	return errInternal
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.MessageDE}} – termin</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}
h1{font-size:1.4rem}p.en{color:#444}code{background:#eee;padding:.1rem .3rem}</style></head>
<body><main><h1>{{.MessageDE}}</h1><p class="en" lang="en">{{.Message}}</p>
<p><a href="/">Zur Startseite</a> · Fehlercode <code>{{.Code}}</code></p></main></body></html>`))

// errorHandler answers every error as JSON, or as a page for a browser
// that asked for HTML outside the API.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		ae := toAPIError(err)
		if ae.Status >= 500 {
			log.ErrorContext(c.UserContext(), "request failed", "method", c.Method(), "route", c.Route().Path, "code", ae.Code, "err", err)
		}
		if ae.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(ae.RetryAfter))
		}
		c.Status(ae.Status)
		if !strings.HasPrefix(c.Path(), "/api/") && c.Accepts("application/json", "text/html") == "text/html" {
			c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
			return errorPage.Execute(c.Response().BodyWriter(), ae)
		}
		return c.JSON(fiber.Map{"error": ae})
	}
}
