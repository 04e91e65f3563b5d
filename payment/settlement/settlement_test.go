package settlement

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const sample = `record;date;platform_id;reference;kassenzeichen;gross;fee;net;method
payment;2025-03-14;EP-000001;T-1;BA0000428;37.00;0.69;36.31;paypal
refund;2025-03-14;EP-000002;T-2;BA0000436;-10.00;0.00;-10.00;creditcard
payout;2025-03-14;SIM-PO-20250314;;;27.00;0.69;26.31;
`

func TestParseAndWrite(t *testing.T) {
	rep, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	want := Report{Date: day, PayoutID: "SIM-PO-20250314", GrossCents: 2700, FeeCents: 69, NetCents: 2631, Lines: []Line{
		{KindPayment, day, "EP-000001", "T-1", "BA0000428", 3700, 69, 3631, "paypal"},
		{KindRefund, day, "EP-000002", "T-2", "BA0000436", -1000, 0, -1000, "creditcard"},
	}}
	if !reflect.DeepEqual(rep, want) {
		t.Fatalf("got %+v\nwant %+v", rep, want)
	}
	var b bytes.Buffer
	if err := Write(&b, rep); err != nil {
		t.Fatal(err)
	}
	if b.String() != sample {
		t.Errorf("Write\n%s\nwant\n%s", b.String(), sample)
	}
}

func TestParseRejects(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(sample), "\n")
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"header only", lines[0] + "\n"},
		{"no payout", strings.Join(lines[:3], "\n")},
		{"payout not last", strings.Join([]string{lines[0], lines[3], lines[1]}, "\n")},
		{"wrong sum", strings.Replace(sample, "26.31", "26.30", 1)},
		{"net ≠ gross-fee", strings.Replace(sample, "36.31", "36.30", 1)},
		{"positive refund", strings.Replace(sample, "-10.00;0.00;-10.00", "10.00;0.00;10.00", 1)},
		{"bad date", strings.Replace(sample, "2025-03-14;EP-000001", "14.03.2025;EP-000001", 1)},
		{"comma decimal", strings.Replace(sample, "37.00", "37,00", 1)},
		{"unknown record", strings.Replace(sample, "refund;", "storno;", 1)},
		{"wrong field count", strings.Replace(sample, ";paypal", ";paypal;x", 1)},
		{"bad header", strings.Replace(sample, "record;", "rec;", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(strings.NewReader(tt.in)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzParseSettlement(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("record;date;platform_id;reference;kassenzeichen;gross;fee;net;method\npayout;2025-01-01;P;;;0;0;0;\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		rep, err := Parse(bytes.NewReader(in))
		if err != nil {
			return
		}
		sum := rep
		sum.Totals()
		if sum.NetCents != rep.NetCents || sum.GrossCents != rep.GrossCents || sum.FeeCents != rep.FeeCents {
			t.Fatalf("accepted report whose totals do not add up: %+v", rep)
		}
		var b bytes.Buffer
		if err := Write(&b, rep); err != nil {
			t.Fatal(err)
		}
		again, err := Parse(&b)
		if err != nil || !reflect.DeepEqual(again, rep) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, again, rep)
		}
	})
}
