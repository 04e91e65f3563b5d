package response

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/account"
	"github.com/digitale-verwaltung/termin/booking"
	"github.com/digitale-verwaltung/termin/internal/pgtx"
	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/server/fairness"
)

// Answers the HTTP layer gives itself, for requests that fail before or
// beside the domain.
var (
	ErrInvalidJSON = New(400, "invalid_json", "The request body is not valid JSON.", "Der Inhalt der Anfrage ist kein gültiges JSON.")
	// ErrObjectExpected answers a body that is JSON but not an object.
	ErrObjectExpected = New(400, "invalid_json", "The request body must be a JSON object {...}, not an array or a single value.", "Der Inhalt der Anfrage muss ein JSON-Objekt {...} sein, kein Array und kein einzelner Wert.")
	// ErrEncodingUnsupported answers a compressed body: requests are
	// taken as sent, so a small body cannot unpack to gigabytes.
	ErrEncodingUnsupported = New(415, "encoding_unsupported", "Compressed request bodies are not accepted; send the body uncompressed.", "Komprimierte Anfragen werden nicht angenommen; bitte senden Sie den Inhalt unkomprimiert.")
	// ErrInputRejected answers a value the database refused to store or
	// compare (SQLSTATE class 22), which the screening let through: the
	// request is at fault, and retrying it cannot help.
	ErrInputRejected      = New(422, "input_rejected", "A value of the request cannot be processed.", "Ein Wert der Anfrage kann nicht verarbeitet werden.")
	ErrNotFound           = New(404, "not_found", "There is nothing at this address.", "Unter dieser Adresse gibt es nichts.")
	ErrMethodNotAllowed   = New(405, "method_not_allowed", "This method is not allowed here.", "Diese Methode ist hier nicht erlaubt.")
	ErrUnauthorized       = New(401, "unauthorized", "A valid access token is required.", "Ein gültiges Zugangstoken ist erforderlich.")
	ErrStaffUnauthorized  = New(401, "unauthorized", "A valid staff or administrator key is required.", "Ein gültiger Mitarbeiter- oder Administratorschlüssel ist erforderlich.")
	ErrForbidden          = New(403, "forbidden", "Your account may not do this.", "Ihr Zugang darf das nicht.")
	ErrDeviceUnauthorized = New(401, "device_unauthorized", "This device is not enrolled or its token is invalid.", "Dieses Gerät ist nicht angemeldet oder sein Token ist ungültig.")
	ErrRequestTimeout     = New(408, "request_timeout", "The request took too long to arrive.", "Die Anfrage kam nicht rechtzeitig an.")
	ErrTooLarge           = New(413, "too_large", "The request is too large.", "Die Anfrage ist zu groß.")
	ErrHeadersTooLarge    = New(431, "too_large", "The request headers are too large.", "Die Kopfzeilen der Anfrage sind zu groß.")
	ErrInternal           = New(500, "internal", "Something went wrong on our side. Please try again.", "Bei uns ist ein Fehler aufgetreten. Bitte versuchen Sie es erneut.")
	// ErrUnavailable answers every store outage, on every route.
	ErrUnavailable = &Error{Status: 503, Code: "unavailable", RetryAfter: 2,
		Message:   "The booking service is briefly unavailable. Please try again in a moment.",
		MessageDE: "Die Terminbuchung ist kurz nicht erreichbar. Bitte versuchen Sie es gleich noch einmal."}

	ErrRangeTooLong = New(400, "range_too_long", "At most 31 days can be queried at once.", "Es können höchstens 31 Tage auf einmal abgefragt werden.")
	// ErrExportNotFound answers a request for an export file that is not
	// there (or a name that cannot be one).
	ErrExportNotFound = New(404, "export_not_found", "There is no export file of this name.", "Eine Exportdatei dieses Namens gibt es nicht.")
)

// errPaymentUnavailable answers a payment that could not be started
// because the platform did not answer.
var errPaymentUnavailable = &Error{Status: 503, Code: "payment_unavailable", RetryAfter: 30,
	Message:   "The payment service cannot be reached. Nothing was booked; please try again shortly.",
	MessageDE: "Der Bezahldienst ist nicht erreichbar. Es wurde nichts gebucht; bitte versuchen Sie es gleich noch einmal."}

var errPasswordRules = New(422, "password_invalid", "The password must have 12 to 128 characters and no control characters.", "Das Passwort muss 12 bis 128 Zeichen lang sein und darf keine Steuerzeichen enthalten.")

var errTicketInvalid = New(422, "ticket_invalid", "This code is not a valid ticket.", "Dieser Code ist kein gültiges Ticket.")

// Mapping is one row of the error table: an error that wraps every one of
// Errs is answered with Answer.
type Mapping struct {
	Errs   []error
	Answer *Error
}

// Table maps the domain's outcomes to answers, first match wins. It is the
// only place that decides how a domain error is answered.
var Table = []Mapping{
	// Input the database refused is the client's fault, not an outage.
	{[]error{pgtx.ErrInputRejected}, ErrInputRejected},
	// Store outages first: a wrapped outage may carry another sentinel too.
	{[]error{booking.ErrUnavailable}, ErrUnavailable},
	{[]error{fairness.ErrUnavailable}, ErrUnavailable},
	{[]error{payment.ErrStoreUnavailable}, ErrUnavailable},
	{[]error{context.DeadlineExceeded}, ErrUnavailable},

	{[]error{booking.ErrLocationUnknown}, New(404, "location_not_found", "This location does not exist.", "Diesen Standort gibt es nicht.")},
	{[]error{booking.ErrServiceUnknown}, New(404, "service_not_found", "This service is not offered at this location.", "Diese Dienstleistung wird an diesem Standort nicht angeboten.")},
	{[]error{booking.ErrSlotFull}, New(409, "slot_full", "Not enough places are free at this time. Please choose another time.", "Zu dieser Zeit sind nicht genug Plätze frei. Bitte wählen Sie eine andere Zeit.")},
	{[]error{booking.ErrSlotInvalid}, New(422, "slot_invalid", "No appointment can start at this time.", "Zu dieser Zeit kann kein Termin beginnen.")},
	{[]error{booking.ErrNotReleased}, New(422, "not_released", "Appointments on this day are not released for booking yet.", "Termine an diesem Tag sind noch nicht zur Buchung freigegeben.")},
	{[]error{booking.ErrSlotPast}, New(422, "slot_past", "This time has already passed.", "Dieser Zeitpunkt liegt in der Vergangenheit.")},
	{[]error{booking.ErrUnitsInvalid}, New(422, "units_invalid", "The number of places is not allowed for this service.", "Die Anzahl der Plätze ist für diese Dienstleistung nicht zulässig.")},
	{[]error{booking.ErrHoldNotFound}, New(404, "hold_not_found", "This reservation does not exist.", "Diese Reservierung gibt es nicht.")},
	{[]error{booking.ErrHoldExpired}, New(410, "hold_expired", "The reservation has expired. Please choose a time again.", "Die Reservierung ist abgelaufen. Bitte wählen Sie erneut einen Termin.")},
	{[]error{booking.ErrHoldReleased}, New(410, "hold_released", "This reservation was released. Please choose a time again.", "Diese Reservierung wurde freigegeben. Bitte wählen Sie erneut einen Termin.")},
	{[]error{booking.ErrHoldUsed}, New(409, "hold_used", "This reservation has already been booked.", "Diese Reservierung wurde bereits gebucht.")},
	{[]error{booking.ErrNameInvalid}, New(422, "name_invalid", "Please enter a name (at most 200 characters).", "Bitte geben Sie einen Namen ein (höchstens 200 Zeichen).")},
	{[]error{booking.ErrEmailInvalid}, New(422, "email_invalid", "Please enter a valid e-mail address.", "Bitte geben Sie eine gültige E-Mail-Adresse ein.")},
	{[]error{booking.ErrBookingNotFound}, New(404, "booking_not_found", "No booking matches this code and token.", "Zu diesem Code und Token gibt es keine Buchung.")},
	{[]error{booking.ErrAlreadyCancelled}, New(409, "already_cancelled", "This booking was cancelled before.", "Diese Buchung wurde bereits storniert.")},
	{[]error{booking.ErrTooLate}, New(409, "too_late", "This appointment can no longer be changed.", "Dieser Termin kann nicht mehr geändert werden.")},
	{[]error{booking.ErrContactLimit}, New(409, "contact_limit", "This e-mail address already has the most bookings allowed at this location on this day.", "Für diese E-Mail-Adresse gibt es an diesem Tag und Standort bereits die höchstens erlaubte Zahl an Buchungen.")},
	{[]error{fairness.ErrChallengeRequired}, New(428, "challenge_required", "Many people are booking right now. Please solve the challenge from /api/v1/challenge and send it with the reservation.", "Gerade buchen sehr viele Menschen. Bitte lösen Sie die Aufgabe von /api/v1/challenge und senden Sie sie mit der Reservierung.")},
	{[]error{fairness.ErrChallengeInvalid}, New(403, "challenge_invalid", "The solved challenge is wrong, expired or already used. Please fetch a new one.", "Die gelöste Aufgabe ist falsch, abgelaufen oder schon benutzt. Bitte holen Sie eine neue.")},

	// Waiting room (issue 12): a place costs a proof of work, holds need
	// an admission while the room is active.
	{[]error{fairness.ErrRoomInactive}, New(409, "waiting_room_inactive", "There is no waiting room at this location now; book directly.", "An diesem Standort gibt es gerade keinen Warteraum; Sie können direkt buchen.")},
	{[]error{fairness.ErrNotInRoom}, New(404, "not_in_waiting_room", "This browser has no place in the waiting room (never joined, or away too long). Join with POST /api/v1/waiting-rooms/{location}/position.", "Dieser Browser hat keinen Platz im Warteraum (nie angestellt oder zu lange weg). Anstellen mit POST /api/v1/waiting-rooms/{location}/position.")},
	{[]error{fairness.ErrAdmissionRequired}, New(403, "admission_required", "A waiting room is active at this location. Join it at /api/v1/waiting-rooms/{location} and send the admission token in the Admission-Token header.", "An diesem Standort ist ein Warteraum aktiv. Bitte stellen Sie sich unter /api/v1/waiting-rooms/{location} an und senden Sie die Zulassung im Header Admission-Token.")},
	{[]error{fairness.ErrAdmissionInvalid}, New(403, "admission_invalid", "The admission token is forged, expired, for another location or from another browser. Join the waiting room again.", "Die Zulassung ist gefälscht, abgelaufen, für einen anderen Standort oder aus einem anderen Browser. Bitte stellen Sie sich erneut an.")},
	{[]error{fairness.ErrAdmissionUsed}, New(409, "admission_used", "This admission has placed as many holds as one admission allows. Join the waiting room again.", "Mit dieser Zulassung wurden schon so viele Reservierungen gemacht, wie eine Zulassung erlaubt. Bitte stellen Sie sich erneut an.")},

	{[]error{booking.ErrDeviceUnknown}, ErrDeviceUnauthorized},
	{[]error{booking.ErrDeviceMode}, New(422, "device_mode_invalid", "The mode must be counter or gate.", "Der Modus muss counter oder gate sein.")},
	{[]error{booking.ErrEnrollmentCode}, New(410, "enrollment_invalid", "This enrollment code is unknown, used or expired.", "Dieser Anmeldecode ist unbekannt, verbraucht oder abgelaufen.")},
	{[]error{booking.ErrQueueEmpty}, New(409, "queue_empty", "Nobody is waiting.", "Niemand wartet.")},
	{[]error{booking.ErrTicketNotFound}, New(404, "ticket_not_found", "This queue number does not exist.", "Diese Wartenummer gibt es nicht.")},
	{[]error{booking.ErrTicketState}, New(409, "ticket_state", "This is not possible in the ticket's current state.", "Das ist im aktuellen Zustand der Nummer nicht möglich.")},
	{[]error{booking.ErrCheckInUnknown}, New(404, "checkin_not_found", "There is no appointment with this code. Please check the code on your confirmation or ask at the counter.", "Zu diesem Code gibt es keinen Termin. Bitte prüfen Sie den Code auf Ihrer Bestätigung oder fragen Sie am Schalter.")},
	{[]error{booking.ErrCheckInWrongDay}, New(422, "checkin_wrong_day", "This appointment is not today.", "Dieser Termin ist nicht heute.")},
	{[]error{booking.ErrCheckInTooEarly}, New(422, "checkin_too_early", "It is too early to check in for this appointment.", "Für diesen Termin ist es noch zu früh zum Einchecken.")},
	{[]error{booking.ErrCheckInTooLate}, New(422, "checkin_too_late", "The time to check in for this appointment has passed.", "Die Zeit zum Einchecken für diesen Termin ist vorbei.")},
	{[]error{booking.ErrCheckInWrongSite}, New(422, "wrong_location", "This appointment is at another location.", "Dieser Termin ist an einem anderen Standort.")},
	{[]error{booking.ErrBookingCancelled}, New(409, "booking_cancelled", "This booking has been cancelled.", "Diese Buchung wurde storniert.")},
	{[]error{booking.ErrLocationClosed}, New(409, "location_closed", "This location is closed now.", "Dieser Standort ist jetzt geschlossen.")},
	{[]error{booking.ErrBookingUnpaid}, New(409, "booking_unpaid", "This booking has not been paid.", "Diese Buchung ist nicht bezahlt.")},
	{[]error{booking.ErrNonceReused}, New(409, "nonce_reused", "This scan id was already used for another ticket.", "Diese Scan-Kennung wurde schon für ein anderes Ticket verwendet.")},
	{[]error{booking.ErrScanInFuture}, New(422, "scanned_in_future", "The scan is dated in the future.", "Der Scan ist in der Zukunft datiert.")},
	{[]error{booking.ErrAdmittedRevoked}, New(409, "admitted_revoked", "The ticket was admitted offline although its booking is not valid; staff have been told.", "Das Ticket wurde offline eingelassen, obwohl seine Buchung nicht gültig ist; das Personal ist informiert.")},
	{[]error{booking.ErrTicketMalformed}, errTicketInvalid},
	{[]error{booking.ErrTicketSignature}, errTicketInvalid},

	{[]error{payment.ErrStartFailed, payment.ErrUnavailable}, errPaymentUnavailable},
	{[]error{payment.ErrStartFailed}, New(502, "payment_rejected", "The payment service refused the payment. Nothing was booked.", "Der Bezahldienst hat die Zahlung abgelehnt. Es wurde nichts gebucht.")},
	{[]error{payment.ErrPlatformID}, New(502, "payment_platform_error", "The payment service gave an answer that cannot be used. The booking is not confirmed yet; the payment is checked again.", "Der Bezahldienst hat eine unbrauchbare Antwort gegeben. Die Buchung ist noch nicht bestätigt; die Zahlung wird erneut geprüft.")},
	{[]error{payment.ErrPaymentNotFound}, New(404, "payment_not_found", "There is no payment with this reference.", "Zu dieser Referenz gibt es keine Zahlung.")},
	{[]error{payment.ErrMalformedNotification}, New(400, "notification_invalid", "The notification is malformed.", "Die Benachrichtigung ist fehlerhaft.")},
	{[]error{payment.ErrBadSignature}, New(401, "signature_invalid", "The notification signature is invalid.", "Die Signatur der Benachrichtigung ist ungültig.")},
	{[]error{payment.ErrRefundTaskNotFound}, New(404, "refund_task_not_found", "There is no refund with this id on the work list.", "Eine Erstattung mit dieser Nummer gibt es auf der Arbeitsliste nicht.")},
	{[]error{payment.ErrRefundTaskDone}, New(409, "refund_task_done", "This refund has already been marked as done.", "Diese Erstattung ist schon als erledigt markiert.")},
	{[]error{payment.ErrRefundTaskInvalid}, New(422, "refund_task_invalid", "Please name who made the refund (at most 120 characters); the note may have at most 500.", "Bitte geben Sie an, wer erstattet hat (höchstens 120 Zeichen); die Notiz darf höchstens 500 Zeichen haben.")},
	{[]error{reconcile.ErrNotFound}, New(404, "reconciliation_not_found", "There is no reconciliation run with this id.", "Einen Abgleich mit dieser Nummer gibt es nicht.")},

	// Citizen web (issue 10): choices of several services or tickets,
	// double opt-in, rescheduling and the contact's phone and language.
	{[]error{booking.ErrRangeInvalid}, New(400, "range_invalid", "The date range is reversed or longer than 31 days.", "Der Zeitraum ist vertauscht oder länger als 31 Tage.")},
	{[]error{booking.ErrChoiceInvalid}, New(422, "choice_invalid", "These services or tickets cannot be booked together.", "Diese Dienstleistungen oder Karten können nicht zusammen gebucht werden.")},
	{[]error{booking.ErrNotActivatable}, New(409, "not_activatable", "This booking can no longer be confirmed: it was cancelled or the time to confirm it has passed.", "Diese Buchung kann nicht mehr bestätigt werden: Sie wurde storniert oder die Frist zur Bestätigung ist abgelaufen.")},
	{[]error{booking.ErrNotReschedulable}, New(409, "not_reschedulable", "This booking cannot be moved to the chosen time.", "Diese Buchung kann nicht auf die gewählte Zeit verlegt werden.")},
	{[]error{booking.ErrPhoneInvalid}, New(422, "phone_invalid", "Please enter a valid phone number or leave the field empty.", "Bitte geben Sie eine gültige Telefonnummer ein oder lassen Sie das Feld leer.")},
	{[]error{booking.ErrLangInvalid}, New(422, "lang_invalid", "The language must be de or en.", "Die Sprache muss de oder en sein.")},
	// Staff accounts (issue 11).
	{[]error{account.ErrStoreUnavailable}, ErrUnavailable},
	{[]error{account.ErrLoginTaken}, New(409, "login_taken", "This login exists already.", "Diesen Anmeldenamen gibt es schon.")},
	{[]error{account.ErrLoginInvalid}, New(422, "login_invalid", "The login must be 2 to 64 lower-case letters, digits, dots, hyphens or underscores.", "Der Anmeldename muss aus 2 bis 64 Kleinbuchstaben, Ziffern, Punkten, Binde- oder Unterstrichen bestehen.")},
	{[]error{account.ErrNameInvalid}, New(422, "name_invalid", "Please enter a name (at most 100 characters).", "Bitte geben Sie einen Namen ein (höchstens 100 Zeichen).")},
	{[]error{account.ErrNoRoles}, New(422, "roles_invalid", "Give at least one role: desk, desk_lead, pool, finance or admin.", "Bitte geben Sie mindestens eine Rolle an: desk, desk_lead, pool, finance oder admin.")},
	{[]error{account.ErrRoleInvalid}, New(422, "roles_invalid", "Give at least one role: desk, desk_lead, pool, finance or admin.", "Bitte geben Sie mindestens eine Rolle an: desk, desk_lead, pool, finance oder admin.")},
	{[]error{account.ErrPasswordShort}, errPasswordRules},
	{[]error{account.ErrPasswordLong}, errPasswordRules},
	{[]error{account.ErrPasswordInvalid}, errPasswordRules},
	{[]error{account.ErrPasswordLogin}, New(422, "password_contains_login", "The password must not contain the login.", "Das Passwort darf den Anmeldenamen nicht enthalten.")},
	{[]error{account.ErrPasswordCommon}, New(422, "password_common", "This password is too easy to guess.", "Dieses Passwort ist zu leicht zu erraten.")},
	{[]error{payment.ErrAccountingMixed}, New(422, "accounting_mixed", "These tickets cannot be paid together. Please book them separately.", "Diese Karten können nicht zusammen bezahlt werden. Bitte buchen Sie sie einzeln.")},
}

// fiberErrors answers the errors the HTTP framework itself raises.
var fiberErrors = map[int]*Error{
	fiber.StatusNotFound:              ErrNotFound,
	fiber.StatusMethodNotAllowed:      ErrMethodNotAllowed,
	fiber.StatusRequestEntityTooLarge: ErrTooLarge,
	// fasthttp reports a keep-alive connection that stayed idle past the
	// read timeout this way; it is not our failure.
	fiber.StatusRequestTimeout:              ErrRequestTimeout,
	fiber.StatusRequestHeaderFieldsTooLarge: ErrHeadersTooLarge,
	fiber.StatusBadRequest:                  ErrInvalidJSON,
	fiber.StatusUnprocessableEntity:         ErrInvalidJSON,
	fiber.StatusUnsupportedMediaType:        ErrEncodingUnsupported,
}

// For classifies any error a handler returns.
func For(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	for _, m := range Table {
		if wrapsAll(err, m.Errs) {
			return m.Answer
		}
	}
	if connectionLost(err) {
		return ErrUnavailable
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if e, ok := fiberErrors[fe.Code]; ok {
			return e
		}
	}
	return ErrInternal
}

func wrapsAll(err error, targets []error) bool {
	for _, t := range targets {
		if !errors.Is(err, t) {
			return false
		}
	}
	return true
}

// connectionLost reports a store whose connection failed without the
// store naming it an outage: a refused or broken network connection, or
// a database driver's bad connection.
func connectionLost(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn)
}
