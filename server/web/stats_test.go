package web

import (
	"strings"
	"testing"

	"github.com/digitale-verwaltung/termin/booking"
)

func TestStatsPages(t *testing.T) {
	app := financeApp(t, &ledgerFake{}, "")
	tests := []struct {
		path   string
		status int
		want   []string
	}{
		// The default range: the fourteen days up to today (2030-01-07).
		{"/intern/statistik", 200, []string{`value="2029-12-25"`, `value="2030-01-07"`, `<svg class="chart" role="img"`, "<caption", `<th scope="row">25.12.</th>`,
			`href="/intern/statistik/tage.csv?standort=amt&amp;von=2029-12-25&amp;bis=2030-01-07"`, "Termine je Tag", "16,7 %"}},
		{"/intern/statistik?standort=amt&von=2030-01-01&bis=2030-01-02", 200, []string{`<th scope="row">09:00</th>`, `<th scope="row">10:00</th>`}},
		{"/intern/statistik?von=2030-01-05&bis=2030-01-01", 400, []string{`href="#bis"`}},
		{"/intern/statistik?von=2029-01-01&bis=2030-01-01", 400, []string{"höchstens 92 Tage"}},
		{"/intern/statistik?standort=mars", 400, []string{`href="#standort"`}},
		{"/intern/statistik/belegung?tag=2030-01-08", 200, []string{`<th scope="row">09:00</th>`, "Belegung am Dienstag, 8. Januar 2030"}},
		{"/intern/statistik/belegung?tag=morgen", 400, []string{`href="#tag"`}},
		{"/intern/statistik/morgen", 200, []string{"Dienstag, 8. Januar 2030: 10 Termine und etwa 7,8 Besucher", "<td>6,5</td>", "<td>10,2</td>"}},
	}
	for _, tt := range tests {
		status, _, body := fetch(t, app, "GET", tt.path, nil, "")
		if status != tt.status {
			t.Errorf("%s: %d, want %d", tt.path, status, tt.status)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", tt.path, w)
			}
		}
	}
}

func TestStatsCSV(t *testing.T) {
	app := financeApp(t, &ledgerFake{}, "")
	tests := []struct{ path, want string }{
		{"/intern/statistik/tage.csv?von=2030-01-01&bis=2030-01-03", "amt;2030-01-01;6;1;6;1;16,7;4;5;9;10,0;9;15,0\r\namt;2030-01-02;8;0;8;0;0,0;7;8;15;20,0;15;15,0\r\namt;2030-01-03;3;2;3;2;66,7;2;1;3;5,0;2;15,0\r\n"},
		{"/intern/statistik/stunden.csv?von=2030-01-01&bis=2030-01-03", "amt;09:00;6;1;6;1;16,7;4;5;9;10,0;9;15,0\r\namt;10:00;8;0;8;0;0,0;7;8;15;20,0;15;15,0\r\namt;11:00;0;"},
		{"/intern/statistik/belegung.csv?tag=2030-01-08", "amt;2030-01-08 09:00;7;10;70,0\r\n"},
		{"/intern/statistik/morgen.csv", "amt;2030-01-08;09:00;6;4,2;10,2\r\n"},
	}
	for _, tt := range tests {
		status, head, body := fetch(t, app, "GET", tt.path, nil, "")
		if status != 200 || !strings.HasPrefix(head, "text/csv") || !strings.HasPrefix(body, "\ufeff") || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s\n%q\nwant %q", tt.path, status, head, body, tt.want)
		}
	}
}

func TestStatsTotals(t *testing.T) {
	rows := []booking.HourStats{{Hour: 9, Due: 4, NoShows: 1, Waited: 2, WaitTotal: 30e9 * 60, Served: 0}, {Hour: 11, Due: 0}}
	hours := byHour(rows)
	if len(hours) != 3 || hours[0].Label != "09:00" || hours[2].Label != "11:00" || hours[0].NoShowRate() != 25 || hours[0].AverageWait() != 15 ||
		hours[0].AverageService() != 0 || hours[1].NoShowRate() != 0 {
		t.Fatalf("hours %+v", hours)
	}
	if byHour(nil) != nil {
		t.Fatal("hours of nothing")
	}
}
