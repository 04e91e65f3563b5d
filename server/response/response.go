// Package response is the one way the server answers a request: JSON
// bodies through OK, Created and NoContent, and every failure through the
// error table in errors.go, as {"error": {code, message, message_de}} with
// the status (and Retry-After) the table gives.
package response

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
)

// OK answers 200 with v as JSON.
func OK(c *fiber.Ctx, v any) error { return c.JSON(v) }

// Created answers 201 with v as JSON.
func Created(c *fiber.Ctx, v any) error { return c.Status(fiber.StatusCreated).JSON(v) }

// Accepted answers 202 with v as JSON.
func Accepted(c *fiber.Ctx, v any) error { return c.Status(fiber.StatusAccepted).JSON(v) }

// NoContent answers 204.
func NoContent(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) }

// Attachment answers 200 with data as a download named filename.
func Attachment(c *fiber.Ctx, contentType, filename string, data []byte) error {
	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
	return c.Send(data)
}

// WriteError sets the status and Retry-After of e and answers it as JSON.
func WriteError(c *fiber.Ctx, e *Error) error {
	SetStatus(c, e)
	return c.JSON(fiber.Map{"error": e})
}

// SetStatus sets the status and Retry-After header of e, for a caller that
// writes the body itself (the browser error page).
func SetStatus(c *fiber.Ctx, e *Error) {
	if e.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(e.RetryAfter))
	}
	c.Status(e.Status)
}

// List maps a list of domain values to their payloads. A nil list stays
// nil (JSON null) and an empty one empty ([]), as the store returned it.
func List[T, P any](in []T, payload func(*T) P) []P {
	if in == nil {
		return nil
	}
	out := make([]P, len(in))
	for i := range in {
		out[i] = payload(&in[i])
	}
	return out
}
