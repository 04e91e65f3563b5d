package printer

import (
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// The printer model the parser assumes: font A of 12×24 dots and the
// default line spacing of ESC 2 (1/6 inch, 30 dots at 180 dpi).
const (
	charWidth          = 12
	charHeight         = 24
	defaultLineSpacing = 30
)

// style is the character formatting in effect for a run of text.
type style struct {
	bold      bool
	underline bool
	w, h      int // GS ! multipliers, 1–8
}

// run is text printed in one style.
type run struct {
	text  string
	style style
}

type blockKind int

const (
	blockLine   blockKind = iota // a printed text line (possibly empty)
	blockFeed                    // paper feed without printing
	blockQR                      // a native QR symbol
	blockRaster                  // a GS v 0 bit image
	blockCut                     // the cutter
)

// block is one printed element in paper order: what both Decode and the
// renderer need, so the byte stream is interpreted in one place.
type block struct {
	kind    blockKind
	align   Alignment
	runs    []run // blockLine
	spacing int   // blockLine: line spacing in dots; blockFeed: dots
	qr      []byte
	module  int
	level   QRLevel
	raster  *bitImage
}

// bitImage is a GS v 0 image: rows of packed bits, MSB leftmost.
type bitImage struct {
	rowBytes, rows int
	bits           []byte
	scaleX, scaleY int
}

func (b *bitImage) at(x, y int) bool {
	return b.bits[y*b.rowBytes+x/8]&(0x80>>(x%8)) != 0
}

// parser holds the printer state while walking a command stream.
type parser struct {
	blocks      []block
	style       style
	align       Alignment
	lineAlign   Alignment
	spacing     int
	codePage    *charmap.Charmap
	line        []run
	text        strings.Builder // text of the current run
	lineStarted bool
	qrData      []byte
	qrModule    int
	qrLevel     QRLevel
	// kanji is the double-byte character mode (FS &, cancelled by FS .).
	// ESC @ keeps it, as on printers that power on in it; kanjiLead is
	// set while the first byte of a pair waits for its second.
	kanji, kanjiLead bool
	// pc858 is the ESC t number that selects PC858 on the model.
	pc858 byte
}

func newParser(profile Profile) *parser {
	if profile.Name == "" {
		profile = DefaultProfile
	}
	p := &parser{pc858: profile.CodePage}
	p.reset()
	return p
}

// reset is ESC @: formatting, alignment, code page and QR store return to
// their power-on values; buffered text is discarded.
func (p *parser) reset() {
	p.style = style{w: 1, h: 1}
	p.align, p.lineAlign = AlignLeft, AlignLeft
	p.spacing = defaultLineSpacing
	p.codePage = charmap.CodePage437
	p.line, p.lineStarted = nil, false
	p.text.Reset()
	p.qrData, p.qrModule, p.qrLevel = nil, 3, QRLevelL
}

// parse interprets data as a printer of the given profile would; a
// command cut off at the end is ignored.
func parse(data []byte, profile Profile) []block {
	p := newParser(profile)
	for len(data) > 0 {
		n := CommandLen(data)
		if n == 0 {
			break
		}
		p.command(data[:n])
		data = data[n:]
	}
	p.endLine(false)
	return p.blocks
}

func (p *parser) command(c []byte) {
	if len(c) == 1 {
		p.byte1(c[0])
		return
	}
	p.kanjiLead = false
	switch c[0] {
	case ESC:
		p.esc(c)
	case GS:
		p.gs(c)
	case FS:
		switch c[1] {
		case '&':
			p.kanji = true
		case '.':
			p.kanji = false
		}
	}
	// DLE commands do not change what is printed.
}

func (p *parser) byte1(b byte) {
	if p.kanjiLead {
		// The pair prints as one double-byte glyph, which is not the
		// text that was meant: show it as a replacement character.
		p.kanjiLead = false
		p.char('\uFFFD')
		return
	}
	switch {
	case p.kanji && b >= 0x80:
		p.kanjiLead = true
	case b == LF:
		p.endLine(true)
	case b == '\t':
		p.char(' ')
	case b < 0x20 || b == 0x7F:
		// CR and other control bytes print nothing on thermal printers.
	default:
		p.char(p.codePage.DecodeByte(b))
	}
}

func (p *parser) char(r rune) {
	if !p.lineStarted {
		p.lineStarted = true
		p.lineAlign = p.align
	}
	p.text.WriteRune(r)
}

// setStyle starts a new run when the formatting changes.
func (p *parser) setStyle(s style) {
	if s == p.style {
		return
	}
	p.flushRun()
	p.style = s
}

func (p *parser) flushRun() {
	if p.text.Len() > 0 {
		p.line = append(p.line, run{text: p.text.String(), style: p.style})
		p.text.Reset()
	}
}

// endLine prints the buffered line. With force an empty line is printed
// too (a bare LF feeds one line).
func (p *parser) endLine(force bool) {
	p.flushRun()
	if !force && !p.lineStarted {
		return
	}
	align := p.align
	if p.lineStarted {
		align = p.lineAlign
	}
	p.blocks = append(p.blocks, block{kind: blockLine, align: align, runs: p.line, spacing: p.spacing})
	p.line, p.lineStarted = nil, false
}

func (p *parser) esc(c []byte) {
	arg := func(i int) byte {
		if i < len(c) {
			return c[i]
		}
		return 0
	}
	s := p.style
	switch c[1] {
	case '@':
		p.endLine(false)
		p.reset()
	case '!':
		n := arg(2)
		s.bold = n&0x08 != 0
		s.h = 1 + int(n>>4&1)
		s.w = 1 + int(n>>5&1)
		s.underline = n&0x80 != 0
		p.setStyle(s)
	case 'E':
		s.bold = arg(2)&1 != 0
		p.setStyle(s)
	case '-':
		s.underline = arg(2)&3 != 0 && arg(2) != '0'
		p.setStyle(s)
	case 'a':
		// Honoured only at the start of a line, as on the printer.
		if !p.lineStarted {
			p.align = Alignment(arg(2) % 3)
			if a := arg(2); a >= '0' && a <= '2' {
				p.align = Alignment(a - '0')
			}
		}
	case 't':
		p.flushRun()
		p.codePage = codePage(arg(2))
		if arg(2) == p.pc858 {
			p.codePage = charmap.CodePage858
		}
	case '2':
		p.spacing = defaultLineSpacing
	case '3':
		p.spacing = int(arg(2))
	case 'd':
		p.endLine(false)
		if n := int(arg(2)); n > 0 {
			p.blocks = append(p.blocks, block{kind: blockFeed, spacing: n * p.spacing})
		}
	case 'J':
		p.endLine(false)
		p.blocks = append(p.blocks, block{kind: blockFeed, spacing: int(arg(2))})
	}
}

func (p *parser) gs(c []byte) {
	switch c[1] {
	case '!':
		n := c[2]
		s := p.style
		s.w, s.h = 1+int(n>>4&7), 1+int(n&7)
		p.setStyle(s)
	case 'V':
		p.endLine(false)
		if len(c) == 4 && c[3] > 0 {
			p.blocks = append(p.blocks, block{kind: blockFeed, spacing: int(c[3])})
		}
		p.blocks = append(p.blocks, block{kind: blockCut})
	case 'v':
		p.endLine(false)
		img := &bitImage{
			rowBytes: int(c[4]) | int(c[5])<<8,
			rows:     int(c[6]) | int(c[7])<<8,
			bits:     c[8:],
			scaleX:   1 + int(c[3]&1),
			scaleY:   1 + int(c[3]>>1&1),
		}
		if img.rowBytes > 0 && img.rows > 0 {
			p.blocks = append(p.blocks, block{kind: blockRaster, align: p.align, raster: img})
		}
	case '(':
		if c[2] == 'k' {
			p.qrCommand(c[5:])
		}
	}
}

// qrCommand handles GS ( k with cn = 49 (QR Code); body starts at cn.
func (p *parser) qrCommand(body []byte) {
	if len(body) < 3 || body[0] != 0x31 {
		return
	}
	switch body[1] {
	case 67: // fn 167: module size
		if n := int(body[2]); n >= 1 && n <= 16 {
			p.qrModule = n
		}
	case 69: // fn 169: error correction
		if l := QRLevel(body[2]); l >= QRLevelL && l <= QRLevelH {
			p.qrLevel = l
		}
	case 80: // fn 180: store
		p.qrData = append([]byte(nil), body[3:]...)
	case 81: // fn 181: print
		p.endLine(false)
		if len(p.qrData) > 0 {
			p.blocks = append(p.blocks, block{kind: blockQR, align: p.align, qr: p.qrData, module: p.qrModule, level: p.qrLevel})
		}
	}
}

// codePage maps an ESC t number (Epson numbering) to a character table;
// the profile's own number for PC858 takes precedence over it.
func codePage(n byte) *charmap.Charmap {
	switch n {
	case 2:
		return charmap.CodePage850
	case 16:
		return charmap.Windows1252
	case 17:
		return charmap.CodePage866
	case 18:
		return charmap.CodePage852
	case CodePagePC858:
		return charmap.CodePage858
	default:
		return charmap.CodePage437
	}
}
