package printer

import (
	"bytes"
	_ "embed"
	"fmt"
	"image"
	"math"
	"sort"
	"sync"

	"github.com/go-text/typesetting/di"
	"github.com/go-text/typesetting/font"
	ot "github.com/go-text/typesetting/font/opentype"
	"github.com/go-text/typesetting/language"
	"github.com/go-text/typesetting/shaping"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
	xlanguage "golang.org/x/text/language"
)

// dejaVuSans covers Latin (with Turkish), Cyrillic and Arabic with the
// OpenType tables Arabic shaping needs, in one file, so a ticket needs no
// font fallback. Licence: fonts/LICENSE (Bitstream Vera, redistributable).
//
//go:embed fonts/DejaVuSans.ttf
var dejaVuSans []byte

// textFont is the parsed font. A font.Font is safe to share; the Faces
// made from it are not, so each textImager makes its own.
var textFont = sync.OnceValues(func() (*font.Font, error) {
	face, err := font.ParseTTF(bytes.NewReader(dejaVuSans))
	if err != nil {
		return nil, fmt.Errorf("printer: parse embedded font: %w", err)
	}
	return face.Font, nil
})

// textPixelSize is the em size of raster text in dots. DejaVu Sans at 24
// dots has capitals about as tall as font A's (12×24 cell), so raster
// and printer text lines look alike.
const textPixelSize = 24

// textImager draws text the printer's code page cannot hold as 1-bit
// images for GS v 0: shaped with HarfBuzz (Arabic joining, marks),
// ordered by the Unicode bidirectional algorithm and wrapped at the
// paper width. It is not safe for concurrent use.
type textImager struct {
	face    *font.Face
	lang    language.Language
	dir     di.Direction
	shaper  shaping.HarfbuzzShaper
	seg     shaping.Segmenter
	wrapper shaping.LineWrapper
}

func newTextImager(lang string) (*textImager, error) {
	f, err := textFont()
	if err != nil {
		return nil, err
	}
	t := &textImager{face: font.NewFace(f), dir: di.DirectionLTR}
	if lang != "" {
		t.lang = language.NewLanguage(lang)
	}
	if isRTL(lang) {
		t.dir = di.DirectionRTL
	}
	return t, nil
}

// isRTL reports whether lang (BCP 47) is written right to left, judged by
// its script: "ar", "fa", "he", "ur" and tags like "az-Arab". Tags that do
// not parse are taken as left to right.
func isRTL(lang string) bool {
	if lang == "" {
		return false
	}
	tag, err := xlanguage.Parse(lang)
	if err != nil {
		return false
	}
	s, _ := tag.Script()
	switch s.String() {
	case "Arab", "Hebr", "Syrc", "Thaa", "Nkoo", "Adlm", "Rohg", "Mand", "Samr":
		return true
	}
	return false
}

// fontmap hands the one embedded face to the segmenter.
type fontmap struct{ face *font.Face }

func (m fontmap) ResolveFace(rune) *font.Face { return m.face }

// lines draws s as one image per printed line, each width dots wide with
// the text placed by align. bold thickens the strokes by one dot per
// magnification; mag is the GS ! height multiplier in effect (1–8).
func (t *textImager) lines(s string, width int, align Alignment, bold bool, mag int) []*image.Gray {
	text := []rune(s)
	if len(text) == 0 {
		return nil
	}
	mag = clamp(mag, 1, 8)
	px := textPixelSize * mag
	thick := 0
	if bold {
		thick = mag
	}
	wrapped := t.wrap(text, width-thick, px)

	ext, _ := t.face.FontHExtents()
	scale := float32(px) / float32(t.face.Upem())
	ascent := int(math.Ceil(float64(ext.Ascender * scale)))
	descent := int(math.Ceil(float64(-ext.Descender * scale)))
	height := max(defaultLineSpacing*mag, ascent+descent)
	baseline := (height-ascent-descent)/2 + ascent

	out := make([]*image.Gray, 0, len(wrapped))
	for _, line := range wrapped {
		out = append(out, t.drawLine(line, width, height, baseline, scale, align, thick))
	}
	return out
}

// placedGlyph is a glyph at its pen position on a line, in dots from
// the left edge; text is the index of its first rune in the paragraph.
type placedGlyph struct {
	id   font.GID
	x, y float32
	text int
}

// place puts the glyphs of a wrapped line in visual order: runs by their
// bidi VisualIndex, left to right, and within each run as HarfBuzz
// ordered and offset them (right-to-left runs come out already reversed).
func place(line shaping.Line, x0 float32) []placedGlyph {
	runs := append(shaping.Line(nil), line...)
	sort.Slice(runs, func(i, j int) bool { return runs[i].VisualIndex < runs[j].VisualIndex })
	var out []placedGlyph
	dot := x0
	for _, r := range runs {
		for _, g := range r.Glyphs {
			out = append(out, placedGlyph{
				id: g.GlyphID, x: dot + fixedToFloat(g.XOffset), y: -fixedToFloat(g.YOffset), text: g.TextIndex(),
			})
			dot += fixedToFloat(g.Advance)
		}
	}
	return out
}

func lineAdvance(line shaping.Line) fixed.Int26_6 {
	var advance fixed.Int26_6
	for _, r := range line {
		advance += r.Advance
	}
	return advance
}

// wrap shapes text and breaks it into lines at most maxWidth dots wide.
func (t *textImager) wrap(text []rune, maxWidth, px int) []shaping.Line {
	in := shaping.Input{
		Text: text, RunStart: 0, RunEnd: len(text),
		Direction: t.dir, Face: t.face, Size: fixed.I(px), Language: t.lang,
	}
	var runs []shaping.Output
	for _, part := range t.seg.Split(in, fontmap{t.face}) {
		runs = append(runs, t.shaper.Shape(part))
	}
	lines, _ := t.wrapper.WrapParagraph(shaping.WrapConfig{Direction: t.dir}, maxWidth, text, shaping.NewSliceIterator(runs))
	return lines
}

// drawLine rasterises one wrapped line.
// thick dots of synthetic bold are added by drawing the line again
// shifted right one dot at a time.
func (t *textImager) drawLine(line shaping.Line, width, height, baseline int, scale float32, align Alignment, thick int) *image.Gray {
	x0 := offset(align, lineAdvance(line).Ceil()+thick, width)
	z := vector.NewRasterizer(width, height)
	for shift := 0; shift <= thick; shift++ {
		for _, g := range place(line, float32(x0+shift)) {
			t.addGlyph(z, g.id, g.x, float32(baseline)+g.y, scale)
		}
	}
	mask := image.NewAlpha(z.Bounds())
	z.Draw(mask, mask.Bounds(), image.Opaque, image.Point{})

	img := image.NewGray(image.Rect(0, 0, width, height))
	for i, a := range mask.Pix {
		// Thermal dots are on or off; half-covered edge pixels print.
		if a >= 0x60 {
			img.Pix[i] = 0
		} else {
			img.Pix[i] = 0xFF
		}
	}
	return img
}

// addGlyph adds the outline of gid with its origin at (x, y) in dots;
// font units grow upwards, image rows downwards.
func (t *textImager) addGlyph(z *vector.Rasterizer, gid font.GID, x, y, scale float32) {
	outline, ok := t.face.GlyphData(gid).(font.GlyphOutline)
	if !ok {
		return
	}
	pt := func(p font.SegmentPoint) (float32, float32) {
		return x + p.X*scale, y - p.Y*scale
	}
	open := false
	for _, s := range outline.Segments {
		switch s.Op {
		case ot.SegmentOpMoveTo:
			if open {
				z.ClosePath()
			}
			z.MoveTo(pt(s.Args[0]))
			open = true
		case ot.SegmentOpLineTo:
			z.LineTo(pt(s.Args[0]))
		case ot.SegmentOpQuadTo:
			bx, by := pt(s.Args[0])
			cx, cy := pt(s.Args[1])
			z.QuadTo(bx, by, cx, cy)
		case ot.SegmentOpCubeTo:
			bx, by := pt(s.Args[0])
			cx, cy := pt(s.Args[1])
			dx, dy := pt(s.Args[2])
			z.CubeTo(bx, by, cx, cy, dx, dy)
		}
	}
	if open {
		z.ClosePath()
	}
}

func fixedToFloat(v fixed.Int26_6) float32 {
	return float32(v) / 64
}

// cropToInk narrows a paper-wide line image to the columns with ink, in
// whole bytes, keeping the side that align (sent as ESC a, which the
// printer applies to GS v 0 as to text) puts against the paper: at 9600
// baud every byte counts, and most lines are far narrower than the paper.
// A line without ink keeps 8 columns so its height still feeds the paper.
func cropToInk(img *image.Gray, align Alignment) *image.Gray {
	b := img.Bounds()
	left, right := b.Max.X, b.Min.X-1
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[(y-b.Min.Y)*img.Stride:]
		for x := b.Min.X; x < b.Max.X; x++ {
			if row[x-b.Min.X] < 0x80 {
				left, right = min(left, x), max(right, x)
			}
		}
	}
	if right < left {
		return img.SubImage(image.Rect(b.Min.X, b.Min.Y, b.Min.X+8, b.Max.Y)).(*image.Gray)
	}
	ceil8 := func(n int) int { return (n + 7) &^ 7 }
	x0, x1 := b.Min.X, b.Max.X
	switch align {
	case AlignLeft:
		x1 = min(b.Max.X, b.Min.X+ceil8(right+1-b.Min.X))
	case AlignRight:
		x0 = max(b.Min.X, b.Max.X-ceil8(b.Max.X-left))
	case AlignCenter:
		mid := (b.Min.X + b.Max.X) / 2
		half := max(mid-left, right+1-mid)
		w := ceil8(2 * half)
		x0 = max(b.Min.X, mid-w/2)
		x1 = min(b.Max.X, x0+w)
	}
	return img.SubImage(image.Rect(x0, b.Min.Y, x1, b.Max.Y)).(*image.Gray)
}
