package web

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The staff pages' CSV downloads follow what German spreadsheet programs
// open without an import dialog: UTF-8 with a byte order mark (Excel reads
// umlauts wrongly without it), fields separated by ";", decimal comma, CRLF
// line ends, quoting as in RFC 4180.
//
// A text cell that a spreadsheet would take for a formula (starting with
// = + - @, a tab or a carriage return) gets a leading apostrophe, which
// spreadsheets show as text (OWASP "CSV injection"). Cells that are plain
// numbers as the pages write them ("-4,50", "12") are left as they are, so
// amounts stay numbers.

const utf8BOM = "\ufeff"

var csvNumber = regexp.MustCompile(`^-?[0-9]+(,[0-9]+)?$`)

// csvSafe is a cell as it goes into the file.
func csvSafe(cell string) string {
	if cell == "" || csvNumber.MatchString(cell) {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}

// csvFile builds a CSV file of a header row and rows.
func csvFile(header []string, rows [][]string) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(utf8BOM)
	w := csv.NewWriter(&buf)
	w.Comma = ';'
	w.UseCRLF = true
	line := make([]string, 0, len(header))
	for _, r := range append([][]string{header}, rows...) {
		line = line[:0]
		for _, cell := range r {
			line = append(line, csvSafe(cell))
		}
		if err := w.Write(line); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// csvCents writes an amount in euro cents as euros with a decimal comma.
func csvCents(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return sign + strconv.FormatInt(cents/100, 10) + "," + leftPad(strconv.FormatInt(cents%100, 10), 2)
}

// csvDecimal writes a number with one decimal, with a decimal comma.
func csvDecimal(v float64) string {
	return strings.Replace(strconv.FormatFloat(v, 'f', 1, 64), ".", ",", 1)
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// sendCSV answers with a CSV download.
func sendCSV(c *fiber.Ctx, name string, header []string, rows [][]string) error {
	data, err := csvFile(header, rows)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(data)
}
