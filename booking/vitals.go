package booking

import "time"

// Vitals is the booking record's state as monitoring sees it: the mail
// outbox and the kiosk devices.
type Vitals struct {
	// MailPending and MailDead count booking events by kind that wait to
	// be mailed or were given up.
	MailPending, MailDead map[string]int
	// MailLag is how long the oldest due event has waited (0: none).
	MailLag time.Duration
	// DevicesEnrolled counts enrolled devices; DevicesOnline those that
	// sent a heartbeat within DeviceOnlineWithin.
	DevicesEnrolled, DevicesOnline int
	// Printers counts the online devices by their printer's state: ok,
	// paper_low, paper_out, cover_open, offline, disconnected or none.
	Printers map[string]int
}

// DeviceOnlineWithin is how recent a device's last heartbeat must be for
// it to count as online.
const DeviceOnlineWithin = 2 * time.Minute
