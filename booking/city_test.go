package booking

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseCityDemo(t *testing.T) {
	f, err := os.Open("../server/democity.json")
	if err != nil {
		t.Skip("demo city not found:", err)
	}
	defer f.Close()
	locs, services, err := ParseCity(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(locs) != 2 || locs[0].ID != "buergeramt-koblenz" || locs[1].Capacity != 150 {
		t.Fatalf("locations: %+v", locs)
	}
	office := locs[0]
	// mon-fri 08-12 and thu 14-18: six rules.
	if len(office.Opening) != 6 || len(office.Closures) != 2 || office.Closures[0].Day != (Date{2026, time.December, 24}) {
		t.Fatalf("office hours %+v closures %+v", office.Opening, office.Closures)
	}
	for _, s := range services {
		if s.LocationID == "" {
			t.Fatalf("service %s without location", s.ID)
		}
	}
	if services[4].ID != "erwachsene" || services[4].Payment != PayOnline || services[4].FeeCents != 450 || services[4].MaxUnits != 8 {
		t.Fatalf("pool service %+v", services[4])
	}
}

func TestParseCityCitizenFields(t *testing.T) {
	file := `{"locations":[{"id":"amt","kind":"office","name":"Amt","timezone":"Europe/Berlin","capacity":2,"slot_minutes":10,
		"booking_horizon_days":60,"lead_minutes":60,"activation_minutes":30,
		"address":{"street":"Bahnhofstraße 47","postal_code":"56068","city":"Koblenz"},
		"hours":[{"days":["mon"],"opens":"08:00","closes":"12:00"}],
		"services":[{"id":"pass","name":"Reisepass","duration_minutes":30,"payment":"counter","max_units":1,
			"what_to_bring":{"de":"Altes Dokument, biometrisches Passfoto","en":"Old document, biometric photo"}},
			{"id":"melde","name":"Meldebescheinigung","duration_minutes":10,"payment":"counter","max_units":1}]}]}`
	locs, services, err := ParseCity(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	l := locs[0]
	if l.LeadMinutes != 60 || l.ActivationMinutes != 30 || l.Address.String() != "Bahnhofstraße 47, 56068 Koblenz" {
		t.Errorf("location %+v", l)
	}
	if services[0].WhatToBring.In(LangEN) != "Old document, biometric photo" || services[1].WhatToBring.In(LangEN) != "" {
		t.Errorf("what to bring %+v %+v", services[0].WhatToBring, services[1].WhatToBring)
	}
	if (Text{DE: "Ausweis"}).In(LangEN) != "Ausweis" || (Address{}).String() != "" || (Address{City: "Koblenz"}).String() != "Koblenz" {
		t.Errorf("fallbacks")
	}
	bad := strings.Replace(file, `"lead_minutes":60`, `"lead_minutes":-1`, 1)
	if _, _, err := ParseCity(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "lead_minutes") {
		t.Errorf("negative lead time: %v", err)
	}
	bad = strings.Replace(file, `"booking_horizon_days":60`, `"booking_horizon_days":5000`, 1)
	if _, _, err := ParseCity(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "booking_horizon_days") {
		t.Errorf("horizon of 5000 days: %v", err)
	}
}

func TestParseCityRejects(t *testing.T) {
	loc := `{"id":"x","kind":"pool","name":"X","timezone":"Europe/Berlin","capacity":1,"slot_minutes":30%s}`
	tests := []struct{ name, file, want string }{
		{"unknown field", `{"locations":[` + strings.Replace(loc, "%s", `,"colour":"blue"`, 1) + `]}`, "unknown field"},
		{"unknown weekday", `{"locations":[` + strings.Replace(loc, "%s", `,"hours":[{"days":["mo"],"opens":"08:00","closes":"12:00"}]`, 1) + `]}`, "unknown weekday"},
		{"bad clock time", `{"locations":[` + strings.Replace(loc, "%s", `,"hours":[{"days":["mon"],"opens":"8","closes":"12:00"}]`, 1) + `]}`, "HH:MM"},
		{"service off the grid", `{"locations":[` + strings.Replace(loc, "%s",
			`,"services":[{"id":"s","name":"S","duration_minutes":45,"payment":"online","max_units":1}]`, 1) + `]}`, "grid"},
		{"not JSON", `locations:`, "city file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseCity(strings.NewReader(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func FuzzParseCity(f *testing.F) {
	if data, err := os.ReadFile("../server/democity.json"); err == nil {
		f.Add(string(data))
	}
	f.Add(`{"locations":[{"id":"x","kind":"pool","name":"X","timezone":"UTC","capacity":1,"slot_minutes":30,` +
		`"hours":[{"days":["sun"],"opens":"07:00","closes":"21:00"}],"services":[{"id":"s","duration_minutes":30,"payment":"online","max_units":1}]}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		locs, services, err := ParseCity(strings.NewReader(in))
		if err != nil {
			return
		}
		ids := map[string]bool{}
		for _, l := range locs {
			ids[l.ID] = true
			if err := l.Validate(nil); err != nil {
				t.Fatalf("accepted an invalid location: %v", err)
			}
			// Every accepted release schedule gives a window inside the
			// horizon and a next release that opens the days it names.
			tz, _ := l.TimeLocation()
			now := time.Date(2027, time.March, 28, 0, 45, 0, 0, time.UTC)
			if w := l.window(tz, now); w.Horizon.Before(w.Last) {
				t.Fatalf("window ends %s after the horizon %s", w.Last, w.Horizon)
			}
			if at, days, ok := l.NextRelease(now, tz); ok {
				if !at.After(now) {
					t.Fatalf("next release %s is not after %s", at, now)
				}
				for _, d := range days {
					if r, _ := l.ReleaseOf(d, tz); !r.Equal(at) {
						t.Fatalf("%s opens %s, not at the next release %s", d, r, at)
					}
				}
			}
		}
		for _, s := range services {
			if !ids[s.LocationID] {
				t.Fatalf("service %s of unknown location %q", s.ID, s.LocationID)
			}
		}
	})
}
