package request

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/response"
)

// Screen refuses, before any handler or store sees it, a request whose
// text cannot be stored or is longer than its field allows: the path, every
// query parameter and every string of a JSON body must be valid UTF-8
// without control characters, lone UTF-16 surrogates or U+FFFD, and within
// the limits in limits.go. It also refuses compressed bodies: nothing the
// server serves needs them, and decoding one unbounded is how a small
// request takes gigabytes.
func Screen(c *fiber.Ctx) error {
	if enc := c.Request().Header.Peek(fiber.HeaderContentEncoding); len(enc) > 0 && !strings.EqualFold(strings.TrimSpace(string(enc)), "identity") {
		return response.ErrEncodingUnsupported
	}
	segmentLimit := MaxPathSegment
	if !strings.HasPrefix(c.Path(), "/api/") {
		segmentLimit = MaxPagePathSegment
	}
	for _, seg := range strings.Split(c.Path(), "/") {
		// The framework hands path parameters on as sent: check what
		// the escapes stand for, too.
		decoded, err := url.PathUnescape(seg)
		if err != nil {
			return errNotText("path")
		}
		if err := checkText("path", decoded, segmentLimit); err != nil {
			return err
		}
	}
	var err error
	c.Request().URI().QueryArgs().VisitAll(func(key, value []byte) {
		if err != nil {
			return
		}
		name := string(key)
		if err = checkText("query", name, DefaultMaxLength); err != nil {
			return
		}
		err = checkText(name, string(value), queryParamLimit(name))
	})
	if err != nil {
		return err
	}
	if isJSON(c) {
		if err := ScreenJSON(c.Request().Body()); err != nil {
			return err
		}
	}
	return c.Next()
}

// isJSON reports a request whose body is (or claims to be) JSON; a
// multipart upload is left to its parser.
func isJSON(c *fiber.Ctx) bool {
	if len(c.Request().Body()) == 0 {
		return false
	}
	ct := strings.ToLower(string(c.Request().Header.ContentType()))
	return !strings.HasPrefix(ct, "multipart/") && !strings.HasPrefix(ct, "application/x-www-form-urlencoded")
}

// checkText refuses a value that is not valid UTF-8, holds a control
// character or the replacement character, or is longer than max
// characters.
func checkText(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return errNotText(field)
	}
	n := 0
	for _, r := range s {
		if forbidden(r) {
			return errNotText(field)
		}
		n++
	}
	if n > max {
		return errTooLong(field, max)
	}
	return nil
}

// forbidden are the characters no text input may hold: C0 and C1 control
// characters (NUL among them; PostgreSQL cannot store it) and U+FFFD, which
// is what invalid UTF-8 and lone surrogates decode to.
func forbidden(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r < 0xa0) || r == utf8.RuneError || (r >= 0xd800 && r < 0xe000)
}

func errNotText(field string) *response.Error {
	return response.New(400, "text_invalid",
		field+": must be valid UTF-8 text without control characters.",
		field+": muss gültiger UTF-8-Text ohne Steuerzeichen sein.")
}

func errTooLong(field string, max int) *response.Error {
	n := strconv.Itoa(max)
	return response.New(400, "too_long",
		field+": must be at most "+n+" characters.",
		field+": darf höchstens "+n+" Zeichen lang sein.")
}

// ScreenJSON checks every string of a JSON document, keys and values at
// any depth, as checkText does; a value is held to the limit of the key it
// belongs to. Escapes are decoded first, so "\u0000" and a lone "\ud800"
// are refused like the raw bytes would be. A document that is not JSON at
// all passes: the handler's parser answers that.
func ScreenJSON(doc []byte) error {
	if !utf8.Valid(doc) {
		return errNotText("body")
	}
	field := ""
	for i := 0; i < len(doc); i++ {
		if doc[i] != '"' {
			continue
		}
		s, end, ok := readString(doc, i)
		if !ok {
			return nil // malformed; json.Unmarshal will say so
		}
		rest := bytes.TrimLeft(doc[end:], " \t\r\n")
		isKey := len(rest) > 0 && rest[0] == ':'
		name, max := field, bodyFieldLimit(field)
		if isKey {
			name, max = "body", DefaultMaxLength
		}
		if name == "" {
			name = "body"
		}
		if err := checkText(name, s, max); err != nil {
			return err
		}
		if isKey {
			field = s
		}
		i = end - 1
	}
	return nil
}

// readString decodes the JSON string literal starting at doc[start] (a
// quote). It returns the text, the index after the closing quote, and
// false for a literal that is not closed or has a bad escape. A lone
// surrogate escape decodes to U+FFFD.
func readString(doc []byte, start int) (string, int, bool) {
	var b strings.Builder
	for i := start + 1; i < len(doc); {
		c := doc[i]
		switch {
		case c == '"':
			return b.String(), i + 1, true
		case c < 0x20:
			b.WriteByte(c) // raw control character: refused by checkText
			i++
		case c != '\\':
			b.WriteByte(c)
			i++
		default:
			if i+1 >= len(doc) {
				return "", 0, false
			}
			switch e := doc[i+1]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, n, ok := readEscape(doc[i:])
				if !ok {
					return "", 0, false
				}
				b.WriteRune(r)
				i += n
				continue
			default:
				return "", 0, false
			}
			i += 2
		}
	}
	return "", 0, false
}

// readEscape decodes \uXXXX (and a following \uXXXX low surrogate when the
// first is a high one) and returns the rune and the bytes read. A lone
// surrogate is U+FFFD.
func readEscape(s []byte) (rune, int, bool) {
	hi, ok := hex4(s)
	if !ok {
		return 0, 0, false
	}
	if hi < 0xd800 || hi >= 0xe000 {
		return hi, 6, true
	}
	if hi < 0xdc00 && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
		if lo, ok := hex4(s[6:]); ok && lo >= 0xdc00 && lo < 0xe000 {
			return 0x10000 + (hi-0xd800)<<10 + (lo - 0xdc00), 12, true
		}
	}
	return utf8.RuneError, 6, true
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s[2:6]), 16, 32)
	return rune(v), err == nil
}
