package request

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"

	"github.com/gofiber/fiber/v2"
)

// HeaderID carries a request's id, from a proxy that set one or from
// here, back to the client and into every log line of the request.
const HeaderID = "X-Request-ID"

type idKey struct{}

// ID gives every request an id: the proxy's X-Request-ID when it looks
// like one, else a new random one. It is answered in the same header and
// put in the request's context for the log.
func ID(c *fiber.Ctx) error {
	id := c.Get(HeaderID)
	if !validID(id) {
		b := make([]byte, 8)
		rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(HeaderID, id)
	c.SetUserContext(context.WithValue(c.UserContext(), idKey{}, id))
	return c.Next()
}

// validID accepts 8 to 64 letters, digits, '-' and '_': what proxies
// send, and nothing that could forge a log line.
func validID(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// IDFrom returns the request id in ctx, or "".
func IDFrom(ctx context.Context) string {
	id, _ := ctx.Value(idKey{}).(string)
	return id
}

// LogHandler adds the request id of the record's context to every log
// record, so all lines of one request can be found together.
type LogHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := IDFrom(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h LogHandler) WithGroup(name string) slog.Handler { return LogHandler{h.Handler.WithGroup(name)} }
