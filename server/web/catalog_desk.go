package web

// Texts of the call display, the live ticket page and the desk view.
var _ = addTexts(map[string]map[string]string{
	"de": {
		"display_title":     "Aufrufanzeige",
		"display_heading":   "Aufruf",
		"display_latest":    "Jetzt aufgerufen",
		"display_earlier":   "Zuvor aufgerufen",
		"display_number":    "Nummer",
		"display_desk_col":  "Schalter",
		"display_desk":      "Schalter %s",
		"display_none":      "Noch keine Nummer aufgerufen",
		"display_waiting_0": "Niemand wartet.",
		"display_waiting_1": "1 Person wartet.",
		"display_waiting_n": "%d Personen warten.",
		"display_chime_off": "Ton: aus",
		"display_chime_on":  "Ton: an",
		"display_offline":   "Verbindung unterbrochen – wird wiederhergestellt …",
		"ticket_live":       "Diese Seite aktualisiert sich von selbst.",
	},
	"en": {
		"display_title":     "Call display",
		"display_heading":   "Now serving",
		"display_latest":    "Called now",
		"display_earlier":   "Called before",
		"display_number":    "Number",
		"display_desk_col":  "Desk",
		"display_desk":      "Desk %s",
		"display_none":      "No number called yet",
		"display_waiting_0": "Nobody is waiting.",
		"display_waiting_1": "1 person is waiting.",
		"display_waiting_n": "%d people are waiting.",
		"display_chime_off": "Sound: off",
		"display_chime_on":  "Sound: on",
		"display_offline":   "Connection lost – reconnecting …",
		"ticket_live":       "This page updates by itself.",
	},
})
