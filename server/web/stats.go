package web

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/server/auth"
)

// The statistics pages under /intern/statistik (administrators, and desk
// leads for their own location): appointments, cancellations, no-shows,
// waiting and service times, walk-ins against appointments per day and
// hour, occupancy per slot, and tomorrow hour by hour. Every chart is
// drawn on the server and comes with its data table and a CSV download.

// Statistics reads what happened at a location (booking/postgres).
type Statistics interface {
	Activity(ctx context.Context, location string, from, to booking.Date, now time.Time) ([]booking.HourStats, error)
	Occupancy(ctx context.Context, location string, day booking.Date) ([]booking.SlotOccupancy, error)
	Expected(ctx context.Context, location string, day booking.Date, weeks int) ([]booking.ExpectedHour, error)
}

var statsRoles = []auth.Role{auth.RoleAdmin, auth.RoleDeskLead}

const (
	// maxStatsDays bounds the range of one statistics page.
	maxStatsDays = 92
	// defaultStatsDays is the range shown when none is chosen.
	defaultStatsDays = 14
	// expectedWeeks is how many past same weekdays the walk-in outlook
	// averages.
	expectedWeeks = 4
)

func (h *Handler) statsRoutes(app fiber.Router) {
	if h.Stats == nil {
		return
	}
	g := app.Group("/intern/statistik", h.staffPage(statsRoles...))
	g.Get("", h.statsOverview)
	g.Get("/tage.csv", h.statsDaysCSV)
	g.Get("/stunden.csv", h.statsHoursCSV)
	g.Get("/belegung", h.statsOccupancy)
	g.Get("/belegung.csv", h.statsOccupancyCSV)
	g.Get("/morgen", h.statsTomorrow)
	g.Get("/morgen.csv", h.statsTomorrowCSV)
}

// statsForm is the location and range form, as typed, with its errors.
type statsForm struct {
	Location, From, To, Day string
	Locations               []option
	// Action is the page the form shows; WithRange and WithDay say
	// which dates it asks for.
	Action             string
	WithRange, WithDay bool
	// Fixed: the member of staff sees one location only.
	Fixed        bool
	LocationName string
	Errors       map[string]string
	tz           *time.Location
	from, to     booking.Date
	day          booking.Date
	loc          *booking.Location
}

// Query is the form as query string, for the CSV links.
func (f *statsForm) Query() string {
	q := "?standort=" + f.Location
	if f.From != "" {
		q += "&von=" + f.From
	}
	if f.To != "" {
		q += "&bis=" + f.To
	}
	if f.Day != "" {
		q += "&tag=" + f.Day
	}
	return q
}

// statsAction is the page of a statistics path (a CSV download's page).
func statsAction(path string) string {
	path = strings.TrimSuffix(strings.TrimSuffix(path, ".csv"), "/")
	if strings.HasSuffix(path, "/tage") || strings.HasSuffix(path, "/stunden") {
		return "/intern/statistik"
	}
	return path
}

// errForbiddenLocation answers a desk lead asking for another location.
var errForbiddenLocation = fmt.Errorf("web: location of another member of staff")

// parseStatsForm reads the location (fixed for a member of staff of one
// location) and the range or day.
func (h *Handler) parseStatsForm(c *fiber.Ctx, t texts, withRange, withDay bool) (*statsForm, error) {
	f := &statsForm{Location: c.Query("standort"), Errors: map[string]string{}, Action: statsAction(c.Path()), WithRange: withRange, WithDay: withDay}
	if withRange {
		f.From, f.To = c.Query("von"), c.Query("bis")
	}
	if withDay {
		f.Day = c.Query("tag")
	}
	if s := auth.StaffOf(c); s != nil && s.LocationID != "" {
		own := s.LocationID
		if f.Location != "" && f.Location != own {
			return nil, errForbiddenLocation
		}
		f.Location, f.Fixed = own, true
	}
	locs := h.Catalog.Locations()
	if f.Location == "" && len(locs) > 0 {
		f.Location = locs[0].ID
	}
	loc, tz, err := h.Catalog.Location(f.Location)
	if err != nil {
		f.Errors["standort"] = t.get("fin_err_choice")
		if len(locs) == 0 {
			return f, nil
		}
		f.Location = locs[0].ID
		if loc, tz, err = h.Catalog.Location(f.Location); err != nil {
			return nil, err
		}
	}
	f.loc, f.tz, f.LocationName = loc, tz, loc.Name
	if !f.Fixed {
		f.Locations = h.locationOptions(f.Location)
	}
	today := booking.DateOf(h.now().In(tz))
	parse := func(field, v string, def booking.Date) booking.Date {
		if v == "" {
			return def
		}
		d, err := booking.ParseDate(v)
		if err != nil {
			f.Errors[field] = t.get("fin_err_date")
			return def
		}
		return d
	}
	if withRange {
		f.to = parse("bis", f.To, today)
		f.from = parse("von", f.From, f.to.AddDays(-(defaultStatsDays - 1)))
		if f.to.Before(f.from) {
			f.Errors["bis"] = t.get("fin_err_range")
		} else if f.from.AddDays(maxStatsDays).Before(f.to) || f.from.AddDays(maxStatsDays) == f.to {
			f.Errors["bis"] = t.f("stats_err_range", maxStatsDays)
		}
		if f.From == "" {
			f.From = f.from.String()
		}
		if f.To == "" {
			f.To = f.to.String()
		}
	}
	if withDay {
		f.day = parse("tag", f.Day, today)
		if f.Day == "" {
			f.Day = f.day.String()
		}
	}
	return f, nil
}

// statsTotals sums hours of one day (or one hour over the range).
type statsTotals struct {
	Label string
	booking.HourStats
}

func (s *statsTotals) add(h booking.HourStats) {
	s.Booked += h.Booked
	s.Cancelled += h.Cancelled
	s.Due += h.Due
	s.NoShows += h.NoShows
	s.WalkIns += h.WalkIns
	s.CheckIns += h.CheckIns
	s.Waited += h.Waited
	s.WaitTotal += h.WaitTotal
	s.Served += h.Served
	s.ServiceTotal += h.ServiceTotal
}

// NoShowRate is the share of due appointments nobody came to, in percent.
func (s *statsTotals) NoShowRate() float64 {
	if s.Due == 0 {
		return 0
	}
	return 100 * float64(s.NoShows) / float64(s.Due)
}

// AverageWait and AverageService are in minutes.
func (s *statsTotals) AverageWait() float64 {
	if s.Waited == 0 {
		return 0
	}
	return s.WaitTotal.Minutes() / float64(s.Waited)
}

func (s *statsTotals) AverageService() float64 {
	if s.Served == 0 {
		return 0
	}
	return s.ServiceTotal.Minutes() / float64(s.Served)
}

// byDay sums the hours per day, every day of the range listed.
func byDay(rows []booking.HourStats, from, to booking.Date, t texts) []statsTotals {
	idx := map[booking.Date]int{}
	var out []statsTotals
	for d := from; !to.Before(d); d = d.AddDays(1) {
		idx[d] = len(out)
		out = append(out, statsTotals{Label: dayLabel(d, t)})
	}
	for _, r := range rows {
		if i, ok := idx[r.Day]; ok {
			out[i].add(r)
		}
	}
	return out
}

// byHour sums the range per hour of the day, from the first to the last
// hour with anything in it.
func byHour(rows []booking.HourStats) []statsTotals {
	first, last := 24, -1
	for _, r := range rows {
		first, last = min(first, r.Hour), max(last, r.Hour)
	}
	var out []statsTotals
	for hr := first; hr <= last; hr++ {
		out = append(out, statsTotals{Label: fmt.Sprintf("%02d:00", hr)})
	}
	for _, r := range rows {
		out[r.Hour-first].add(r)
	}
	return out
}

func dayLabel(d booking.Date, t texts) string {
	if t.lang == "de" {
		return fmt.Sprintf("%02d.%02d.", d.Day, int(d.Month))
	}
	return fmt.Sprintf("%02d/%02d", int(d.Month), d.Day)
}

func series(name string, rows []statsTotals, v func(*statsTotals) float64, decimals int, suffix string) chartSeries {
	s := chartSeries{Name: name, Decimals: decimals, Suffix: suffix}
	for i := range rows {
		s.Values = append(s.Values, v(&rows[i]))
	}
	return s
}

func labels(rows []statsTotals) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Label
	}
	return out
}

// peak describes a series' largest value for a chart's description.
func peak(t texts, lang string, s chartSeries, ls []string) string {
	best := -1
	for i, v := range s.Values {
		if best < 0 || v > s.Values[best] {
			best = i
		}
	}
	if best < 0 || s.Values[best] == 0 {
		return t.f("stats_desc_none", s.Name)
	}
	c := chart{Lang: lang}
	return t.f("stats_desc_peak", s.Name, c.number(s.Values[best], s.Decimals)+s.Suffix, ls[best])
}

func describe(t texts, lang string, ss []chartSeries, ls []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += peak(t, lang, s, ls)
	}
	return out
}

type statsOverviewPage struct {
	Form   *statsForm
	Charts []*chart
	formProblems
	Totals statsTotals
}

func (h *Handler) statsPageForm(c *fiber.Ctx, withRange, withDay bool) (*statsForm, texts, error) {
	t := textsFor(lang(c))
	f, err := h.parseStatsForm(c, t, withRange, withDay)
	if err == errForbiddenLocation {
		return nil, t, h.financeMessage(c, fiber.StatusForbidden, "stats_title", t.get("stats_other_location"),
			link{"/intern/statistik", t.get("stats_title")})
	}
	return f, t, err
}

func (h *Handler) statsOverview(c *fiber.Ctx) error {
	f, t, err := h.statsPageForm(c, true, false)
	if f == nil || err != nil {
		return err
	}
	l := lang(c)
	page := statsOverviewPage{Form: f}
	if len(f.Errors) > 0 {
		page.addAll(errorList(f.Errors, "standort", "von", "bis"))
		return h.renderStaff(c, fiber.StatusBadRequest, "staff_stats", "stats_title", page)
	}
	rows, err := h.Stats.Activity(c.UserContext(), f.Location, f.from, f.to, h.now())
	if err != nil {
		return err
	}
	days, hours := byDay(rows, f.from, f.to, t), byHour(rows)
	for _, r := range rows {
		page.Totals.add(r)
	}
	dayCSV, hourCSV := "/intern/statistik/tage.csv"+f.Query(), "/intern/statistik/stunden.csv"+f.Query()
	mk := func(id, titleKey string, rs []statsTotals, csv, header string, ss ...chartSeries) *chart {
		ls := labels(rs)
		return &chart{ID: id, Title: t.get(titleKey), Desc: describe(t, l, ss, ls), LabelHeader: header, Labels: ls, Series: ss, CSV: csv, Lang: l}
	}
	minutes := " " + t.get("minutes")
	page.Charts = []*chart{
		mk("appointments", "stats_chart_appointments", days, dayCSV, t.get("stats_day"),
			series(t.get("stats_booked"), days, func(s *statsTotals) float64 { return float64(s.Booked) }, 0, ""),
			series(t.get("stats_cancelled"), days, func(s *statsTotals) float64 { return float64(s.Cancelled) }, 0, ""),
			series(t.get("stats_noshows"), days, func(s *statsTotals) float64 { return float64(s.NoShows) }, 0, "")),
		mk("noshow", "stats_chart_noshow", days, dayCSV, t.get("stats_day"),
			series(t.get("stats_noshow_rate"), days, (*statsTotals).NoShowRate, 1, " %")),
		mk("walkins", "stats_chart_walkins", days, dayCSV, t.get("stats_day"),
			series(t.get("stats_walkins"), days, func(s *statsTotals) float64 { return float64(s.WalkIns) }, 0, ""),
			series(t.get("stats_checkins"), days, func(s *statsTotals) float64 { return float64(s.CheckIns) }, 0, "")),
		mk("times", "stats_chart_times", days, dayCSV, t.get("stats_day"),
			series(t.get("stats_wait"), days, (*statsTotals).AverageWait, 1, minutes),
			series(t.get("stats_service"), days, (*statsTotals).AverageService, 1, minutes)),
		mk("hours", "stats_chart_hours", hours, hourCSV, t.get("stats_hour"),
			series(t.get("stats_booked"), hours, func(s *statsTotals) float64 { return float64(s.Booked) }, 0, ""),
			series(t.get("stats_walkins"), hours, func(s *statsTotals) float64 { return float64(s.WalkIns) }, 0, "")),
		mk("hourtimes", "stats_chart_hour_times", hours, hourCSV, t.get("stats_hour"),
			series(t.get("stats_wait"), hours, (*statsTotals).AverageWait, 1, minutes),
			series(t.get("stats_service"), hours, (*statsTotals).AverageService, 1, minutes)),
	}
	return h.renderStaff(c, fiber.StatusOK, "staff_stats", "stats_title", page)
}

var statsCSVHeader = []string{"standort", "zeitraum", "gebucht", "abgesagt", "faellig", "nicht_erschienen", "quote_nicht_erschienen_prozent",
	"laufkundschaft", "termin_check_ins", "aufgerufen", "wartezeit_mittel_min", "bedient", "bedienzeit_mittel_min"}

func statsCSVRows(location string, rows []statsTotals) [][]string {
	out := make([][]string, len(rows))
	for i := range rows {
		r := &rows[i]
		out[i] = []string{location, r.Label, strconv.Itoa(r.Booked), strconv.Itoa(r.Cancelled), strconv.Itoa(r.Due), strconv.Itoa(r.NoShows),
			csvDecimal(r.NoShowRate()), strconv.Itoa(r.WalkIns), strconv.Itoa(r.CheckIns), strconv.Itoa(r.Waited),
			csvDecimal(r.AverageWait()), strconv.Itoa(r.Served), csvDecimal(r.AverageService())}
	}
	return out
}

func (h *Handler) statsCSV(c *fiber.Ctx, perHour bool) error {
	f, t, err := h.statsPageForm(c, true, false)
	if f == nil || err != nil {
		return err
	}
	if len(f.Errors) > 0 {
		return h.statsOverview(c)
	}
	rows, err := h.Stats.Activity(c.UserContext(), f.Location, f.from, f.to, h.now())
	if err != nil {
		return err
	}
	name := fmt.Sprintf("statistik-%s-%s-%s", f.Location, f.from, f.to)
	if perHour {
		return sendCSV(c, name+"-stunden.csv", statsCSVHeader, statsCSVRows(f.Location, byHour(rows)))
	}
	// Days in ISO form in the file, whatever the page language.
	days := byDay(rows, f.from, f.to, t)
	for i := range days {
		days[i].Label = f.from.AddDays(i).String()
	}
	return sendCSV(c, name+"-tage.csv", statsCSVHeader, statsCSVRows(f.Location, days))
}

func (h *Handler) statsDaysCSV(c *fiber.Ctx) error  { return h.statsCSV(c, false) }
func (h *Handler) statsHoursCSV(c *fiber.Ctx) error { return h.statsCSV(c, true) }

type occupancyRow struct {
	Slot, Units, Capacity, Share string
}

type occupancyPage struct {
	Form  *statsForm
	Chart *chart
	Rows  []occupancyRow
	formProblems
}

func (h *Handler) statsOccupancy(c *fiber.Ctx) error {
	f, t, err := h.statsPageForm(c, false, true)
	if f == nil || err != nil {
		return err
	}
	page := occupancyPage{Form: f}
	if len(f.Errors) > 0 {
		page.addAll(errorList(f.Errors, "standort", "tag"))
		return h.renderStaff(c, fiber.StatusBadRequest, "staff_stats_occupancy", "stats_occupancy", page)
	}
	slots, err := h.Stats.Occupancy(c.UserContext(), f.Location, f.day)
	if err != nil {
		return err
	}
	l := lang(c)
	taken := chartSeries{Name: t.get("stats_taken"), Suffix: ""}
	free := chartSeries{Name: t.get("stats_free")}
	var ls []string
	for _, s := range slots {
		ls = append(ls, s.Start.In(f.tz).Format("15:04"))
		taken.Values = append(taken.Values, float64(s.Units))
		free.Values = append(free.Values, math.Max(0, float64(s.Capacity-s.Units)))
	}
	ss := []chartSeries{taken, free}
	page.Chart = &chart{ID: "occupancy", Title: t.f("stats_chart_occupancy", t.date(f.day.Midnight(f.tz))), Desc: describe(t, l, ss[:1], ls),
		LabelHeader: t.get("stats_slot"), Labels: ls, Series: ss, CSV: "/intern/statistik/belegung.csv" + f.Query(), Lang: l}
	return h.renderStaff(c, fiber.StatusOK, "staff_stats_occupancy", "stats_occupancy", page)
}

func (h *Handler) statsOccupancyCSV(c *fiber.Ctx) error {
	f, _, err := h.statsPageForm(c, false, true)
	if f == nil || err != nil {
		return err
	}
	if len(f.Errors) > 0 {
		return h.statsOccupancy(c)
	}
	slots, err := h.Stats.Occupancy(c.UserContext(), f.Location, f.day)
	if err != nil {
		return err
	}
	rows := make([][]string, len(slots))
	for i, s := range slots {
		share := 0.0
		if s.Capacity > 0 {
			share = 100 * float64(s.Units) / float64(s.Capacity)
		}
		rows[i] = []string{f.Location, s.Start.In(f.tz).Format("2006-01-02 15:04"), strconv.Itoa(s.Units), strconv.Itoa(s.Capacity), csvDecimal(share)}
	}
	return sendCSV(c, "belegung-"+f.Location+"-"+f.day.String()+".csv", []string{"standort", "zeitfenster", "belegt", "kapazitaet", "auslastung_prozent"}, rows)
}

type tomorrowPage struct {
	Form                 *statsForm
	Day                  string
	Chart                *chart
	Appointments, WalkIn string
	Weeks                int
}

// tomorrow is the day after today at the location.
func (h *Handler) tomorrow(f *statsForm) booking.Date {
	return booking.DateOf(h.now().In(f.tz)).AddDays(1)
}

func (h *Handler) statsTomorrow(c *fiber.Ctx) error {
	f, t, err := h.statsPageForm(c, false, false)
	if f == nil || err != nil {
		return err
	}
	day := h.tomorrow(f)
	hours, err := h.Stats.Expected(c.UserContext(), f.Location, day, expectedWeeks)
	if err != nil {
		return err
	}
	l := lang(c)
	appts := chartSeries{Name: t.get("stats_expected_appointments")}
	walk := chartSeries{Name: t.f("stats_expected_walkins", expectedWeeks), Decimals: 1}
	total := chartSeries{Name: t.get("stats_expected_total"), Decimals: 1}
	var ls []string
	var sumA, sumW float64
	for _, e := range hours {
		ls = append(ls, fmt.Sprintf("%02d:00", e.Hour))
		appts.Values = append(appts.Values, float64(e.Appointments))
		walk.Values = append(walk.Values, e.WalkInsAverage)
		total.Values = append(total.Values, float64(e.Appointments)+e.WalkInsAverage)
		sumA += float64(e.Appointments)
		sumW += e.WalkInsAverage
	}
	ss := []chartSeries{appts, walk, total}
	c0 := chart{Lang: l}
	page := tomorrowPage{Form: f, Day: t.date(day.Midnight(f.tz)), Weeks: expectedWeeks,
		Appointments: c0.number(sumA, 0), WalkIn: c0.number(sumW, 1),
		Chart: &chart{ID: "tomorrow", Title: t.f("stats_chart_tomorrow", t.date(day.Midnight(f.tz))), Desc: describe(t, l, ss[2:], ls),
			LabelHeader: t.get("stats_hour"), Labels: ls, Series: ss, CSV: "/intern/statistik/morgen.csv" + f.Query(), Lang: l}}
	return h.renderStaff(c, fiber.StatusOK, "staff_stats_tomorrow", "stats_tomorrow", page)
}

func (h *Handler) statsTomorrowCSV(c *fiber.Ctx) error {
	f, _, err := h.statsPageForm(c, false, false)
	if f == nil || err != nil {
		return err
	}
	day := h.tomorrow(f)
	hours, err := h.Stats.Expected(c.UserContext(), f.Location, day, expectedWeeks)
	if err != nil {
		return err
	}
	rows := make([][]string, len(hours))
	for i, e := range hours {
		rows[i] = []string{f.Location, day.String(), fmt.Sprintf("%02d:00", e.Hour), strconv.Itoa(e.Appointments),
			csvDecimal(e.WalkInsAverage), csvDecimal(float64(e.Appointments) + e.WalkInsAverage)}
	}
	return sendCSV(c, "morgen-"+f.Location+"-"+day.String()+".csv",
		[]string{"standort", "tag", "stunde", "termine", "laufkundschaft_mittel", "erwartet"}, rows)
}
