package device

import "time"

type walkInRequest struct {
	Service string `json:"service"`
}

type checkInRequest struct {
	QR   string `json:"qr"`
	Code string `json:"code"`
}

// ticketJSON is what a kiosk prints.
type ticketJSON struct {
	ID                   int64     `json:"id"`
	Number               string    `json:"number"`
	Location             string    `json:"location"`
	LocationName         string    `json:"location_name"`
	Service              string    `json:"service,omitempty"`
	ServiceName          string    `json:"service_name,omitempty"`
	Ahead                int       `json:"ahead"`
	EstimatedWaitMinutes int       `json:"estimated_wait_minutes"`
	CreatedAt            time.Time `json:"created_at"`
	// Appointment is the start of a checked-in appointment (RFC 3339).
	Appointment *string `json:"appointment,omitempty"`
}
