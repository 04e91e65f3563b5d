package printer

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// Control bytes that start ESC/POS commands.
const (
	ESC = 0x1B
	GS  = 0x1D
	DLE = 0x10
	FS  = 0x1C
	EOT = 0x04
	LF  = 0x0A
	CR  = 0x0D
)

// CodePagePC858 is the ESC t number (Epson numbering) of PC858, the DOS
// Latin-1 page with the euro sign at 0xD5. PC437 and PC850 lack the €.
const CodePagePC858 = 19

// Paper widths in dots for 8 dots/mm heads.
const (
	Paper80mm = 576 // 72 mm printable on 80 mm paper
	Paper58mm = 384 // 48 mm printable on 58 mm paper
)

// Alignment is the ESC a justification.
type Alignment byte

// Alignments accepted by ESC a.
const (
	AlignLeft Alignment = iota
	AlignCenter
	AlignRight
)

// QRMode selects how QR codes are sent to the printer.
type QRMode int

const (
	// QRNative sends the payload with GS ( k and lets the printer draw it.
	QRNative QRMode = iota
	// QRRaster draws the symbol here and sends it as a GS v 0 raster
	// image, for printers and clones without GS ( k support.
	QRRaster
)

// QRLevel is the QR error correction level.
type QRLevel byte

// Error correction levels; the values are the GS ( k fn 169 parameters.
const (
	QRLevelL QRLevel = 48 + iota
	QRLevelM
	QRLevelQ
	QRLevelH
)

// Maximum payload GS ( k fn 180 accepts (pL+pH·256 ≤ 7092, minus 3).
const maxQRData = 7089

// ErrQRTooLong reports a QR payload the symbol or the printer cannot
// hold.
var ErrQRTooLong = errors.New("printer: QR payload too long")

// ErrQRTooLarge reports a QR symbol wider than the paper. It is never
// clipped: a clipped code does not scan.
var ErrQRTooLarge = errors.New("printer: QR code wider than the paper")

// Options configure an Encoder.
type Options struct {
	// PaperWidth is the printable width in dots; zero means Paper80mm,
	// or the profile's width when it sets one. When both are set the
	// smaller wins, so neither the paper nor the head is overrun.
	PaperWidth int
	// QRMode chooses native GS ( k or a raster fallback; a profile
	// without GS ( k always gets the raster.
	QRMode QRMode
	// QRModuleSize is the QR module edge in dots (1–16); zero means 6.
	QRModuleSize int
	// QRLevel is the error correction level; zero means QRLevelM.
	QRLevel QRLevel
	// Profile is the printer model; the zero Profile is DefaultProfile.
	Profile Profile
}

func (o Options) withDefaults() Options {
	o.Profile = o.profile()
	switch w := o.Profile.PaperWidth; {
	case o.PaperWidth <= 0 && w > 0:
		o.PaperWidth = w
	case o.PaperWidth <= 0:
		o.PaperWidth = Paper80mm
	case w > 0:
		o.PaperWidth = min(o.PaperWidth, w)
	}
	if o.Profile.RasterQR {
		o.QRMode = QRRaster
	}
	if o.QRModuleSize <= 0 {
		o.QRModuleSize = 6
	}
	if o.QRModuleSize > 16 {
		o.QRModuleSize = 16
	}
	if o.QRLevel < QRLevelL || o.QRLevel > QRLevelH {
		o.QRLevel = QRLevelM
	}
	return o
}

// Encoder appends ESC/POS commands to a buffer. Methods return the Encoder
// so calls chain; the first failure is kept and reported by Bytes, so a
// receipt is composed without an error check per line.
type Encoder struct {
	opts      Options
	buf       []byte
	lineStart bool
	err       error
	// align and bold mirror the printer state for text drawn as images.
	align  Alignment
	bold   bool
	height int // GS ! height multiplier
	lang   string
	imager *textImager
}

// NewEncoder returns an Encoder with an empty buffer.
func NewEncoder(opts Options) *Encoder {
	return &Encoder{opts: opts.withDefaults(), lineStart: true}
}

// Bytes returns the commands so far, or the first error met.
func (e *Encoder) Bytes() ([]byte, error) {
	if e.err != nil {
		return nil, e.err
	}
	return e.buf, nil
}

// Raw appends bytes unchanged, for commands this type does not cover.
func (e *Encoder) Raw(b ...byte) *Encoder {
	e.buf = append(e.buf, b...)
	return e
}

// Init resets the printer (ESC @), cancels Kanji mode (FS .) and
// selects PC858 with the profile's ESC t number. ESC @ falls back to the
// power-on code page, and printers sold for Chinese or Japanese markets
// power on in a double-byte mode that ESC @ keeps: without FS . they
// would pair each umlaut byte with the next byte into one glyph.
func (e *Encoder) Init() *Encoder {
	e.buf = append(e.buf, ESC, '@', FS, '.', ESC, 't', e.opts.Profile.CodePage)
	e.lineStart = true
	e.align, e.bold, e.height = AlignLeft, false, 1
	return e
}

// Align sets the justification (ESC a). Printers honour ESC a only at the
// start of a line, so a pending partial line is ended first.
func (e *Encoder) Align(a Alignment) *Encoder {
	if !e.lineStart {
		e.LF()
	}
	e.buf = append(e.buf, ESC, 'a', byte(a))
	e.align = a
	return e
}

// Bold switches emphasis (ESC E).
func (e *Encoder) Bold(on bool) *Encoder {
	e.buf = append(e.buf, ESC, 'E', boolByte(on))
	e.bold = on
	return e
}

// Size sets the character magnification (GS !): width and height are
// multipliers 1–8, clamped.
func (e *Encoder) Size(width, height int) *Encoder {
	width, height = clamp(width, 1, 8), clamp(height, 1, 8)
	e.buf = append(e.buf, GS, '!', byte((width-1)<<4|(height-1)))
	e.height = height
	return e
}

// Text appends s in PC858. A newline ends the line; other control
// characters become spaces so text can never smuggle in a command.
// Typographic dashes, quotes and ellipses become their ASCII forms, and
// other runes PC858 lacks print as '?'.
func (e *Encoder) Text(s string) *Encoder {
	for _, r := range s {
		if r == '\n' {
			e.LF()
			continue
		}
		if alt, ok := typographic[r]; ok {
			e.buf = append(e.buf, alt...)
		} else {
			e.buf = append(e.buf, encodeRune(r))
		}
		e.lineStart = false
	}
	return e
}

// Line appends s and ends the line.
func (e *Encoder) Line(s string) *Encoder {
	return e.Text(s).LF()
}

// Lang sets the language (BCP 47) of text that PrintLine draws as an
// image: it picks right-to-left layout and language-specific shaping.
func (e *Encoder) Lang(tag string) *Encoder {
	if tag != e.lang {
		e.lang, e.imager = tag, nil
	}
	return e
}

// PrintLine prints s as a line of printer text when PC858 holds every
// character, as Line does. Otherwise it draws s here (shaped, in
// bidirectional order, wrapped at the paper width) and sends it as GS v 0
// images placed by the current alignment, bold and height setting: Cyrillic,
// Arabic or Turkish ğ ş ı İ then print instead of '?'.
func (e *Encoder) PrintLine(s string) *Encoder {
	if PC858Holds(s) {
		return e.Line(s)
	}
	if !e.lineStart {
		e.LF()
	}
	if e.imager == nil {
		im, err := newTextImager(e.lang)
		if err != nil {
			e.fail(err)
			return e
		}
		e.imager = im
	}
	for _, para := range strings.Split(s, "\n") {
		para = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7F {
				return ' '
			}
			return r
		}, para)
		imgs := e.imager.lines(para, e.opts.PaperWidth, e.align, e.bold, e.height)
		if len(imgs) == 0 {
			e.LF()
		}
		for _, img := range imgs {
			e.Raster(cropToInk(img, e.align))
		}
	}
	return e
}

// PC858Holds reports whether Text prints s without substitutes: every
// rune is in PC858, has an ASCII stand-in (dashes, quotes) or is a
// control character (printed as a space).
func PC858Holds(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7F {
			continue
		}
		if _, ok := typographic[r]; ok {
			continue
		}
		if b, ok := charmap.CodePage858.EncodeRune(r); !ok || b < 0x20 {
			return false
		}
	}
	return true
}

// LF ends the line and advances the paper by one line.
func (e *Encoder) LF() *Encoder {
	e.buf = append(e.buf, LF)
	e.lineStart = true
	return e
}

// Feed prints the buffer and feeds n lines (ESC d).
func (e *Encoder) Feed(n int) *Encoder {
	e.buf = append(e.buf, ESC, 'd', byte(clamp(n, 0, 255)))
	e.lineStart = true
	return e
}

// Cut feeds n dots so the last line clears the cutter, then cuts partially
// (GS V 66 n): a partial cut leaves a hinge so the ticket does not fall.
func (e *Encoder) Cut(feed int) *Encoder {
	if !e.lineStart {
		e.LF()
	}
	e.buf = append(e.buf, GS, 'V', 66, byte(clamp(feed, 0, 255)))
	e.lineStart = true
	return e
}

// QR prints payload as a QR code, natively or as a raster depending on
// the encoder's QRMode, on a line of its own.
func (e *Encoder) QR(payload string) *Encoder {
	if !e.lineStart {
		e.LF()
	}
	if err := checkQRPayload(payload, e.opts.QRLevel); err != nil {
		e.fail(err)
		return e
	}
	modules, err := qrModules([]byte(payload), e.opts.QRLevel)
	if err != nil {
		e.fail(fmt.Errorf("printer: encode QR: %w", err))
		return e
	}
	if size := len(modules) * e.opts.QRModuleSize; size > e.opts.PaperWidth {
		e.fail(fmt.Errorf("%w: %d modules × %d dots = %d dots, paper %d dots",
			ErrQRTooLarge, len(modules), e.opts.QRModuleSize, size, e.opts.PaperWidth))
		return e
	}
	if e.opts.QRMode == QRRaster {
		return e.Raster(scaleModules(modules, e.opts.QRModuleSize))
	}
	n := len(payload) + 3
	e.buf = append(e.buf,
		GS, '(', 'k', 4, 0, 0x31, 65, 50, 0, // fn 165: model 2
		GS, '(', 'k', 3, 0, 0x31, 67, byte(e.opts.QRModuleSize), // fn 167: module size
		GS, '(', 'k', 3, 0, 0x31, 69, byte(e.opts.QRLevel), // fn 169: error correction
		GS, '(', 'k', byte(n), byte(n>>8), 0x31, 80, 48, // fn 180: store
	)
	e.buf = append(e.buf, payload...)
	e.buf = append(e.buf, GS, '(', 'k', 3, 0, 0x31, 81, 48) // fn 181: print
	e.lineStart = true
	return e
}

// rasterBand is the number of dot rows sent per GS v 0 command: small
// bands keep each command inside printers' receive buffers.
const rasterBand = 128

// Raster prints img as a monochrome bit image (GS v 0), dark pixels black,
// clipped to the paper width and sent in bands.
func (e *Encoder) Raster(img image.Image) *Encoder {
	if !e.lineStart {
		e.LF()
	}
	b := img.Bounds()
	w := min(b.Dx(), e.opts.PaperWidth)
	if w <= 0 || b.Dy() <= 0 {
		return e
	}
	rowBytes := (w + 7) / 8
	for y0 := 0; y0 < b.Dy(); y0 += rasterBand {
		h := min(rasterBand, b.Dy()-y0)
		e.buf = append(e.buf, GS, 'v', '0', 0,
			byte(rowBytes), byte(rowBytes>>8), byte(h), byte(h>>8))
		for y := y0; y < y0+h; y++ {
			row := make([]byte, rowBytes)
			for x := 0; x < w; x++ {
				if isDark(img.At(b.Min.X+x, b.Min.Y+y)) {
					row[x/8] |= 0x80 >> (x % 8)
				}
			}
			e.buf = append(e.buf, row...)
		}
	}
	e.lineStart = true
	return e
}

func (e *Encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// typographic maps punctuation that editors and translators like to use,
// and PC858 lacks, to ASCII.
var typographic = map[rune]string{
	'–': "-", '—': "-", '‒': "-", '−': "-",
	'„': "\"", '“': "\"", '”': "\"", '‚': "'", '‘': "'", '’': "'",
	'…': "...", '\u00a0': " ", '\u202f': " ",
}

// encodeRune maps r to its PC858 byte.
func encodeRune(r rune) byte {
	if r < 0x20 || r == 0x7F {
		return ' '
	}
	if b, ok := charmap.CodePage858.EncodeRune(r); ok && b >= 0x20 {
		return b
	}
	return '?'
}

func isDark(c color.Color) bool {
	g := color.GrayModel.Convert(c).(color.Gray)
	_, _, _, a := c.RGBA()
	return a > 0x7FFF && g.Y < 0x80
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}
