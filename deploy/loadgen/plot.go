package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// plotLatency draws the latency distributions of the runs as curves of
// "share of requests answered within x", x on a log scale: the shape shows
// the tail that percentiles alone hide.
func plotLatency(r report) []byte {
	const w, h = 960, 520
	const left, right, top, bottom = 70, 300, 40, 60
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	grey := color.RGBA{200, 200, 200, 255}
	black := color.RGBA{0, 0, 0, 255}
	// x axis: 0.1 ms to 10 s, log10.
	lo, hi := math.Log10(0.1), math.Log10(10000)
	xOf := func(d time.Duration) int {
		v := float64(d) / float64(time.Millisecond)
		if v < 0.1 {
			v = 0.1
		}
		f := (math.Log10(v) - lo) / (hi - lo)
		return left + int(math.Min(1, f)*float64(w-left-right))
	}
	yOf := func(q float64) int { return h - bottom - int(q*float64(h-top-bottom)) }
	for _, tick := range []float64{0.1, 1, 10, 100, 1000, 10000} {
		x := xOf(time.Duration(tick * float64(time.Millisecond)))
		line(img, x, top, x, h-bottom, grey)
		label := fmt.Sprintf("%g ms", tick)
		if tick >= 1000 {
			label = fmt.Sprintf("%g s", tick/1000)
		}
		text(img, x-len(label)*7/2, h-bottom+18, label, black)
	}
	for _, q := range []float64{0, 0.25, 0.5, 0.75, 0.9, 1} {
		y := yOf(q)
		line(img, left, y, w-right, y, grey)
		text(img, left-45, y+4, fmt.Sprintf("%g%%", q*100), black)
	}
	line(img, left, h-bottom, w-right, h-bottom, black)
	line(img, left, top, left, h-bottom, black)
	p25 := xOf(targetP99)
	for y := top; y < h-bottom; y += 6 {
		line(img, p25, y, p25, y+3, color.RGBA{220, 0, 0, 255})
	}
	text(img, p25+4, top+12, "p99 target", color.RGBA{220, 0, 0, 255})
	text(img, left, 20, fmt.Sprintf("Latency distribution, %d clients, %d hold attempts on %d units", r.Options.clients, r.Options.attempts, r.Options.capacity), black)
	text(img, left+(w-left-right)/2-90, h-15, "latency (log scale), client side", black)

	type series struct {
		name string
		s    stats
		c    color.RGBA
	}
	all := []series{
		{"termin hold", r.Ours.Hold, color.RGBA{0, 90, 200, 255}},
		{"termin confirm", r.Ours.Confirm, color.RGBA{0, 170, 220, 255}},
		{"termin availability", r.Ours.Read, color.RGBA{0, 160, 80, 255}},
	}
	if r.Baseline != nil {
		all = append(all,
			series{"PG-lock hold", r.Baseline.Hold, color.RGBA{200, 60, 0, 255}},
			series{"PG-lock confirm", r.Baseline.Confirm, color.RGBA{230, 150, 0, 255}},
			series{"PG-lock availability", r.Baseline.Read, color.RGBA{150, 80, 160, 255}})
	}
	if r.Storm != nil {
		all = append(all,
			series{"(b) storm availability", r.Storm.Read, color.RGBA{120, 120, 0, 255}},
			series{"(b) hold in the storm", r.StormRush.Hold, color.RGBA{40, 40, 40, 255}})
	}
	for i, se := range all {
		lat := se.s.sortedLat
		ly := top + 20 + i*22
		for t := 0; t < 3; t++ {
			line(img, w-right+15, ly-4+t, w-right+45, ly-4+t, se.c)
		}
		text(img, w-right+52, ly, fmt.Sprintf("%s (n=%d)", se.name, len(lat)), black)
		if len(lat) == 0 {
			continue
		}
		px, py := xOf(lat[0]), yOf(0)
		for j, d := range lat {
			x, y := xOf(d), yOf(float64(j+1)/float64(len(lat)))
			thick(img, px, py, x, py, se.c)
			thick(img, x, py, x, y, se.c)
			px, py = x, y
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

func text(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// line draws with Bresenham's algorithm.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		img.Set(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func thick(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	line(img, x0, y0, x1, y1, c)
	line(img, x0+1, y0, x1+1, y1, c)
	line(img, x0, y0+1, x1, y1+1, c)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
