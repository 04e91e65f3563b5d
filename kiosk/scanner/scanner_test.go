package scanner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func texts(cs []Code) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Text)
	}
	return out
}

func TestSplitter(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		chunks []string
		want   []string
		sym    []string
	}{
		{"CR", Config{}, []string{"ABC\r"}, []string{"ABC"}, nil},
		{"LF", Config{}, []string{"ABC\n"}, []string{"ABC"}, nil},
		{"CRLF yields one code", Config{}, []string{"ABC\r\nDEF\r\n"}, []string{"ABC", "DEF"}, nil},
		{"fragments", Config{}, []string{"A", "B", "C\r", "\nD", "EF", "\r"}, []string{"ABC", "DEF"}, nil},
		{"no terminator yet", Config{}, []string{"ABC"}, nil, nil},
		{"custom suffix", Config{Suffix: "\t"}, []string{"ABC\tDEF\t"}, []string{"ABC", "DEF"}, nil},
		{"multi-byte suffix across reads", Config{Suffix: "#END"}, []string{"ABC#E", "N", "D"}, []string{"ABC"}, nil},
		{"AIM prefix", Config{AIM: true}, []string{"]Q1https://x/y\r"}, []string{"https://x/y"}, []string{"Q1"}},
		{"AIM off keeps prefix", Config{}, []string{"]Q1abc\r"}, []string{"]Q1abc"}, nil},
		{"noise bytes dropped", Config{}, []string{"\x00A\x1bB\x7fC\r"}, []string{"ABC"}, nil},
		{"empty lines ignored", Config{}, []string{"\r\r\n\n\x00\r"}, nil, nil},
		{"invalid UTF-8 is noise", Config{}, []string{"\xff\xfe\r", "OK\r"}, []string{"OK"}, nil},
		{"umlauts in UTF-8", Config{}, []string{"Grüße\r"}, []string{"Grüße"}, nil},
		{"overlong dropped, next kept", Config{MaxLen: 4}, []string{"TOOLONG", "X\rOK\r"}, []string{"OK"}, nil},
		{"overlong then suffix straddling", Config{MaxLen: 3, Suffix: "##"}, []string{"ABCDEFG#", "#HI##"}, []string{"HI"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSplitter(tt.cfg)
			var got []Code
			for _, c := range tt.chunks {
				got = append(got, s.Push([]byte(c))...)
			}
			if !slices.Equal(texts(got), tt.want) {
				t.Errorf("codes = %q, want %q", texts(got), tt.want)
			}
			for i, sym := range tt.sym {
				if got[i].Symbology != sym {
					t.Errorf("code %d symbology = %q, want %q", i, got[i].Symbology, sym)
				}
			}
		})
	}
}

// fakeClock is a manually advanced clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// stepReader returns one chunk per Read and advances the clock by step
// before each, then io.EOF.
type stepReader struct {
	chunks []string
	clock  *fakeClock
	step   time.Duration
}

func (r *stepReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	r.clock.t = r.clock.t.Add(r.step)
	n := copy(p, r.chunks[0])
	r.chunks = r.chunks[1:]
	return n, nil
}

func TestReaderDebounce(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
	tests := []struct {
		name string
		step time.Duration
		want []string
	}{
		// A code held under the scanner repeats every 500 ms: one scan.
		{"repeats within window", 500 * time.Millisecond, []string{"A", "B", "A"}},
		// The same code shown again after the window counts again.
		{"repeats after window", 3 * time.Second, []string{"A", "A", "A", "B", "A"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &stepReader{chunks: []string{"A\r", "A\r", "A\r", "B\r", "A\r"}, clock: clock, step: tt.step}
			r := NewReader(src, Config{Debounce: 2 * time.Second, Now: clock.now})
			var got []string
			for {
				c, err := r.Next(context.Background())
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, c.Text)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("codes = %q, want %q", got, tt.want)
			}
		})
	}
}

// flakyReader fails once mid-code with a transient error.
type flakyReader struct{ step int }

var errGone = errors.New("gone")

func (r *flakyReader) Read(p []byte) (int, error) {
	r.step++
	switch r.step {
	case 1:
		return copy(p, "HALF"), nil
	case 2:
		return 0, errGone
	case 3:
		return 0, nil // a read timeout
	case 4:
		return copy(p, "WHOLE\r"), nil
	}
	return 0, io.EOF
}

func TestReaderTransientErrorDropsPartialCode(t *testing.T) {
	r := NewReader(&flakyReader{}, Config{Transient: func(err error) bool { return errors.Is(err, errGone) }})
	c, err := r.Next(context.Background())
	if err != nil || c.Text != "WHOLE" {
		t.Fatalf("Next = %q, %v; want WHOLE", c.Text, err)
	}
	if _, err := r.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("err = %v, want EOF", err)
	}
}

func TestReaderContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := NewReader(strings.NewReader(""), Config{})
	if _, err := r.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want Canceled", err)
	}
}

// FuzzScannerLines checks that framing does not depend on how the bytes
// are split into reads, and that every code is clean.
func FuzzScannerLines(f *testing.F) {
	f.Add([]byte("ABC\r\nDEF\r]Q1XYZ\n"), uint8(3), "")
	f.Add([]byte("A#END#ENDB#E#END"), uint8(1), "#END")
	f.Add([]byte("\x00\xff\r\n\r"), uint8(2), "\t")
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, suffix string) {
		cfg := Config{Suffix: suffix, AIM: true, MaxLen: 16}
		whole := NewSplitter(cfg).Push(data)
		s := NewSplitter(cfg)
		var pieces []Code
		size := int(chunk%16) + 1
		for i := 0; i < len(data); i += size {
			pieces = append(pieces, s.Push(data[i:min(i+size, len(data))])...)
		}
		if !slices.Equal(whole, pieces) {
			t.Fatalf("split into %d-byte reads: %q, whole: %q", size, texts(pieces), texts(whole))
		}
		for _, c := range whole {
			if c.Text == "" || len(c.Text) > 16 || !utf8.ValidString(c.Text) {
				t.Fatalf("bad code %q", c.Text)
			}
			if bytes.ContainsAny([]byte(c.Text), "\r\n\x00") {
				t.Fatalf("code %q contains control bytes", c.Text)
			}
		}
	})
}
