package printer

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"sync"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// RenderOptions configure the preview renderer.
type RenderOptions struct {
	// PaperWidth is the printable width in dots; zero means Paper80mm.
	PaperWidth int
	// Profile is the printer model, for its ESC t number of PC858; the
	// zero Profile is DefaultProfile (Epson numbering).
	Profile Profile
	// MaxHeight caps the image height in dots so a stream of feeds cannot
	// exhaust memory; zero means 20000 (2.5 m of paper at 8 dots/mm).
	MaxHeight int
}

// Vertical margin above and below the printed area, in dots.
const renderMargin = 16

var palette = color.Palette{color.White, color.Black}

// fonts holds the parsed Go Mono faces. Parsed fonts are safe to share;
// the faces made from them are not, so each render makes its own.
var fonts = sync.OnceValues(func() ([2]*opentype.Font, error) {
	var fs [2]*opentype.Font
	for i, ttf := range [][]byte{gomono.TTF, gomonobold.TTF} {
		f, err := opentype.Parse(ttf)
		if err != nil {
			return fs, fmt.Errorf("printer: parse font: %w", err)
		}
		fs[i] = f
	}
	return fs, nil
})

// Render draws what the printer would print for data: text in a
// monospaced font sized like font A (12×24 dots) and scaled for GS !,
// bold, alignment, QR codes (re-encoded from the stored payload), raster
// images, and cuts as dashed lines. It never panics on malformed input:
// unknown commands are skipped.
func Render(data []byte, opts RenderOptions) image.Image {
	return newRenderer(opts).render(parse(data, opts.Profile))
}

// RenderReceipts draws each receipt (split after every cut) separately,
// in the order Decode returns them.
func RenderReceipts(data []byte, opts RenderOptions) []image.Image {
	var out []image.Image
	r := newRenderer(opts)
	var cur []block
	printed := false
	for _, b := range parse(data, opts.Profile) {
		cur = append(cur, b)
		switch b.kind {
		case blockCut:
			out = append(out, r.render(cur))
			cur, printed = nil, false
		case blockFeed:
		case blockLine:
			printed = printed || hasText(b.runs)
		default:
			printed = true
		}
	}
	if printed {
		out = append(out, r.render(cur))
	}
	return out
}

// WritePNG renders data and writes it as a PNG.
func WritePNG(w io.Writer, data []byte, opts RenderOptions) error {
	if err := png.Encode(w, Render(data, opts)); err != nil {
		return fmt.Errorf("printer: write PNG: %w", err)
	}
	return nil
}

func hasText(runs []run) bool {
	for _, r := range runs {
		for _, c := range r.text {
			if c != ' ' {
				return true
			}
		}
	}
	return false
}

type faceKey struct {
	bold bool
	h    int
}

type renderer struct {
	width, maxHeight int
	faces            map[faceKey]font.Face
	glyphs           map[glyph]*image.Alpha
	qrCache          map[string][][]bool
}

func newRenderer(opts RenderOptions) *renderer {
	if opts.PaperWidth <= 0 {
		opts.PaperWidth = Paper80mm
	}
	if opts.MaxHeight <= 0 {
		opts.MaxHeight = 20000
	}
	return &renderer{
		width: opts.PaperWidth, maxHeight: opts.MaxHeight,
		faces: map[faceKey]font.Face{}, glyphs: map[glyph]*image.Alpha{},
		qrCache: map[string][][]bool{},
	}
}

// item is a laid-out block: its height and how to draw it at y.
type item struct {
	height int
	draw   func(dst *image.Paletted, y int)
}

func (r *renderer) render(blocks []block) image.Image {
	var items []item
	total := 2 * renderMargin
	for _, b := range blocks {
		for _, it := range r.layout(b) {
			if total+it.height > r.maxHeight {
				break
			}
			items = append(items, it)
			total += it.height
		}
	}
	dst := image.NewPaletted(image.Rect(0, 0, r.width, total), palette)
	y := renderMargin
	for _, it := range items {
		if it.draw != nil {
			it.draw(dst, y)
		}
		y += it.height
	}
	return dst
}

func (r *renderer) layout(b block) []item {
	switch b.kind {
	case blockLine:
		return r.layoutLine(b)
	case blockFeed:
		return []item{{height: b.spacing}}
	case blockQR:
		return []item{r.layoutQR(b)}
	case blockRaster:
		return []item{r.layoutRaster(b)}
	case blockCut:
		return []item{{height: 24, draw: func(dst *image.Paletted, y int) {
			for x := 0; x < r.width; x++ {
				if x%16 < 10 {
					dst.SetColorIndex(x, y+12, 1)
				}
			}
		}}}
	}
	return nil
}

// glyph is one character cell placed on a visual line.
type glyph struct {
	r     rune
	style style
}

// layoutLine wraps a text line at the paper width, as printers do, and
// bottom-aligns characters of different heights.
func (r *renderer) layoutLine(b block) []item {
	var rows [][]glyph
	var row []glyph
	x := 0
	for _, rn := range b.runs {
		for _, c := range rn.text {
			w := charWidth * rn.style.w
			if x+w > r.width && len(row) > 0 {
				rows, row, x = append(rows, row), nil, 0
			}
			row = append(row, glyph{c, rn.style})
			x += w
		}
	}
	rows = append(rows, row)
	items := make([]item, 0, len(rows))
	for _, row := range rows {
		width, tall := 0, charHeight
		for _, g := range row {
			width += charWidth * g.style.w
			tall = max(tall, charHeight*g.style.h)
		}
		height := max(b.spacing, tall)
		x0 := offset(b.align, width, r.width)
		items = append(items, item{height: height, draw: func(dst *image.Paletted, y int) {
			x := x0
			for _, g := range row {
				top := y + tall - charHeight*g.style.h
				r.drawGlyph(dst, x, top, g)
				x += charWidth * g.style.w
			}
		}})
	}
	return items
}

// drawGlyph draws one character cell with its top-left corner at (x, y).
func (r *renderer) drawGlyph(dst *image.Paletted, x, y int, g glyph) {
	mask, ok := r.glyphs[g]
	if !ok {
		mask = r.glyphMask(g)
		r.glyphs[g] = mask
	}
	b := mask.Bounds()
	for py := 0; py < b.Dy(); py++ {
		for px := 0; px < b.Dx(); px++ {
			if mask.Pix[py*mask.Stride+px] >= 0x80 && image.Pt(x+px, y+py).In(dst.Rect) {
				dst.SetColorIndex(x+px, y+py, 1)
			}
		}
	}
}

// glyphMask draws a character cell at the cell height and stretches it
// horizontally when width and height multipliers differ. The caller
// thresholds the mask, which keeps the 1-bit look of thermal paper.
func (r *renderer) glyphMask(g glyph) *image.Alpha {
	face := r.face(g.style.bold, g.style.h)
	cw, ch := charWidth*g.style.h, charHeight*g.style.h
	cell := image.NewAlpha(image.Rect(0, 0, cw, ch))
	if face != nil && g.r != ' ' {
		d := font.Drawer{Dst: cell, Src: image.Opaque, Face: face}
		m := face.Metrics()
		// Centre ascent+descent in the cell.
		pad := (fixed.I(ch) - m.Ascent - m.Descent) / 2
		d.Dot = fixed.Point26_6{X: (fixed.I(cw) - d.MeasureString(string(g.r))) / 2, Y: pad + m.Ascent}
		d.DrawString(string(g.r))
	}
	if g.style.underline {
		for uy := ch - 2*g.style.h; uy < ch; uy++ {
			for ux := 0; ux < cw; ux++ {
				cell.SetAlpha(ux, uy, color.Alpha{A: 0xFF})
			}
		}
	}
	if g.style.w == g.style.h {
		return cell
	}
	wide := image.NewAlpha(image.Rect(0, 0, charWidth*g.style.w, ch))
	draw.ApproxBiLinear.Scale(wide, wide.Bounds(), cell, cell.Bounds(), draw.Src, nil)
	return wide
}

// face returns the font face for a cell of height multiplier h, or nil
// if the embedded fonts fail to load.
func (r *renderer) face(bold bool, h int) font.Face {
	k := faceKey{bold, h}
	if f, ok := r.faces[k]; ok {
		return f
	}
	fs, err := fonts()
	if err != nil {
		return nil
	}
	i := 0
	if bold {
		i = 1
	}
	// Go Mono advances 0.6 em, so 20 px gives the 12-dot cell of font A.
	f, err := opentype.NewFace(fs[i], &opentype.FaceOptions{Size: float64(20 * h), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil
	}
	r.faces[k] = f
	return f
}

func (r *renderer) layoutQR(b block) item {
	key := fmt.Sprintf("%d:%s", b.level, b.qr)
	bm, ok := r.qrCache[key]
	if !ok {
		bm, _ = qrModules(b.qr, b.level)
		r.qrCache[key] = bm
	}
	if bm == nil {
		// The payload is not encodable; the printer would print nothing.
		return item{}
	}
	size := len(bm) * b.module
	x0 := offset(b.align, size, r.width)
	return item{height: size, draw: func(dst *image.Paletted, y int) {
		for my, row := range bm {
			for mx, on := range row {
				if on {
					fillRect(dst, x0+mx*b.module, y+my*b.module, b.module, b.module)
				}
			}
		}
	}}
}

func (r *renderer) layoutRaster(b block) item {
	img := b.raster
	// Rows whose data was cut short are not printed.
	rows := min(img.rows, len(img.bits)/img.rowBytes)
	w := img.rowBytes * 8 * img.scaleX
	x0 := offset(b.align, w, r.width)
	return item{height: rows * img.scaleY, draw: func(dst *image.Paletted, y int) {
		for py := 0; py < rows; py++ {
			for px := 0; px < img.rowBytes*8; px++ {
				if img.at(px, py) {
					fillRect(dst, x0+px*img.scaleX, y+py*img.scaleY, img.scaleX, img.scaleY)
				}
			}
		}
	}}
}

// offset returns the left edge of something w dots wide under alignment
// a; content wider than the paper starts at the left edge.
func offset(a Alignment, w, paper int) int {
	if w >= paper {
		return 0
	}
	switch a {
	case AlignCenter:
		return (paper - w) / 2
	case AlignRight:
		return paper - w
	}
	return 0
}

func fillRect(dst *image.Paletted, x, y, w, h int) {
	r := image.Rect(x, y, x+w, y+h).Intersect(dst.Rect)
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			dst.SetColorIndex(px, py, 1)
		}
	}
}
