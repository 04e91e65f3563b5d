package web

// Texts of the fair-release rules on the booking pages: when days open,
// and the answer to releasing holds too quickly.
var _ = addTexts(map[string]map[string]string{
	"de": {
		// Termine für den 15.12. ab 01.12., 08:00 Uhr.
		"release_notice":      "Termine für den %s ab %s, %s.",
		"quick_release_title": "Bitte etwas Geduld",
		"quick_release_text":  "Sie haben reservierte Zeiten mehrmals nach wenigen Sekunden wieder freigegeben. Bitte warten Sie %d Sekunden, bevor Sie eine andere Zeit reservieren oder diese freigeben. Ihre Reservierung bleibt bis dahin bestehen.",
	},
	"en": {
		"release_notice":      "Appointments for %s open on %s at %s.",
		"quick_release_title": "Please wait a moment",
		"quick_release_text":  "You have given back held times within seconds several times. Please wait %d seconds before you hold another time or give this one back. Your hold stays until then.",
	},
})
