package device

import "time"

type redemptionsRequest struct {
	Redemptions []redemptionIn `json:"redemptions"`
}

type redemptionIn struct {
	QR        string    `json:"qr"`
	Nonce     string    `json:"nonce"`
	ScannedAt time.Time `json:"scanned_at"`
	Offline   bool      `json:"offline"`
}

// Results of a scan.
const (
	resultAdmitted = "admitted"
	resultRefused  = "refused"
	// resultFlagged: an offline admission of a ticket that was not valid
	// (reason says why), recorded for staff to look at.
	resultFlagged = "flagged"
)

type redemptionOut struct {
	Nonce          string     `json:"nonce"`
	Result         string     `json:"result"` // admitted, refused, flagged
	Code           string     `json:"code,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	FirstScannedAt *time.Time `json:"first_scanned_at,omitempty"`
}

type redemptionsJSON struct {
	Results []redemptionOut `json:"results"`
}
