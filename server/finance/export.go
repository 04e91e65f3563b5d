package finance

import (
	"time"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/server/response"
)

type exportFileJSON struct {
	Name     string    `json:"name"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
}

type exportsJSON struct {
	Files []exportFileJSON `json:"files"`
}

func newExportsJSON(files []payment.ExportFile) exportsJSON {
	return exportsJSON{Files: response.List(files, func(f *payment.ExportFile) exportFileJSON {
		return exportFileJSON{Name: f.Name, Size: f.Size, Modified: f.ModTime}
	})}
}
