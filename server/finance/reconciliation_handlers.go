package finance

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/payment/camt"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/payment/settlement"
	"github.com/digitale-verwaltung/termin/server/response"
)

// maxUpload bounds one uploaded report or statement.
const maxUpload = 64 << 20

// formFile reads one uploaded file of a multipart request.
func formFile(fh *multipart.FileHeader) ([]byte, error) {
	r, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, maxUpload))
}

// maxBreakdowns bounds the camt.054 files of one run (a month of days).
const maxBreakdowns = 31

// startReconciliation takes the settlement report and the camt.053
// statement as multipart files "settlement" and "camt053", and optionally
// camt.054 breakdowns of the statement's batch entries as files
// "camt054" (several allowed).
func (h *Handler) startReconciliation(c *fiber.Ctx) error {
	var inputs [2][]byte
	for i, name := range []string{"settlement", "camt053"} {
		fh, err := c.FormFile(name)
		if err != nil {
			return response.Invalid(name, "file is required (multipart/form-data)", "Datei ist erforderlich (multipart/form-data)")
		}
		if inputs[i], err = formFile(fh); err != nil {
			return response.Invalid(name, "could not be read", "konnte nicht gelesen werden")
		}
	}
	rep, err := settlement.Parse(bytes.NewReader(inputs[0]))
	if err != nil {
		return response.Unreadable("settlement_invalid", "The settlement report cannot be read", "Der Abrechnungsbericht ist nicht lesbar", err)
	}
	doc, err := camt.Parse(bytes.NewReader(inputs[1]))
	if err == nil && doc.Kind != camt.KindStatement {
		err = fmt.Errorf("%w: a %s notification, not a camt.053 statement (send it as camt054)", camt.ErrMalformed, doc.Kind)
	}
	if err != nil {
		return response.Unreadable("camt_invalid", "The bank statement cannot be read", "Der Kontoauszug ist nicht lesbar", err)
	}
	form, err := c.MultipartForm()
	if err != nil {
		return response.Invalid("camt054", "could not be read", "konnte nicht gelesen werden")
	}
	breakdowns := form.File["camt054"]
	if len(breakdowns) > maxBreakdowns {
		return response.Invalid("camt054", fmt.Sprintf("at most %d files", maxBreakdowns), fmt.Sprintf("höchstens %d Dateien", maxBreakdowns))
	}
	for _, fh := range breakdowns {
		raw, err := formFile(fh)
		if err != nil {
			return response.Invalid("camt054", "could not be read", "konnte nicht gelesen werden")
		}
		ntf, err := camt.Parse(bytes.NewReader(raw))
		if err == nil {
			err = doc.ApplyBreakdown(ntf)
		}
		if err != nil {
			return response.Unreadable("camt054_invalid", "The camt.054 breakdown cannot be read", "Die camt.054-Einzelaufstellung ist nicht lesbar", err)
		}
	}
	run, err := h.Reconciler.Reconcile(c.UserContext(), rep, doc)
	if err != nil {
		return err
	}
	return response.Created(c, newReconciliationJSON(run))
}

func (h *Handler) run(c *fiber.Ctx) (*reconcile.Reconciliation, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return nil, reconcile.ErrNotFound
	}
	return h.Reconciler.Reconciliation(c.UserContext(), id)
}

func (h *Handler) reconciliation(c *fiber.Ctx) error {
	run, err := h.run(c)
	if err != nil {
		return err
	}
	return response.OK(c, newReconciliationJSON(run))
}

func (h *Handler) reconciliationCSV(c *fiber.Ctx) error {
	run, err := h.run(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := reconcile.WriteCSV(&buf, run); err != nil {
		return err
	}
	return response.Attachment(c, "text/csv; charset=utf-8", "abgleich-"+strconv.FormatInt(run.ID, 10)+".csv", buf.Bytes())
}
