package mail

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// ICSComponent is one parsed iCalendar component (VCALENDAR, VEVENT, ...).
type ICSComponent struct {
	Name       string
	Properties []ICSProperty
	Components []*ICSComponent
}

// ICSProperty is one content line: name, parameters and raw value (TEXT
// values still escaped: see UnescapeText).
type ICSProperty struct {
	Name   string
	Params map[string]string
	Value  string
}

// Limits for parsing calendar files that come from outside.
const (
	maxICSSize  = 1 << 20
	maxICSDepth = 8
)

// ErrICSSyntax is wrapped by every ParseICS error.
var ErrICSSyntax = errors.New("ics: syntax error")

// ParseICS parses an iCalendar file into its top-level component. It
// unfolds lines, splits names, parameters and values, and checks that
// BEGIN and END pair up; it does not validate properties. Tests use it to
// read what was sent; it is strict enough to reject what calendar programs
// would reject at the syntax level.
func ParseICS(data []byte) (*ICSComponent, error) {
	if len(data) > maxICSSize {
		return nil, fmt.Errorf("%w: file larger than %d bytes", ErrICSSyntax, maxICSSize)
	}
	if !bytes.Contains(data, []byte("\r\n")) {
		return nil, fmt.Errorf("%w: lines must end with CRLF", ErrICSSyntax)
	}
	var lines []string
	for _, raw := range strings.Split(string(data), "\r\n") {
		if raw == "" {
			continue
		}
		if raw[0] == ' ' || raw[0] == '\t' {
			if len(lines) == 0 {
				return nil, fmt.Errorf("%w: continuation before the first line", ErrICSSyntax)
			}
			lines[len(lines)-1] += raw[1:]
			continue
		}
		lines = append(lines, raw)
	}
	var root *ICSComponent
	var stack []*ICSComponent
	for n, line := range lines {
		p, err := parseContentLine(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrICSSyntax, n+1, err)
		}
		switch p.Name {
		case "BEGIN":
			if p.Value == "" {
				return nil, fmt.Errorf("%w: line %d: BEGIN without a name", ErrICSSyntax, n+1)
			}
			if root != nil && len(stack) == 0 {
				return nil, fmt.Errorf("%w: line %d: content after the end", ErrICSSyntax, n+1)
			}
			if len(stack) == maxICSDepth {
				return nil, fmt.Errorf("%w: line %d: nested too deep", ErrICSSyntax, n+1)
			}
			c := &ICSComponent{Name: strings.ToUpper(p.Value)}
			if len(stack) == 0 {
				root = c
			} else {
				top := stack[len(stack)-1]
				top.Components = append(top.Components, c)
			}
			stack = append(stack, c)
		case "END":
			if len(stack) == 0 || stack[len(stack)-1].Name != strings.ToUpper(p.Value) {
				return nil, fmt.Errorf("%w: line %d: END:%s does not close an open component", ErrICSSyntax, n+1, p.Value)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				return nil, fmt.Errorf("%w: line %d: property outside a component", ErrICSSyntax, n+1)
			}
			top := stack[len(stack)-1]
			top.Properties = append(top.Properties, p)
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no component", ErrICSSyntax)
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("%w: %s not closed", ErrICSSyntax, stack[len(stack)-1].Name)
	}
	return root, nil
}

// parseContentLine splits name *(";" param) ":" value; parameter values
// may be quoted and then contain ; and :.
func parseContentLine(line string) (ICSProperty, error) {
	i := strings.IndexAny(line, ";:")
	if i <= 0 {
		return ICSProperty{}, errors.New("no property name")
	}
	p := ICSProperty{Name: strings.ToUpper(line[:i])}
	if !validName(p.Name) {
		return ICSProperty{}, fmt.Errorf("bad property name %q", p.Name)
	}
	rest := line[i:]
	for rest != "" && rest[0] == ';' {
		rest = rest[1:]
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return ICSProperty{}, errors.New("parameter without a value")
		}
		name := strings.ToUpper(rest[:eq])
		if !validName(name) {
			return ICSProperty{}, fmt.Errorf("bad parameter name %q", name)
		}
		rest = rest[eq+1:]
		var value string
		if rest != "" && rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return ICSProperty{}, errors.New("unterminated quoted parameter")
			}
			value, rest = rest[1:1+end], rest[2+end:]
		} else {
			end := strings.IndexAny(rest, ";:")
			if end < 0 {
				return ICSProperty{}, errors.New("no value")
			}
			value, rest = rest[:end], rest[end:]
		}
		if p.Params == nil {
			p.Params = map[string]string{}
		}
		p.Params[name] = value
	}
	if rest == "" || rest[0] != ':' {
		return ICSProperty{}, errors.New("no value")
	}
	p.Value = rest[1:]
	return p, nil
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return s != ""
}

// Prop returns the first property of that name.
func (c *ICSComponent) Prop(name string) (ICSProperty, bool) {
	for _, p := range c.Properties {
		if p.Name == name {
			return p, true
		}
	}
	return ICSProperty{}, false
}

// Value returns the first property's value of that name, or "".
func (c *ICSComponent) Value(name string) string {
	p, _ := c.Prop(name)
	return p.Value
}

// Find returns the direct subcomponents of that name.
func (c *ICSComponent) Find(name string) []*ICSComponent {
	var out []*ICSComponent
	for _, s := range c.Components {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}
