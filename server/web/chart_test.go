package web

import (
	"encoding/xml"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestNiceMax(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, -3: 1, 0.3: 0.5, 1: 1, 1.1: 2, 3: 5, 7: 10, 12: 20, 49: 50, 51: 100, 250: 500} {
		if got := niceMax(in); got != want {
			t.Errorf("niceMax(%v) = %v, want %v", in, got, want)
		}
	}
}

// svgCount parses the drawing as XML and counts its elements by name.
func svgCount(t *testing.T, svg string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return counts
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
		}
	}
}

func TestChartSVG(t *testing.T) {
	tests := []struct {
		name  string
		chart chart
		rects int // legend squares and bars
		texts int // grid values, legend names and written labels
	}{
		{"empty", chart{ID: "c", Title: "Leer"}, 0, 6},
		{"two series", chart{ID: "c", Title: "Termine", Labels: []string{"Mo", "Di", "Mi"},
			Series: []chartSeries{{Name: "gebucht", Values: []float64{3, 0, 5}}, {Name: "abgesagt", Values: []float64{1, 1, 0}}}}, 2 + 4, 6 + 2 + 3},
		{"many labels are thinned", chart{ID: "c", Title: "Tage", Labels: make([]string, 60),
			Series: []chartSeries{{Name: "x", Values: make([]float64, 60)}}}, 1, 6 + 1 + 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg := string(tt.chart.SVG())
			counts := svgCount(t, svg)
			if counts["svg"] != 1 || counts["title"] != 1 || counts["desc"] != 1 || counts["rect"] != tt.rects || counts["text"] != tt.texts {
				t.Fatalf("elements %v, want %d rects and %d texts:\n%s", counts, tt.rects, tt.texts, svg)
			}
			if !strings.Contains(svg, `role="img" aria-labelledby="c-title c-desc"`) {
				t.Fatalf("no accessible name:\n%s", svg)
			}
		})
	}
}

// Grid lines fall on round numbers, whole ones for counts.
func TestChartGrid(t *testing.T) {
	tests := []struct {
		max      float64
		decimals int
		want     []string
	}{
		{3, 0, []string{">0<", ">1<", ">2<", ">3<", ">4<", ">5<"}},
		{17, 0, []string{">0<", ">5<", ">10<", ">15<", ">20<"}},
		{0.3, 1, []string{">0.0<", ">0.1<", ">0.2<", ">0.5<"}},
		{1.7, 1, []string{">0.0<", ">0.5<", ">1.0<", ">2.0<"}},
	}
	for _, tt := range tests {
		c := chart{ID: "g", Lang: "en", Labels: []string{"a"}, Series: []chartSeries{{Name: "s", Values: []float64{tt.max}, Decimals: tt.decimals}}}
		svg := string(c.SVG())
		for _, w := range tt.want {
			if !strings.Contains(svg, w) {
				t.Errorf("max %v: no grid value %s in\n%s", tt.max, w, svg)
			}
		}
	}
}

func TestChartEscapesTexts(t *testing.T) {
	c := chart{ID: "x", Title: `<script>alert(1)</script>`, Desc: `"&'`, Labels: []string{"<b>"},
		Series: []chartSeries{{Name: "a&b", Values: []float64{1}}}}
	svg := string(c.SVG())
	svgCount(t, svg)
	if strings.Contains(svg, "<script>") || strings.Contains(svg, "<b>") || !strings.Contains(svg, "a&amp;b") {
		t.Fatalf("texts not escaped:\n%s", svg)
	}
}

func TestChartRows(t *testing.T) {
	c := chart{Lang: "de", Labels: []string{"09:00", "10:00"}, Series: []chartSeries{
		{Name: "Wartezeit", Values: []float64{12.25, 3}, Decimals: 1, Suffix: " min"},
		{Name: "Anzahl", Values: []float64{4}},
	}}
	want := []chartRow{{"09:00", []string{"12,2 min", "4"}}, {"10:00", []string{"3,0 min", ""}}}
	if got := c.Rows(); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %q, want %q", got, want)
	}
	c.Lang = "en"
	if got := c.Rows()[0].Cells[0]; got != "12.2 min" {
		t.Fatalf("English decimal point: %q", got)
	}
}

// A legend wider than the drawing wraps into rows, and the drawing grows.
func TestChartLegendWraps(t *testing.T) {
	long := chart{ID: "l", Labels: []string{"a"}, Series: []chartSeries{
		{Name: strings.Repeat("Termine ", 5), Values: []float64{1}},
		{Name: strings.Repeat("Ohne Termin ", 4), Values: []float64{2}},
		{Name: "Erwartet insgesamt", Values: []float64{3}},
	}}
	short := chart{ID: "s", Labels: []string{"a"}, Series: []chartSeries{{Name: "x", Values: []float64{1}}}}
	viewBox := regexp.MustCompile(`viewBox="0 0 720 (\d+)"`)
	hl, hs := viewBox.FindStringSubmatch(string(long.SVG())), viewBox.FindStringSubmatch(string(short.SVG()))
	if hl == nil || hs == nil || hl[1] <= hs[1] {
		t.Fatalf("heights %v %v", hl, hs)
	}
	for _, m := range regexp.MustCompile(`<rect x="([0-9.]+)" y="[0-9.]+" width="14"`).FindAllStringSubmatch(string(long.SVG()), -1) {
		if x, _ := strconv.ParseFloat(m[1], 64); x > chartWidth-chartRight-20 {
			t.Fatalf("legend entry at %v outside the drawing", x)
		}
	}
}
