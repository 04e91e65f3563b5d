package camt

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// ISO 20022 messages are UTF-8, but some bank software writes its
// statements in a Latin character set and says so in the XML declaration;
// those are read rather than refused.

// charsetReader converts the single-byte character sets German bank
// software uses to UTF-8 (encoding/xml's Decoder.CharsetReader).
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	var high *[128]rune
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1":
		high = &latin1
	case "iso-8859-15", "iso8859-15", "latin-9", "latin9":
		high = &latin9
	case "windows-1252", "cp1252":
		high = &cp1252
	default:
		return nil, fmt.Errorf("character set %q not supported", label)
	}
	return &singleByteReader{r: bufio.NewReader(input), table: high}, nil
}

type singleByteReader struct {
	r       *bufio.Reader
	table   *[128]rune
	pending []byte
}

func (s *singleByteReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.pending) > 0 {
			c := copy(p[n:], s.pending)
			s.pending, n = s.pending[c:], n+c
			continue
		}
		b, err := s.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b < 0x80 {
			p[n] = b
			n++
			continue
		}
		s.pending = utf8.AppendRune(nil, s.table[b-0x80])
	}
	return n, nil
}

var latin1, latin9, cp1252 = func() (l1, l9, w [128]rune) {
	for i := range l1 {
		l1[i] = rune(0x80 + i)
	}
	l9, w = l1, l1
	for b, r := range map[byte]rune{0xA4: '€', 0xA6: 'Š', 0xA8: 'š', 0xB4: 'Ž', 0xB8: 'ž', 0xBC: 'Œ', 0xBD: 'œ', 0xBE: 'Ÿ'} {
		l9[b-0x80] = r
	}
	for i, r := range []rune("€\ufffd‚ƒ„…†‡ˆ‰Š‹Œ\ufffdŽ\ufffd\ufffd‘’“”•–—˜™š›œ\ufffdžŸ") {
		w[i] = r
	}
	return l1, l9, w
}()
