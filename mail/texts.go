package mail

import (
	"fmt"
	"strings"
	"time"
)

// texts is the catalogue of one language: every word a message uses.
type texts struct {
	greeting, greetingNoName, closing string
	subject                           map[string]string // kind → format with the code and the short time
	intro                             map[string]string // kind → first paragraph
	introPool                         map[string]string // pool wording where it differs

	labelCode, labelWhen, labelPrevious, labelWhere, labelServices, labelTickets,
	labelPersons, labelFee, labelBring string

	feePaidOnline, feeAtCounter string

	actionManage, actionActivate, actionBookAgain string
	linkHint                                      string

	calendarAdded, calendarUpdated, calendarRemoved string
	refund                                          string
	// officeCancelled explains a cancellation by the office, with its
	// reason.
	officeCancelled            string
	activationDeadline         string
	notRequested               string
	keepLink                   string
	calendarDescription        string
	alarm                      string
	summaryOffice, summaryPool string

	weekdays [7]string
	months   [12]string
}

var catalogue = map[string]*texts{
	"de": {
		greeting:       "Guten Tag %s,",
		greetingNoName: "Guten Tag,",
		closing:        "Mit freundlichen Grüßen",
		subject: map[string]string{
			KindConfirmed:           "Terminbestätigung %s: %s",
			KindCancelled:           "Termin storniert %s: %s",
			KindRescheduled:         "Termin verschoben %s: %s",
			KindReminder:            "Erinnerung an Ihren Termin %s: %s",
			KindActivationRequested: "Bitte bestätigen Sie Ihre Buchung %s: %s",
			KindActivationExpired:   "Buchung nicht bestätigt und freigegeben %s: %s",
			KindManageLink:          "Ihr Link zur Buchung %s: %s",
		},
		intro: map[string]string{
			KindConfirmed:           "Ihr Termin ist gebucht.",
			KindCancelled:           "Ihr Termin wurde storniert.",
			KindRescheduled:         "Ihr Termin wurde verschoben. Es gilt die neue Zeit.",
			KindReminder:            "wir erinnern Sie an Ihren Termin.",
			KindActivationRequested: "bitte bestätigen Sie Ihre Buchung. Erst mit Ihrer Bestätigung ist der Termin für Sie reserviert.",
			KindActivationExpired:   "Sie haben Ihre Buchung nicht rechtzeitig bestätigt. Der Termin wurde freigegeben.",
			KindManageLink:          "hier ist der Link zu Ihrer Buchung, wie angefordert.",
		},
		introPool: map[string]string{
			KindConfirmed: "Ihre Buchung ist bestätigt.",
			KindCancelled: "Ihre Buchung wurde storniert.",
		},
		labelCode:           "Buchungsnummer",
		labelWhen:           "Zeit",
		labelPrevious:       "Bisherige Zeit",
		labelWhere:          "Ort",
		labelServices:       "Anliegen",
		labelTickets:        "Tickets",
		labelPersons:        "Personen",
		labelFee:            "Gebühr",
		labelBring:          "Bitte mitbringen",
		feePaidOnline:       "%s, online bezahlt",
		feeAtCounter:        "%s, vor Ort zu zahlen",
		actionManage:        "Buchung ansehen, verschieben oder absagen",
		actionActivate:      "Buchung bestätigen",
		actionBookAgain:     "Neuen Termin buchen",
		linkHint:            "Falls der Link nicht funktioniert, kopieren Sie diese Adresse in Ihren Browser:",
		calendarAdded:       "Im Anhang finden Sie den Termin für Ihren Kalender.",
		calendarUpdated:     "Im Anhang finden Sie den geänderten Termin für Ihren Kalender.",
		calendarRemoved:     "Der Anhang entfernt den Termin aus Ihrem Kalender.",
		refund:              "Den bezahlten Betrag von %s erstatten wir auf dem Weg, auf dem Sie bezahlt haben. Das kann einige Tage dauern.",
		officeCancelled:     "Wir mussten den Termin leider absagen. Grund: %s. Bitte entschuldigen Sie; Sie können gern einen neuen Termin buchen.",
		activationDeadline:  "Bitte bestätigen Sie bis %s. Danach wird der Termin wieder freigegeben.",
		notRequested:        "Wenn Sie das nicht angefordert haben, können Sie diese E-Mail ignorieren.",
		keepLink:            "Geben Sie den Link nicht weiter: Mit ihm kann die Buchung geändert und abgesagt werden.",
		calendarDescription: "Buchungsnummer %s. Den Link zum Verschieben oder Absagen finden Sie in der Bestätigungs-E-Mail.",
		alarm:               "Morgen: %s",
		summaryOffice:       "Termin %s: %s",
		summaryPool:         "%s: %s",
		weekdays:            [7]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
		months:              [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	},
	"en": {
		greeting:       "Hello %s,",
		greetingNoName: "Hello,",
		closing:        "Kind regards",
		subject: map[string]string{
			KindConfirmed:           "Booking confirmed %s: %s",
			KindCancelled:           "Booking cancelled %s: %s",
			KindRescheduled:         "Booking moved %s: %s",
			KindReminder:            "Reminder of your appointment %s: %s",
			KindActivationRequested: "Please confirm your booking %s: %s",
			KindActivationExpired:   "Booking not confirmed and released %s: %s",
			KindManageLink:          "Your link to booking %s: %s",
		},
		intro: map[string]string{
			KindConfirmed:           "Your appointment is booked.",
			KindCancelled:           "Your appointment has been cancelled.",
			KindRescheduled:         "Your appointment has been moved. The new time applies.",
			KindReminder:            "This is a reminder of your appointment.",
			KindActivationRequested: "Please confirm your booking. The appointment is reserved for you only once you confirm it.",
			KindActivationExpired:   "You did not confirm your booking in time, so the appointment has been released.",
			KindManageLink:          "Here is the link to your booking, as requested.",
		},
		introPool: map[string]string{
			KindConfirmed: "Your booking is confirmed.",
			KindCancelled: "Your booking has been cancelled.",
		},
		labelCode:           "Booking code",
		labelWhen:           "Time",
		labelPrevious:       "Previous time",
		labelWhere:          "Place",
		labelServices:       "Services",
		labelTickets:        "Tickets",
		labelPersons:        "Persons",
		labelFee:            "Fee",
		labelBring:          "Please bring",
		feePaidOnline:       "%s, paid online",
		feeAtCounter:        "%s, to be paid on site",
		actionManage:        "View, move or cancel the booking",
		actionActivate:      "Confirm the booking",
		actionBookAgain:     "Book a new appointment",
		linkHint:            "If the link does not work, copy this address into your browser:",
		calendarAdded:       "The attachment adds the appointment to your calendar.",
		calendarUpdated:     "The attachment updates the appointment in your calendar.",
		calendarRemoved:     "The attachment removes the appointment from your calendar.",
		refund:              "We refund the %s you paid the way you paid it. This can take a few days.",
		officeCancelled:     "We are sorry that we had to cancel the appointment. Reason: %s. You are welcome to book a new one.",
		activationDeadline:  "Please confirm by %s. After that the appointment is released again.",
		notRequested:        "If you did not ask for this, you can ignore this e-mail.",
		keepLink:            "Do not pass the link on: it allows changing and cancelling the booking.",
		calendarDescription: "Booking code %s. The link to move or cancel it is in the confirmation e-mail.",
		alarm:               "Tomorrow: %s",
		summaryOffice:       "Appointment %s: %s",
		summaryPool:         "%s: %s",
		weekdays:            [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		months:              [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	},
}

// textsFor returns the catalogue of lang, German for anything else.
func textsFor(lang string) (*texts, string) {
	if lang == "en" {
		return catalogue["en"], "en"
	}
	return catalogue["de"], "de"
}

// when formats an appointment's time in full: "Dienstag, 8. Dezember 2026,
// 10:30–10:50 Uhr" or "Tuesday, 8 December 2026, 10:30–10:50".
func (t *texts) when(lang string, start, end time.Time) string {
	day := t.day(lang, start)
	span := start.Format("15:04")
	if !end.IsZero() {
		if sameDay(start, end) {
			span += "–" + end.Format("15:04")
		} else {
			span += " – " + t.day(lang, end) + ", " + end.Format("15:04")
		}
	}
	if lang == "de" {
		span += " Uhr"
	}
	return day + ", " + span
}

func (t *texts) day(lang string, d time.Time) string {
	if lang == "de" {
		return fmt.Sprintf("%s, %d. %s %d", t.weekdays[d.Weekday()], d.Day(), t.months[d.Month()-1], d.Year())
	}
	return fmt.Sprintf("%s, %d %s %d", t.weekdays[d.Weekday()], d.Day(), t.months[d.Month()-1], d.Year())
}

// short formats a time for subjects: "08.12.2026, 10:30 Uhr" or
// "8 Dec 2026, 10:30".
func (t *texts) short(lang string, d time.Time) string {
	if lang == "de" {
		return d.Format("02.01.2006, 15:04") + " Uhr"
	}
	return d.Format("2 Jan 2006, 15:04")
}

// money formats cents: "12,50 €" or "€12.50".
func money(lang string, cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	if lang == "de" {
		return fmt.Sprintf("%s%d,%02d €", sign, cents/100, cents%100)
	}
	return fmt.Sprintf("%s€%d.%02d", sign, cents/100, cents%100)
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// oneLine makes a value safe for a header or a table cell: line breaks and
// other control characters become spaces.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r < 0x20 || r == 0x7f
	}), " ")
}
