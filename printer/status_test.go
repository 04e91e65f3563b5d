package printer

import (
	"errors"
	"testing"
)

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		q       Query
		b       byte
		want    Status
		wantErr error
	}{
		{"online", QueryPrinter, 0x12, Status{}, nil},
		{"offline", QueryPrinter, 0x1A, Status{Offline: true}, nil},
		{"cover open", QueryOffline, 0x16, Status{CoverOpen: true}, nil},
		{"stopped by paper end", QueryOffline, 0x32, Status{PaperEndStop: true}, nil},
		{"error", QueryOffline, 0x52, Status{Error: true}, nil},
		{"cutter", QueryError, 0x1A, Status{CutterError: true}, nil},
		{"unrecoverable", QueryError, 0x32, Status{Unrecoverable: true}, nil},
		{"auto-recoverable", QueryError, 0x52, Status{AutoRecoverable: true}, nil},
		{"paper near end", QueryPaper, 0x1E, Status{PaperNearEnd: true}, nil},
		{"paper end", QueryPaper, 0x72, Status{PaperEnd: true}, nil},
		{"paper end and near end", QueryPaper, 0x7E, Status{PaperEnd: true, PaperNearEnd: true}, nil},
		{"fixed bit 1 clear", QueryPrinter, 0x10, Status{}, ErrBadStatus},
		{"fixed bit 4 clear", QueryPrinter, 0x02, Status{}, ErrBadStatus},
		{"fixed bit 7 set", QueryPaper, 0x92, Status{}, ErrBadStatus},
		{"fixed bit 0 set", QueryPaper, 0x13, Status{}, ErrBadStatus},
		{"unknown query", Query(9), 0x12, Status{}, ErrBadStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatus(tt.q, tt.b)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseStatus(%d, %#02x) = %+v, want %+v", tt.q, tt.b, got, tt.want)
			}
		})
	}
}

func TestStatusErr(t *testing.T) {
	tests := []struct {
		name string
		s    Status
		want []error
	}{
		{"ready", Status{PaperNearEnd: true}, nil},
		{"paper out", Status{Offline: true, PaperEnd: true, PaperEndStop: true, Error: true}, []error{ErrPaperEnd}},
		{"cover", Status{Offline: true, CoverOpen: true}, []error{ErrCoverOpen}},
		{"offline only", Status{Offline: true}, []error{ErrOffline}},
		{"cutter", Status{CutterError: true}, []error{ErrCutter}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Err()
			if (err == nil) != (tt.want == nil) {
				t.Fatalf("Err() = %v, want %v", err, tt.want)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("Err() = %v, want it to wrap %v", err, w)
				}
			}
		})
	}
}

func TestStatusReplyRoundTrip(t *testing.T) {
	s := Status{Offline: true, CoverOpen: true, PaperEndStop: true, CutterError: true, PaperEnd: true}
	var got Status
	for _, q := range AllQueries {
		if err := got.Apply(q, s.Reply(q)); err != nil {
			t.Fatalf("Apply(%d): %v", q, err)
		}
	}
	if got != s {
		t.Errorf("round trip = %+v, want %+v", got, s)
	}
	if q := StatusQuery(QueryPaper); string(q) != "\x10\x04\x04" {
		t.Errorf("StatusQuery = % x", q)
	}
}

func TestParseASB(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Status
		wantErr bool
	}{
		{"idle", []byte{0x10, 0x00, 0x00, 0x00}, Status{}, false},
		{"cover open offline", []byte{0x38, 0x00, 0x00, 0x00}, Status{Offline: true, CoverOpen: true}, false},
		{"paper end", []byte{0x18, 0x00, 0x0C, 0x00}, Status{Offline: true, PaperEnd: true}, false},
		{"cutter error", []byte{0x18, 0x08, 0x00, 0x00}, Status{Offline: true, CutterError: true, Error: true}, false},
		{"a DLE EOT reply is not ASB", []byte{0x12, 0x00, 0x00, 0x00}, Status{}, true},
		{"bit 4 set in a later byte", []byte{0x10, 0x10, 0x00, 0x00}, Status{}, true},
		{"short", []byte{0x10, 0x00}, Status{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseASB(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseASB(% x) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzParseStatus checks that parsing never panics, accepts exactly the
// bytes with the fixed bits, and that Reply inverts Apply on the bits the
// query defines.
func FuzzParseStatus(f *testing.F) {
	for _, b := range []byte{0x12, 0x1A, 0x72, 0x7E, 0x00, 0xFF} {
		f.Add(byte(4), b, []byte{0x10, 0, 0x0C, 0})
	}
	f.Fuzz(func(t *testing.T, q, b byte, asb []byte) {
		s, err := ParseStatus(Query(q), b)
		valid := IsStatusReply(b) && q >= 1 && q <= 4
		if (err == nil) != valid {
			t.Fatalf("ParseStatus(%d, %#02x) err = %v, valid shape %v", q, b, err, valid)
		}
		if err == nil && Query(q) != QueryPaper && s.Reply(Query(q)) != b&0x6C|0x12 {
			t.Fatalf("Reply(%d) = %#02x, want %#02x", q, s.Reply(Query(q)), b)
		}
		if st, err := ParseASB(asb); err == nil {
			_ = st.Err()
		} else if IsASB(asb) {
			t.Fatalf("IsASB but ParseASB failed: %v", err)
		}
	})
}
