package finance

import (
	"time"

	"github.com/digitale-verwaltung/termin/payment"
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
	out := exportsJSON{Files: make([]exportFileJSON, len(files))}
	for i, f := range files {
		out.Files[i] = exportFileJSON{Name: f.Name, Size: f.Size, Modified: f.ModTime}
	}
	return out
}
