package payment

import (
	"errors"
	"testing"
	"time"
)

func TestParsePlatformTime(t *testing.T) {
	berlin := Berlin()
	tests := []struct {
		in   string
		want time.Time
		ok   bool
		bad  bool
	}{
		{"2020-05-06T20:27:54.07", time.Date(2020, 5, 6, 20, 27, 54, 70_000_000, berlin), true, false},
		{"2020-05-06T20:27:54", time.Date(2020, 5, 6, 20, 27, 54, 0, berlin), true, false},
		{"2025-01-06 08:00:00", time.Date(2025, 1, 6, 8, 0, 0, 0, berlin), true, false},
		{"2025-03-14T09:30:00Z", time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC), true, false},
		{"2025-03-14T10:30:00+01:00", time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC), true, false},
		{"2025-03-14T10:30:00.123+0100", time.Date(2025, 3, 14, 9, 30, 0, 123_000_000, time.UTC), true, false},
		{"14.03.2025 10:30:00", time.Date(2025, 3, 14, 10, 30, 0, 0, berlin), true, false},
		{"20250314103000", time.Date(2025, 3, 14, 10, 30, 0, 0, berlin), true, false},
		{"2025-03-14", time.Date(2025, 3, 14, 0, 0, 0, 0, berlin), true, false},
		{"0001-01-01T00:00:00", time.Time{}, false, false},
		{"", time.Time{}, false, false},
		{"gestern", time.Time{}, false, true},
	}
	for _, tt := range tests {
		got, ok, err := ParsePlatformTime(tt.in, berlin)
		if tt.bad != errors.Is(err, ErrBadTimestamp) || ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParsePlatformTime(%q) = %v, %v, %v", tt.in, got, ok, err)
		}
	}
	// Summer time: a zone-less time in July is two hours ahead of UTC.
	got, _, _ := ParsePlatformTime("2025-07-01T12:00:00", berlin)
	if !got.Equal(time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("summer time: %v", got.UTC())
	}
}

func FuzzParsePlatformTime(f *testing.F) {
	for _, s := range []string{"2020-05-06T20:27:54.07", "0001-01-01T00:00:00", "2025-03-14T10:30:00+01:00", "14.03.2025 10:30"} {
		f.Add(s)
	}
	berlin := Berlin()
	f.Fuzz(func(t *testing.T, s string) {
		got, ok, err := ParsePlatformTime(s, berlin)
		if err != nil && (ok || !got.IsZero()) {
			t.Fatalf("error with a time: %v %v %v", got, ok, err)
		}
		if ok && got.IsZero() {
			t.Fatalf("ok without a time for %q", s)
		}
	})
}
