package web

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// chart is a bar chart the server draws as inline SVG: one group of bars
// per label, one bar per series. The SVG is one image to assistive
// technology (role="img" with its <title> and <desc>); the same numbers
// are in a data table next to it (Rows) and in a CSV download.
type chart struct {
	// ID is unique on the page; the SVG's title and description hang on it.
	ID    string
	Title string
	// Desc sums up what the chart shows, for those who do not see it.
	Desc string
	// LabelHeader names the label column of the data table ("Tag").
	LabelHeader string
	Labels      []string
	Series      []chartSeries
	// CSV is the download of the chart's numbers.
	CSV string
	// Lang picks the decimal mark of the numbers ("de": comma).
	Lang string
}

// chartSeries is one kind of bar.
type chartSeries struct {
	Name   string
	Values []float64
	// Decimals is how many decimals the table shows.
	Decimals int
	// Suffix follows each number in the table (" %", " min").
	Suffix string
}

// Colours of the series: at least 3:1 against white and each other
// distinguishable also in grey (WCAG 1.4.11).
var chartColours = []string{"#0b4f8a", "#c94f00", "#00703c", "#6f3c96"}

// Geometry of the drawing, in SVG user units.
const (
	chartWidth  = 720
	chartHeight = 260
	chartLeft   = 56
	chartRight  = 12
	chartTop    = 36
	chartBottom = 44
)

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten, so the
// grid lines fall on round numbers.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*exp {
			return m * exp
		}
	}
	return 10 * exp
}

// number formats a value with decimals and the page's decimal mark.
func (c *chart) number(v float64, decimals int) string {
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if c.Lang == "de" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// SVG draws the chart.
func (c *chart) SVG() template.HTML {
	var b strings.Builder
	esc := html.EscapeString
	max := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			max = math.Max(max, v)
		}
	}
	integers := true
	for _, s := range c.Series {
		integers = integers && s.Decimals == 0
	}
	if integers {
		max = math.Max(max, 5) // no grid lines between whole numbers
	}
	top, ticks := niceMax(max), 5
	if mantissa := top / math.Pow(10, math.Floor(math.Log10(top))); mantissa > 1.5 && mantissa < 2.5 {
		ticks = 4 // steps of 0.5 of a power of ten
	}
	step := top / float64(ticks)
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	// The legend, in rows as wide as the drawing (about 7.5 units per
	// character at font size 13).
	type legendItem struct {
		x, y float64
		name string
		i    int
	}
	var legend []legendItem
	lx, ly := float64(chartLeft), 8.0
	for i, s := range c.Series {
		w := 20 + 7.5*float64(len([]rune(s.Name))) + 24
		if lx > chartLeft && lx+w > chartWidth-chartRight {
			lx, ly = chartLeft, ly+20
		}
		legend = append(legend, legendItem{lx, ly, s.Name, i})
		lx += w
	}
	top0 := ly + 28 // the plot starts below the legend
	height := int(top0) + chartHeight - chartTop
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(chartHeight - chartTop - chartBottom)
	y := func(v float64) float64 { return top0 + plotH - v/top*plotH }

	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-labelledby="%[1]s-title %[1]s-desc" viewBox="0 0 %[2]d %[3]d" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`,
		esc(c.ID), chartWidth, height)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(c.ID), esc(c.Title), esc(c.ID), esc(c.Desc))

	// Grid lines with their values.
	for i := 0; i <= ticks; i++ {
		v := step * float64(i)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1"/>`,
			chartLeft, chartWidth-chartRight, y(v), y(v), map[bool]string{true: "#1b1b1b", false: "#c8c8c8"}[i == 0])
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" font-size="12" fill="#1b1b1b">%s</text>`,
			chartLeft-6, y(v)+4, esc(c.number(v, decimals)))
	}

	for _, l := range legend {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="14" height="14" fill="%s"/>`, l.x, l.y, chartColours[l.i%len(chartColours)])
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="13" fill="#1b1b1b">%s</text>`, l.x+20, l.y+12, esc(l.name))
	}

	// Bars, grouped by label; only every n-th label is written when they
	// would overlap.
	n := len(c.Labels)
	if n > 0 && len(c.Series) > 0 {
		group := plotW / float64(n)
		bar := group * 0.8 / float64(len(c.Series))
		every := int(math.Ceil(float64(n) / (plotW / 48)))
		for li, label := range c.Labels {
			gx := float64(chartLeft) + group*float64(li) + group*0.1
			for si, s := range c.Series {
				if li >= len(s.Values) || s.Values[li] <= 0 {
					continue
				}
				v := s.Values[li]
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`,
					gx+bar*float64(si), y(v), math.Max(bar-1, 1), top0+plotH-y(v), chartColours[si%len(chartColours)])
			}
			if li%every == 0 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="12" fill="#1b1b1b">%s</text>`,
					float64(chartLeft)+group*(float64(li)+0.5), top0+plotH+18, esc(label))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is escaped
}

// chartRow is one row of the data table.
type chartRow struct {
	Label string
	Cells []string
}

// Rows are the chart's numbers as the data table shows them.
func (c *chart) Rows() []chartRow {
	rows := make([]chartRow, len(c.Labels))
	for i, l := range c.Labels {
		rows[i].Label = l
		for _, s := range c.Series {
			cell := ""
			if i < len(s.Values) {
				cell = c.number(s.Values[i], s.Decimals) + s.Suffix
			}
			rows[i].Cells = append(rows[i].Cells, cell)
		}
	}
	return rows
}
