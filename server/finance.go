package main

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/camt"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
	"github.com/digitale-verwaltung/termin/payment/settlement"
)

// finance serves the treasury's view: postings, payments, export files,
// reconciliation runs and dead letters, behind the administrator key.
type finance struct {
	pay *payments
}

func (f *finance) routes(app *fiber.App, guard fiber.Handler) {
	g := app.Group("/api/v1/finance", guard)
	g.Get("/postings", f.postings)
	g.Get("/payments", f.payments)
	g.Get("/exports", f.exports)
	g.Get("/exports/:name", f.exportFile)
	g.Post("/reconciliations", f.startReconciliation)
	g.Get("/reconciliations/:id", f.reconciliation)
	g.Get("/reconciliations/:id/csv", f.reconciliationCSV)
	g.Get("/dead-letters", f.deadLetters)
}

// dateQuery reads an optional YYYY-MM-DD parameter.
func dateQuery(c *fiber.Ctx, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return t, invalidField(name, "must be a date YYYY-MM-DD", "muss ein Datum JJJJ-MM-TT sein")
	}
	return t, nil
}

func (f *finance) postings(c *fiber.Ctx) error {
	from, err := dateQuery(c, "from")
	if err != nil {
		return err
	}
	to, err := dateQuery(c, "to")
	if err != nil {
		return err
	}
	list, err := f.pay.store.ListPostings(c.UserContext(), payment.PostingFilter{
		Kind: c.Query("kind"), Kassenzeichen: c.Query("kassenzeichen"), From: from, To: to, Limit: c.QueryInt("limit"),
	})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"postings": list})
}

func (f *finance) payments(c *fiber.Ctx) error {
	from, err := dateQuery(c, "from")
	if err != nil {
		return err
	}
	to, err := dateQuery(c, "to")
	if err != nil {
		return err
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1) // inclusive
	}
	list, err := f.pay.store.ListPayments(c.UserContext(), payment.PaymentFilter{
		State: c.Query("state"), Kassenzeichen: c.Query("kassenzeichen"), From: from, To: to, Limit: c.QueryInt("limit"),
	})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"payments": list})
}

var errExportNotFound = newError(404, "export_not_found", "There is no export file of this name.", "Eine Exportdatei dieses Namens gibt es nicht.")

func (f *finance) exports(c *fiber.Ctx) error {
	if f.pay.cfg.ExportDir == "" {
		return c.JSON(fiber.Map{"files": []payment.ExportFile{}})
	}
	files, err := payment.ExportFiles(f.pay.cfg.ExportDir)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"files": files})
}

func (f *finance) exportFile(c *fiber.Ctx) error {
	name := c.Params("name")
	if f.pay.cfg.ExportDir == "" || !payment.ValidExportName(name) {
		return errExportNotFound
	}
	data, err := os.ReadFile(filepath.Join(f.pay.cfg.ExportDir, name))
	if errors.Is(err, os.ErrNotExist) {
		return errExportNotFound
	}
	if err != nil {
		return err
	}
	ct := "text/csv; charset=utf-8"
	if filepath.Ext(name) == ".sha256" {
		ct = "text/plain; charset=utf-8"
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Send(data)
}

// formFile reads one uploaded file of a multipart request.
func formFile(fh *multipart.FileHeader) ([]byte, error) {
	r, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 64<<20))
}

// startReconciliation takes the settlement report and the camt.053
// statement as multipart files "settlement" and "camt053".
func (f *finance) startReconciliation(c *fiber.Ctx) error {
	var inputs [2][]byte
	for i, name := range []string{"settlement", "camt053"} {
		fh, err := c.FormFile(name)
		if err != nil {
			return invalidField(name, "file is required (multipart/form-data)", "Datei ist erforderlich (multipart/form-data)")
		}
		if inputs[i], err = formFile(fh); err != nil {
			return invalidField(name, "could not be read", "konnte nicht gelesen werden")
		}
	}
	rep, err := settlement.Parse(bytes.NewReader(inputs[0]))
	if err != nil {
		return newError(422, "settlement_invalid", "The settlement report cannot be read: "+err.Error(), "Der Abrechnungsbericht ist nicht lesbar: "+err.Error())
	}
	doc, err := camt.Parse(bytes.NewReader(inputs[1]))
	if err != nil {
		return newError(422, "camt_invalid", "The bank statement cannot be read: "+err.Error(), "Der Kontoauszug ist nicht lesbar: "+err.Error())
	}
	run, err := reconcile.Run(c.UserContext(), f.pay.store, rep, doc)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(run)
}

var errRunNotFound = newError(404, "reconciliation_not_found", "There is no reconciliation run with this id.", "Einen Abgleich mit dieser Nummer gibt es nicht.")

func (f *finance) run(c *fiber.Ctx) (*reconcile.Reconciliation, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return nil, errRunNotFound
	}
	run, err := reconcile.ByID(c.UserContext(), f.pay.store, id)
	if errors.Is(err, reconcile.ErrNotFound) {
		return nil, errRunNotFound
	}
	return run, err
}

func (f *finance) reconciliation(c *fiber.Ctx) error {
	run, err := f.run(c)
	if err != nil {
		return err
	}
	return c.JSON(run)
}

func (f *finance) reconciliationCSV(c *fiber.Ctx) error {
	run, err := f.run(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := reconcile.WriteCSV(&buf, run); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="abgleich-`+strconv.FormatInt(run.ID, 10)+`.csv"`)
	return c.Send(buf.Bytes())
}

func (f *finance) deadLetters(c *fiber.Ctx) error {
	list, err := f.pay.store.ListOutbox(c.UserContext(), "dead", c.QueryInt("limit"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"dead_letters": list})
}
