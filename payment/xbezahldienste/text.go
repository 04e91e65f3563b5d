package xbezahldienste

import (
	"strings"
	"unicode"
)

// Field limits of the standard, counted in characters.
const (
	MaxPurposeLen     = 27
	MaxDescriptionLen = 250
	MaxIDLen          = 36
)

// letters spells letters outside the patterns' sets the German way, and a
// few marks as what they stand for.
var letters = map[rune]string{
	'ä': "ae", 'ö': "oe", 'ü': "ue", 'Ä': "Ae", 'Ö': "Oe", 'Ü': "Ue", 'ß': "ss", 'ẞ': "SS",
	'&': "und", '–': "-", '—': "-", '/': "-", ':': ".", ';': ",", '+': " ",
}

// wordChar is \w as the standard's (Java) patterns read it: ASCII letters,
// digits and the underscore.
func wordChar(r rune) bool {
	return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

// Purpose builds a purpose matching ^[\w\d\s-]+$ of at most 27
// characters: umlauts are spelt out, accents dropped from other Latin
// letters, anything else left out, spaces collapsed; cut by characters.
func Purpose(s string) string {
	return build(s, MaxPurposeLen, func(r rune) bool { return wordChar(r) || r == '-' }, true)
}

// Description builds a description matching ^[\w\d\s-,\.\u00C0-\u017F]+$
// of at most 250 characters: Latin letters with accents stay (the pattern
// allows U+00C0–U+017F), a colon becomes a full stop (10:00 → 10.00), a
// slash a hyphen, anything else not allowed is left out; cut by
// characters, never inside one.
func Description(s string) string {
	return build(s, MaxDescriptionLen, func(r rune) bool {
		return wordChar(r) || r == '-' || r == ',' || r == '.' || (r >= 0xC0 && r <= 0x17F)
	}, false)
}

func build(s string, max int, allowed func(rune) bool, spellOut bool) string {
	var b strings.Builder
	n := 0
	space := false
	add := func(r rune) bool {
		if n >= max {
			return false
		}
		if space && n > 0 {
			if n+1 >= max {
				return false
			}
			b.WriteByte(' ')
			n++
		}
		space = false
		b.WriteRune(r)
		n++
		return true
	}
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		var out string
		switch {
		case allowed(r) && !(spellOut && r > unicode.MaxASCII):
			out = string(r)
		case letters[r] != "":
			out = letters[r]
		default:
			out = stripAccent(r)
		}
		for _, o := range out {
			if o == ' ' {
				space = true
				continue
			}
			if !allowed(o) {
				continue
			}
			if !add(o) {
				return strings.TrimRight(b.String(), " ")
			}
		}
	}
	return b.String()
}

// stripAccent maps common accented Latin letters to their base letter.
func stripAccent(r rune) string {
	const from = "áàâãåāăąçćčďéèêëēėęěíìîïīįłńňñóòôõøōőŕřśšşťúùûůūűųýÿźżžÁÀÂÃÅĀĂĄÇĆČĎÉÈÊËĒĖĘĚÍÌÎÏĪĮŁŃŇÑÓÒÔÕØŌŐŔŘŚŠŞŤÚÙÛŮŪŰŲÝŸŹŻŽ"
	const to = "aaaaaaaacccdeeeeeeeeiiiiiilnnnooooooorrsssstuuuuuuuyyzzzAAAAAAAACCCDEEEEEEEEIIIIIILNNNOOOOOOORRSSSSTUUUUUUUYYZZZ"
	fr, tr := []rune(from), []rune(to)
	for i, c := range fr {
		if c == r {
			return string(tr[i])
		}
	}
	return ""
}
