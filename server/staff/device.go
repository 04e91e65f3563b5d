package staff

import "github.com/digitale-verwaltung/termin/server/device"

type registerDeviceRequest struct {
	Location string `json:"location"`
	Name     string `json:"name"`
	Mode     string `json:"mode"`
}

type registeredJSON struct {
	Device         device.Device `json:"device"`
	EnrollmentCode string        `json:"enrollment_code"`
}
