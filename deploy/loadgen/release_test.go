package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func arrivals(opens time.Time, early, late [][2]int64) []releaseArrival {
	var out []releaseArrival
	for _, e := range early {
		out = append(out, releaseArrival{early: true, ok: true, arrival: e[0], number: e[1], joinedAt: opens.Add(-time.Second),
			admitted: opens.Add(time.Duration(e[1]) * 100 * time.Millisecond)})
	}
	for _, l := range late {
		out = append(out, releaseArrival{ok: true, arrival: l[0], number: l[1], joinedAt: opens.Add(time.Duration(l[0]) * time.Second),
			admitted: opens.Add(time.Duration(l[1]) * time.Second)})
	}
	return out
}

func TestCheckOrder(t *testing.T) {
	opens := time.Date(2030, 1, 7, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name            string
		early, late     [][2]int64
		earlyBeforeLate bool
		inversions      int
	}{
		{"random then in order", [][2]int64{{1, 3}, {2, 1}, {3, 4}, {4, 2}}, [][2]int64{{5, 5}, {6, 6}, {7, 7}}, true, 0},
		{"a late one before an early one", [][2]int64{{1, 1}, {2, 5}}, [][2]int64{{3, 2}, {4, 3}}, false, 0},
		{"late ones out of order", [][2]int64{{1, 1}}, [][2]int64{{2, 3}, {3, 2}, {4, 4}}, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := checkOrder(arrivals(opens, tt.early, tt.late), opens)
			if o.EarlyBeforeLate != tt.earlyBeforeLate || o.LateInversions != tt.inversions || o.Admitted != len(tt.early)+len(tt.late) {
				t.Fatalf("%+v", o)
			}
		})
	}
	// Early arrivals admitted in arrival order show as a perfect rank
	// correlation, far beyond the limit.
	var inOrder [][2]int64
	for i := int64(1); i <= 100; i++ {
		inOrder = append(inOrder, [2]int64{i, i})
	}
	if o := checkOrder(arrivals(opens, inOrder, nil), opens); o.Spearman < 0.999 || o.Z < releaseZLimit {
		t.Fatalf("arrival order as admission order: ρ %.3f z %.2f", o.Spearman, o.Z)
	}
}

// The section of scenario (c) replaces the one of an earlier run and
// leaves the rest of the report alone.
func TestWriteReleaseReplacesItsSection(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/benchmarks.md", []byte("# Rush benchmark\n\nrush figures\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := releaseResult{Opens: time.Now(), ProbeStatus: map[int]int{}}
	o := releaseOptions{arrivals: 10, spread: time.Second, rate: 5}
	for i := 0; i < 2; i++ {
		if err := writeRelease(dir, r, o, "make bench"); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(dir + "/benchmarks.md")
	doc := string(b)
	if strings.Count(doc, releaseBegin) != 1 || !strings.HasPrefix(doc, "# Rush benchmark\n\nrush figures\n") {
		t.Fatalf("report:\n%s", doc)
	}
	if _, err := os.Stat(dir + "/bench-release.png"); err != nil {
		t.Fatal(err)
	}
}
