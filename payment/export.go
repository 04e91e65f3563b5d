package payment

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// The import file for the finance system (Finanzverfahren), one per
// booking day, named termin-buchungen-YYYY-MM-DD.csv, with a checksum file
// of the same name plus ".sha256" in sha256sum format. Layout (UTF-8,
// ';'-separated, CSV quoting, amounts in euros with a decimal point):
//
//	satzart;buchungs_id;art;storno_zu;kassenzeichen;betrag;waehrung;wertstellung;buchungsdatum;haushaltsstelle;produkt;sachkonto;kostenstelle;buchungstext;zahlungsart;plattform;plattform_id;referenz;buchungscode
//	B;B-TB0000000018;payment;;TB0000000018;9.00;EUR;2026-05-14;2026-05-14;...
//	S;S-TB0000000018;storno;B-TB0000000018;TB0000000018;-9.00;EUR;...
//	Z;2;0.00;;;;;;;;;;;;;;;;
//
// Satzart B is a posting, S a counter-posting (Storno) naming the posting
// it reverses, Z the control record: number of postings and their sum.
// docs/finance.md describes the fields for finance staff.

// ExportHeader is the first row of an export file.
var ExportHeader = []string{"satzart", "buchungs_id", "art", "storno_zu", "kassenzeichen", "betrag", "waehrung",
	"wertstellung", "buchungsdatum", "haushaltsstelle", "produkt", "sachkonto", "kostenstelle", "buchungstext",
	"zahlungsart", "plattform", "plattform_id", "referenz", "buchungscode"}

// ErrExportMalformed reports an export file that does not follow the layout
// or whose control record does not add up.
var ErrExportMalformed = errors.New("malformed export file")

// ExportFileName is the file of postings booked on day.
func ExportFileName(day time.Time) string {
	return "termin-buchungen-" + day.Format(time.DateOnly) + ".csv"
}

// WriteExport writes postings in the export layout with the control record.
func WriteExport(w io.Writer, postings []Posting) error {
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	if err := cw.Write(ExportHeader); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	var sum int64
	for _, p := range postings {
		rec := "B"
		if p.Kind == "storno" {
			rec = "S"
		}
		sum += p.AmountCents
		if err := cw.Write([]string{rec, p.PostingID, p.Kind, p.Reverses, p.Kassenzeichen, FormatCents(p.AmountCents),
			p.Currency, p.ValueDate.Format(time.DateOnly), p.BookingDate.Format(time.DateOnly), p.Haushaltsstelle,
			p.Produkt, p.Sachkonto, p.Kostenstelle, p.BookingText, p.PaymentMethod, p.Platform, p.PlatformID,
			p.PaymentReference, p.BookingCode}); err != nil {
			return fmt.Errorf("write export: %w", err)
		}
	}
	trailer := make([]string, len(ExportHeader))
	trailer[0], trailer[1], trailer[2] = "Z", strconv.Itoa(len(postings)), FormatCents(sum)
	if err := cw.Write(trailer); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	cw.Flush()
	return cw.Error()
}

// ParseExport reads an export file and checks its control record; finance
// tooling and tests use it to verify what was delivered.
func ParseExport(r io.Reader) ([]Posting, error) {
	cr := csv.NewReader(io.LimitReader(r, 256<<20))
	cr.Comma = ';'
	cr.FieldsPerRecord = len(ExportHeader)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrExportMalformed, err)
	}
	for i := range ExportHeader {
		if head[i] != ExportHeader[i] {
			return nil, fmt.Errorf("%w: header column %d is %q", ErrExportMalformed, i+1, head[i])
		}
	}
	var out []Posting
	var sum int64
	seen := map[string]bool{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: control record missing", ErrExportMalformed)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrExportMalformed, err)
		}
		if rec[0] == "Z" {
			n, err := strconv.Atoi(rec[1])
			if err != nil || n != len(out) {
				return nil, fmt.Errorf("%w: control count %q, %d records", ErrExportMalformed, rec[1], len(out))
			}
			total, err := ParseCents(rec[2])
			if err != nil || total != sum {
				return nil, fmt.Errorf("%w: control sum %q, records add up to %s", ErrExportMalformed, rec[2], FormatCents(sum))
			}
			if _, err := cr.Read(); err != io.EOF {
				return nil, fmt.Errorf("%w: data after the control record", ErrExportMalformed)
			}
			return out, nil
		}
		if (rec[0] != "B" || rec[2] != "payment") && (rec[0] != "S" || rec[2] != "storno") {
			return nil, fmt.Errorf("%w: record type %q/%q", ErrExportMalformed, rec[0], rec[2])
		}
		amount, err := ParseCents(rec[5])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrExportMalformed, err)
		}
		value, err1 := time.Parse(time.DateOnly, rec[7])
		booked, err2 := time.Parse(time.DateOnly, rec[8])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: dates %q %q", ErrExportMalformed, rec[7], rec[8])
		}
		if rec[1] == "" || seen[rec[1]] {
			return nil, fmt.Errorf("%w: posting id %q missing or repeated", ErrExportMalformed, rec[1])
		}
		seen[rec[1]] = true
		if sum+amount > maxCents || sum+amount < -maxCents {
			return nil, fmt.Errorf("%w: sum out of range", ErrExportMalformed)
		}
		sum += amount
		out = append(out, Posting{PostingID: rec[1], Kind: rec[2], Reverses: rec[3], Kassenzeichen: rec[4],
			AmountCents: amount, Currency: rec[6], ValueDate: value, BookingDate: booked, Haushaltsstelle: rec[9],
			Produkt: rec[10], Sachkonto: rec[11], Kostenstelle: rec[12], BookingText: rec[13], PaymentMethod: rec[14],
			Platform: rec[15], PlatformID: rec[16], PaymentReference: rec[17], BookingCode: rec[18]})
	}
}

// writeFileAtomic writes data to dir/name so that a reader sees the old
// file or the whole new one, never a part: temp file, fsync, rename, fsync
// of the directory.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return fmt.Errorf("export %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("export %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("export %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export %s: %w", name, err)
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return fmt.Errorf("export %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("export %s: %w", name, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// checksumLine is the content of a .sha256 file, as sha256sum writes it.
func checksumLine(name string, data []byte) []byte {
	sum := sha256.Sum256(data)
	return []byte(hex.EncodeToString(sum[:]) + "  " + name + "\n")
}

// exportNamePattern matches export and checksum file names; anything else
// in the directory is not served.
var exportNamePattern = regexp.MustCompile(`^termin-buchungen-\d{4}-\d{2}-\d{2}\.csv(\.sha256)?$`)

// ValidExportName reports whether name is an export or checksum file name.
func ValidExportName(name string) bool { return exportNamePattern.MatchString(name) }
