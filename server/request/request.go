// Package request is the one way the server reads a request: a strict
// JSON body and typed query parameters, each failure answered with a
// stable code from package response.
package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/response"
)

// JSON parses the body, a JSON object, into v strictly enough that a
// wrong type is a clear error rather than a zero value. It reads the body
// as it arrived: Screen has refused compressed ones.
func JSON(c *fiber.Ctx, v any) error {
	body := c.Request().Body()
	if len(body) == 0 {
		return response.ErrInvalidJSON
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] != '{' && json.Valid(trimmed) {
		return response.ErrObjectExpected
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return response.Invalid(te.Field, "has the wrong type", "hat den falschen Typ")
		}
		return response.ErrInvalidJSON
	}
	return nil
}

// OptionalDate reads a YYYY-MM-DD query parameter; the zero time when it
// is absent.
func OptionalDate(c *fiber.Ctx, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return t, response.InvalidDate(name)
	}
	return t, nil
}

// DateRange reads the optional query parameters from and to (YYYY-MM-DD).
func DateRange(c *fiber.Ctx) (from, to time.Time, err error) {
	if from, err = OptionalDate(c, "from"); err != nil {
		return from, to, err
	}
	to, err = OptionalDate(c, "to")
	return from, to, err
}
