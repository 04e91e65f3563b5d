package request

// The longest value, in characters, each text input may have. They are the
// one list of these limits: the screening in Screen applies them before a
// handler runs, and docs/openapi.yaml documents the same numbers as
// maxLength (a test compares the two).
var (
	// BodyFields are the fields of JSON request bodies, by name, at any
	// depth of the document.
	BodyFields = map[string]int{
		"location":   64,
		"service":    64,
		"start":      40,
		"hold":       64,
		"name":       200,
		"email":      254,
		"phone":      40,
		"lang":       8,
		"challenge":  256,
		"solution":   20,
		"code":       64,
		"qr":         1024,
		"nonce":      128,
		"scanned_at": 40,
		"version":    64,
		"desk":       32,
		"state":      16,
		"mode":       16,
		"eventId":    128,
		"platformId": 128,
		"reference":  128,
		"type":       64,
		"occurredAt": 40,
		"done_by":    120,
		"note":       500,
		"login":      64,
		"password":   128,
	}
	// QueryParams are the query parameters, by name.
	QueryParams = map[string]int{
		"location":      64,
		"service":       64,
		"from":          10,
		"to":            10,
		"kind":          16,
		"state":         32,
		"kassenzeichen": 32,
		"reference":     128,
		"limit":         10,
		"number":        16,
		"qr":            1024,
		"paper":         2,
	}
)

const (
	// DefaultMaxLength bounds a body field or query parameter of a name
	// not listed above (free-form device status, for example).
	DefaultMaxLength = 256
	// MaxPathSegment bounds one segment of the path: an id, a booking code,
	// a payment reference, an export file name.
	MaxPathSegment = 128
	// MaxPagePathSegment bounds one segment of a page's path outside
	// /api: the citizens' pages carry a signed hold ticket in the path,
	// which grows with the services chosen.
	MaxPagePathSegment = 1024
)

// bodyFieldLimit is the limit of a body field.
func bodyFieldLimit(name string) int {
	if n, ok := BodyFields[name]; ok {
		return n
	}
	return DefaultMaxLength
}

// queryParamLimit is the limit of a query parameter.
func queryParamLimit(name string) int {
	if n, ok := QueryParams[name]; ok {
		return n
	}
	return DefaultMaxLength
}
