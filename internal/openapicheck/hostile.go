package openapicheck

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Hostile is a request no route may take: text that cannot be stored, too
// long or of the wrong type, a compressed body, or an unknown method.
type Hostile struct {
	Name   string
	Method string
	// Path has its parameters filled in and may carry a query.
	Path   string
	Body   []byte
	Header http.Header
}

// hostileText are JSON string literals with something no text input may
// hold.
var hostileText = map[string]string{
	"NUL":                 `"\u0000"`,
	"NUL inside":          `"ab\u0000cd"`,
	"lone high surrogate": `"\ud800"`,
	"lone low surrogate":  `"x\udfff"`,
	"escape character":    `"\u001b[2J"`,
	"C1 control":          `"\u0085"`,
	"invalid UTF-8":       "\"\xff\xfe\"",
	"overlong":            `"` + strings.Repeat("x", 100_000) + `"`,
}

// hostileQuery are query values (already encoded) no parameter may take.
var hostileQuery = map[string]string{
	"NUL":                 "%00",
	"NUL inside":          "ab%00cd",
	"lone surrogate":      "%ED%A0%80",
	"invalid UTF-8":       "%FF",
	"escape character":    "%1B",
	"overlong":            strings.Repeat("x", 2000),
	"NUL in a name":       "",
	"control in the name": "",
}

// Bombs are compressed bodies that decode to decoded bytes of JSON
// whitespace; built once, they are the same for every route.
type Bombs struct {
	Gzip, Deflate, GzipGzip []byte
}

// NewBombs compresses decoded bytes of whitespace (a valid JSON prefix) as
// gzip, as deflate, and twice as gzip.
func NewBombs(decoded int) (*Bombs, error) {
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	fill := func(w interface {
		Write([]byte) (int, error)
		Close() error
	}) error {
		for n := 0; n < decoded; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
		}
		_, err := w.Write([]byte("{}"))
		if err != nil {
			return err
		}
		return w.Close()
	}
	var gz, fl, gzgz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err := fill(zw); err != nil {
		return nil, err
	}
	fw, _ := flate.NewWriter(&fl, flate.BestCompression)
	if err := fill(fw); err != nil {
		return nil, err
	}
	zw2, _ := gzip.NewWriterLevel(&gzgz, gzip.BestCompression)
	zw2.Write(gz.Bytes())
	zw2.Close()
	return &Bombs{Gzip: gz.Bytes(), Deflate: fl.Bytes(), GzipGzip: gzgz.Bytes()}, nil
}

// HostileRequests lists hostile requests for every documented operation:
// for each string of a JSON body (at any depth), each query parameter and
// each path parameter, every kind of bad text; for each field of a JSON
// body, a value of the wrong type; bodies that are not objects; every
// bomb; and unknown methods. params fills path parameters; header gives
// the headers a route needs to get past authentication.
func (c *Checker) HostileRequests(params map[string]string, header func(method, path string) http.Header, bombs *Bombs) []Hostile {
	var out []Hostile
	paths := c.doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, tmpl := range keys {
		item := paths[tmpl]
		path := tmpl
		for name, v := range params {
			path = strings.ReplaceAll(path, "{"+name+"}", v)
		}
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			h := func() http.Header {
				hd := http.Header{}
				for k, v := range header(method, tmpl) {
					hd[k] = v
				}
				return hd
			}
			add := func(name, p string, body []byte, hd http.Header) {
				out = append(out, Hostile{Name: method + " " + tmpl + ": " + name, Method: method, Path: p, Body: body, Header: hd})
			}
			base := queryExample(op, item)
			// Query parameters.
			for _, prm := range append(item.Parameters, op.Parameters...) {
				if prm.Value.In != "query" {
					continue
				}
				for kind, v := range hostileQuery {
					var q string
					switch kind {
					case "NUL in a name":
						q = base.Encode() + "&" + prm.Value.Name + "%00=1"
					case "control in the name":
						q = base.Encode() + "&%07" + prm.Value.Name + "=1"
					default:
						q = setRaw(base, prm.Value.Name, v)
					}
					add(kind+" in query "+prm.Value.Name, path+"?"+q, nil, h())
				}
			}
			// Path parameters.
			for _, prm := range append(item.Parameters, op.Parameters...) {
				if prm.Value.In != "path" {
					continue
				}
				p := strings.ReplaceAll(tmpl, "{"+prm.Value.Name+"}", strings.Repeat("x", 1000))
				for name, v := range params {
					p = strings.ReplaceAll(p, "{"+name+"}", v)
				}
				add("overlong path "+prm.Value.Name, p+queryString(base), nil, h())
				p = strings.ReplaceAll(tmpl, "{"+prm.Value.Name+"}", "%00")
				for name, v := range params {
					p = strings.ReplaceAll(p, "{"+name+"}", v)
				}
				add("NUL in path "+prm.Value.Name, p+queryString(base), nil, h())
			}
			target := path + queryString(base)
			// Unknown methods, on every route.
			for _, m := range []string{"FOO", "PROPFIND", "BREW"} {
				out = append(out, Hostile{Name: m + " " + tmpl, Method: m, Path: target, Header: h()})
			}
			schema := jsonBody(op)
			if schema == nil {
				continue
			}
			jh := func(extra ...string) http.Header {
				hd := h()
				hd.Set("Content-Type", "application/json")
				for i := 0; i+1 < len(extra); i += 2 {
					hd.Set(extra[i], extra[i+1])
				}
				return hd
			}
			example := exampleOf(schema)
			for _, leaf := range leaves(example, nil) {
				if _, isString := leaf.value.(string); isString {
					for kind, lit := range hostileText {
						add(kind+" in "+leaf.name(), target, replaceLeaf(example, leaf.path, json.RawMessage(lit)), jh())
					}
				}
				for _, wrong := range wrongTypes(leaf.value) {
					add("wrong type "+string(wrong)+" for "+leaf.name(), target, replaceLeaf(example, leaf.path, wrong), jh())
				}
			}
			for kind, lit := range hostileText {
				add(kind+" in a key", target, []byte(`{`+lit+`:"x"}`), jh())
			}
			for _, b := range []string{`[]`, `[{}]`, `"x"`, `1`, `null`, `{`, `{"a":1}x`} {
				add("body "+b, target, []byte(b), jh())
			}
			if bombs != nil {
				add("gzip bomb", target, bombs.Gzip, jh("Content-Encoding", "gzip"))
				add("deflate bomb", target, bombs.Deflate, jh("Content-Encoding", "deflate"))
				add("gzip, gzip bomb", target, bombs.GzipGzip, jh("Content-Encoding", "gzip, gzip"))
				add("br claimed", target, bombs.Gzip, jh("Content-Encoding", "br"))
			}
		}
	}
	return out
}

func queryString(q url.Values) string {
	if s := q.Encode(); s != "" {
		return "?" + s
	}
	return ""
}

// setRaw returns the encoded query with name set to the already encoded v.
func setRaw(q url.Values, name, v string) string {
	rest := url.Values{}
	for k, vs := range q {
		if k != name {
			rest[k] = vs
		}
	}
	s := rest.Encode()
	if s != "" {
		s += "&"
	}
	return s + url.QueryEscape(name) + "=" + v
}

// queryExample fills the required query parameters with example values.
func queryExample(op *openapi3.Operation, item *openapi3.PathItem) url.Values {
	q := url.Values{}
	for _, prm := range append(item.Parameters, op.Parameters...) {
		if prm.Value.In == "query" && prm.Value.Required {
			b, _ := json.Marshal(exampleOf(prm.Value.Schema.Value))
			var s string
			if json.Unmarshal(b, &s) != nil {
				s = string(b)
			}
			q.Set(prm.Value.Name, s)
		}
	}
	return q
}

func jsonBody(op *openapi3.Operation) *openapi3.Schema {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

// exampleOf builds a small value of the schema: every property, one item
// per array.
func exampleOf(s *openapi3.Schema) any {
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	switch {
	case s.Type.Is("object"):
		obj := map[string]any{}
		for name, p := range s.Properties {
			obj[name] = exampleOf(p.Value)
		}
		return obj
	case s.Type.Is("array"):
		return []any{exampleOf(s.Items.Value)}
	case s.Type.Is("integer"), s.Type.Is("number"):
		return 1
	case s.Type.Is("boolean"):
		return false
	case s.Format == "date-time":
		return "2030-01-07T09:00:00Z"
	case s.Format == "date":
		return "2030-01-07"
	case s.Format == "email":
		return "erika@example.org"
	case s.Pattern != "":
		return "1"
	default:
		return "x"
	}
}

type leaf struct {
	path  []any // string keys and int indexes
	value any
}

func (l leaf) name() string {
	var parts []string
	for _, p := range l.path {
		parts = append(parts, fmt.Sprint(p))
	}
	return strings.Join(parts, ".")
}

// leaves lists every value in v with its path, objects and arrays
// included.
func leaves(v any, path []any) []leaf {
	var out []leaf
	if len(path) > 0 {
		out = append(out, leaf{path: path, value: v})
	}
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, leaves(v[k], append(append([]any{}, path...), k))...)
		}
	case []any:
		for i, e := range v {
			out = append(out, leaves(e, append(append([]any{}, path...), i))...)
		}
	}
	return out
}

// wrongTypes are values of every other JSON type than v's.
func wrongTypes(v any) []json.RawMessage {
	all := map[string]json.RawMessage{"string": json.RawMessage(`"x"`), "number": json.RawMessage(`12345`),
		"bool": json.RawMessage(`true`), "object": json.RawMessage(`{"x":1}`), "array": json.RawMessage(`[1]`)}
	var own string
	switch v.(type) {
	case string:
		own = "string"
	case int, float64:
		own = "number"
	case bool:
		own = "bool"
	case map[string]any:
		own = "object"
	case []any:
		own = "array"
	}
	var out []json.RawMessage
	for _, k := range []string{"string", "number", "bool", "object", "array"} {
		if k != own {
			out = append(out, all[k])
		}
	}
	return out
}

// replaceLeaf returns v as JSON with the value at path replaced by raw.
func replaceLeaf(v any, path []any, raw json.RawMessage) []byte {
	var put func(v any, path []any) any
	put = func(v any, path []any) any {
		if len(path) == 0 {
			return raw
		}
		switch v := v.(type) {
		case map[string]any:
			c := map[string]any{}
			for k, e := range v {
				c[k] = e
			}
			c[path[0].(string)] = put(v[path[0].(string)], path[1:])
			return c
		case []any:
			c := append([]any{}, v...)
			c[path[0].(int)] = put(v[path[0].(int)], path[1:])
			return c
		}
		return v
	}
	b, err := json.Marshal(put(v, path))
	if err != nil {
		panic(err)
	}
	// json.Marshal escapes invalid UTF-8 it finds in raw values; keep raw
	// bytes as written.
	return b
}
