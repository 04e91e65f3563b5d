package payment

import "strings"

// MaxPurposeLen is the length of one SEPA remittance line that platforms
// accept as Verwendungszweck.
const MaxPurposeLen = 27

// transliterations maps letters outside the SEPA character set to their
// customary German/Latin spelling; anything not listed and not allowed is
// dropped.
var transliterations = map[rune]string{
	'ä': "ae", 'ö': "oe", 'ü': "ue", 'Ä': "Ae", 'Ö': "Oe", 'Ü': "Ue", 'ß': "ss", 'ẞ': "SS",
	'á': "a", 'à': "a", 'â': "a", 'ã': "a", 'å': "a", 'æ': "ae",
	'Á': "A", 'À': "A", 'Â': "A", 'Ã': "A", 'Å': "A", 'Æ': "Ae",
	'é': "e", 'è': "e", 'ê': "e", 'ë': "e", 'É': "E", 'È': "E", 'Ê': "E", 'Ë': "E",
	'í': "i", 'ì': "i", 'î': "i", 'ï': "i", 'Í': "I", 'Ì': "I", 'Î': "I", 'Ï': "I",
	'ó': "o", 'ò': "o", 'ô': "o", 'õ': "o", 'ø': "o", 'œ': "oe",
	'Ó': "O", 'Ò': "O", 'Ô': "O", 'Õ': "O", 'Ø': "O", 'Œ': "Oe",
	'ú': "u", 'ù': "u", 'û': "u", 'Ú': "U", 'Ù': "U", 'Û': "U",
	'ç': "c", 'Ç': "C", 'ñ': "n", 'Ñ': "N", 'š': "s", 'Š': "S", 'ž': "z", 'Ž': "Z",
	'ł': "l", 'Ł': "L", 'ć': "c", 'Ć': "C", 'č': "c", 'Č': "C", 'ř': "r", 'Ř': "R",
	'&': "+", '_': "-", '–': "-", '—': "-", '„': "'", '“': "'", '”': "'", '‚': "'", '‘': "'", '’': "'",
}

// sepaAllowed reports whether r is in the SEPA basic Latin character set
// (EPC guidelines): a-z A-Z 0-9 / - ? : ( ) . , ' + and space.
func sepaAllowed(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("/-?:().,'+ ", r)
}

// SanitizePurpose turns s into a SEPA-safe purpose of at most MaxPurposeLen
// characters: umlauts become ae/oe/ue/ss, other accented letters lose their
// accent, unsupported characters are dropped, whitespace is collapsed. Banks
// and platforms reject or mangle anything else, and the purpose is what the
// treasury reads off the bank statement.
func SanitizePurpose(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		var out string
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0':
			space = b.Len() > 0
			continue
		case sepaAllowed(r):
			out = string(r)
		default:
			out = transliterations[r]
		}
		if out == "" {
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteString(out)
	}
	res := b.String()
	if len(res) > MaxPurposeLen {
		res = strings.TrimRight(res[:MaxPurposeLen], " ")
	}
	return res
}
