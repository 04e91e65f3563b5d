package agent

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
)

// Languages of the counter page, in the order of its language buttons:
// the city's own, then those most asked for at a German Bürgeramt.
var Languages = []string{"de", "en", "tr", "ar", "uk", "ru"}

// defaultLang is the language a session starts in.
const defaultLang = "de"

// Every text of the counter page, its speech and its messages lives in
// one catalogue per language, ui/lang/<lang>.json; the keys are the same in
// every file (a test checks).
//
//go:embed ui/lang/*.json
var langFiles embed.FS

var catalogues = mustLoadCatalogues()

func mustLoadCatalogues() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, lang := range Languages {
		b, err := langFiles.ReadFile(path.Join("ui/lang", lang+".json"))
		if err != nil {
			panic(fmt.Sprintf("kiosk catalogue %s: %v", lang, err))
		}
		var c map[string]string
		if err := json.Unmarshal(b, &c); err != nil {
			panic(fmt.Sprintf("kiosk catalogue %s: %v", lang, err))
		}
		out[lang] = c
	}
	return out
}

// knownLang reports whether the page speaks lang.
func knownLang(lang string) bool {
	_, ok := catalogues[lang]
	return ok
}

// text is the catalogue entry key in lang, formatted with args when the
// entry holds a verb such as %d. A missing entry falls back to German.
func text(lang, key string, args ...any) string {
	s, ok := catalogues[lang][key]
	if !ok {
		s = catalogues[defaultLang][key]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// textDir is the writing direction of lang.
func textDir(lang string) string {
	if lang == "ar" {
		return "rtl"
	}
	return "ltr"
}

// localText is a text with the language it is actually written in, which
// differs from the page's when only German and English exist (service
// names, messages of the server that the catalogue does not know).
type localText struct {
	Text, Lang string
}

// localMessages are the message codes the catalogue translates: the
// agent's own messages.
var localMessages = map[string]bool{
	msgInvalidCode.Code: true, msgOffline.Code: true, msgPrinter.Code: true, msgPrintFailed.Code: true,
}

// messageText renders a message in lang: from the catalogue when its code
// is there, else the server's German or English wording.
func messageText(lang string, m *Message) localText {
	if m == nil {
		return localText{}
	}
	if localMessages[m.Code] {
		return localText{Text: text(lang, m.Code), Lang: lang}
	}
	if lang == "de" || m.EN == "" {
		return localText{Text: m.DE, Lang: "de"}
	}
	return localText{Text: m.EN, Lang: "en"}
}
