package web

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/server/auth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

var pages = parsePages()

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"euro": func(v *view, cents int64) string { return v.texts.euro(cents) },
		"pair": func(v *view, x any) map[string]any { return map[string]any{"V": v, "C": x, "H": x} },
		"fld":  adminField,
		"conf": adminConflicts,
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html"))
	out := map[string]*template.Template{}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
	return out
}

// fieldError is one entry of the error summary, linked to its field.
type fieldError struct {
	Field, Text string
}

// step is one entry of the progress list.
type step struct {
	Name    string
	Current bool
}

// view is what every page template gets.
type view struct {
	T         map[string]string
	Lang      string
	OtherLang string
	SwitchURL string
	Title     string
	Steps     []step
	CSRF      string
	Errors    []fieldError
	Scripts   []string
	Feedback  string
	// Refresh sends the browser on to this path at once.
	Refresh string
	// RefreshAfter reloads the page after this many seconds in a
	// browser without scripts (a script updates it in place otherwise).
	RefreshAfter int
	// Page names the template, for tests and styles.
	Page string
	// Staff is the logged-in member of staff on staff pages (nil
	// elsewhere); Nav their navigation.
	Staff *auth.Staff
	Nav   []navLink
	// StaffArea marks the pages under /intern (the login page too).
	StaffArea bool
	D         any
	texts     texts
}

// Step numbers of the booking flow (0: no progress list).
const (
	stepNone = iota
	stepChoice
	stepDay
	stepTime
	stepContact
	stepReview
	stepDone
)

const (
	langCookie = "termin_lang"
	csrfCookie = "termin_csrf"
)

// lang picks the page language: the switch's cookie, else the browser's
// Accept-Language, else German.
func lang(c *fiber.Ctx) string {
	if l := c.Cookies(langCookie); l == "de" || l == "en" {
		return l
	}
	if c.AcceptsLanguages("de", "en") == "en" {
		return "en"
	}
	return "de"
}

func (h *Handler) newView(c *fiber.Ctx, titleKey string, stepNo int) *view {
	l := lang(c)
	t := textsFor(l)
	other := "en"
	if l == "en" {
		other = "de"
	}
	v := &view{T: t.m, Lang: l, OtherLang: other, texts: t, Feedback: h.Feedback,
		SwitchURL: "/sprache?l=" + other + "&r=" + url.QueryEscape(string(c.Request().URI().RequestURI()))}
	v.Title = t.get(titleKey)
	if stepNo != stepNone {
		for i, k := range []string{"step_choice", "step_day", "step_time", "step_contact", "step_review", "step_done"} {
			v.Steps = append(v.Steps, step{Name: t.get(k), Current: i+1 == stepNo})
		}
	}
	v.CSRF = h.csrf(c)
	return v
}

// csrf returns the form token of this browser, setting it when new. It is
// a double-submit token: the form field must equal the cookie, which
// another site can neither read nor set.
func (h *Handler) csrf(c *fiber.Ctx) string {
	if t := c.Cookies(csrfCookie); len(t) == 22 {
		return t
	}
	b := make([]byte, 16)
	rand.Read(b)
	t := base64.RawURLEncoding.EncodeToString(b)
	c.Cookie(&fiber.Cookie{Name: csrfCookie, Value: t, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: h.secure(c)})
	c.Request().Header.SetCookie(csrfCookie, t)
	return t
}

func csrfOK(c *fiber.Ctx) bool {
	cookie, form := c.Cookies(csrfCookie), c.FormValue("csrf")
	return cookie != "" && subtle.ConstantTimeCompare([]byte(cookie), []byte(form)) == 1
}

func (h *Handler) render(c *fiber.Ctx, status int, page string, v *view) error {
	v.Page = page
	var buf bytes.Buffer
	if err := pages[page].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return err
	}
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(buf.Bytes())
}

// message renders a page of a title and a text with links onward.
type messageData struct {
	Text  string
	Links []link
	Retry *retryForm
}

type link struct{ Href, Text string }

// retryForm repeats a POST (the choice and time kept) after a wait.
type retryForm struct {
	Action string
	Fields map[string][]string
	Label  string
}

func (h *Handler) message(c *fiber.Ctx, status int, titleKey, text string, links ...link) error {
	v := h.newView(c, titleKey, stepNone)
	if len(links) == 0 {
		links = []link{{"/", v.texts.get("to_start")}}
	}
	v.D = messageData{Text: text, Links: links}
	return h.render(c, status, "message", v)
}

func (h *Handler) notFound(c *fiber.Ctx) error {
	v := h.newView(c, "not_found_title", stepNone)
	return h.message(c, fiber.StatusNotFound, "not_found_title", v.texts.get("not_found"))
}

// headers sets the security headers of every page.
func (h *Handler) headers(c *fiber.Ctx) error {
	if strings.HasPrefix(c.Path(), "/api/") {
		return c.Next()
	}
	c.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	return c.Next()
}

var assetTypes = map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

func (h *Handler) asset(c *fiber.Ctx) error {
	name := c.Params("name")
	ext := name[strings.LastIndexByte(name, '.')+1:]
	typ, ok := assetTypes["."+ext]
	b, err := assetFS.ReadFile("assets/" + name)
	if !ok || err != nil || strings.Contains(name, "/") {
		return h.notFound(c)
	}
	c.Set(fiber.HeaderContentType, typ)
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(b)
}

// language switches the page language and goes back where the citizen
// was (only to a path of this site).
func (h *Handler) language(c *fiber.Ctx) error {
	l := c.Query("l")
	if l != "de" && l != "en" {
		l = "de"
	}
	c.Cookie(&fiber.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()), SameSite: fiber.CookieSameSiteLaxMode, Secure: h.secure(c)})
	back := c.Query("r")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.HasPrefix(back, "/\\") || strings.HasPrefix(back, "/sprache") {
		back = "/"
	}
	return c.Redirect(back, fiber.StatusSeeOther)
}
