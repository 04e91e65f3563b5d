package web

import (
	"errors"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/digitale-verwaltung/termin/payment"
	"github.com/digitale-verwaltung/termin/payment/reconcile"
)

func filepathExt(name string) string { return filepath.Ext(name) }

// readChecksum is the hex digest of a .sha256 file ("" when unreadable).
func readChecksum(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return ""
}

func (h *Handler) financeExportFile(c *fiber.Ctx) error {
	name := c.Params("name")
	if h.ExportDir == "" || !payment.ValidExportName(name) {
		return h.staffNotFound(c)
	}
	data, err := os.ReadFile(filepath.Join(h.ExportDir, name))
	if errors.Is(err, os.ErrNotExist) {
		return h.staffNotFound(c)
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
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(data)
}

// runRow is one run of the list of reconciliations.
type runRow struct {
	ID                        int64
	SettlementDate, Statement string
	Payout, Bank, Created     string
	Matched, Differences      int
	Warnings                  int
	PayoutID                  string
}

type reconciliationsPage struct {
	Runs []runRow
	formProblems
	// MaxKB is the limit of one file, in kilobytes.
	MaxKB int
	// CanChange: the member of staff may start a reconciliation.
	CanChange bool
}

func (h *Handler) runRows(c *fiber.Ctx, t texts) ([]runRow, error) {
	runs, err := h.Reconciliations.ReconciliationRuns(c.UserContext(), 50)
	if err != nil {
		return nil, err
	}
	rows := make([]runRow, len(runs))
	for i, r := range runs {
		diff := 0
		for cat, n := range r.Counts {
			if cat != reconcile.RecMatched {
				diff += n
			}
		}
		rows[i] = runRow{ID: r.ID, SettlementDate: r.SettlementDate, Statement: r.StatementID, PayoutID: r.PayoutID,
			Payout: t.euro(r.PayoutCents), Bank: t.euro(r.BankPayout), Created: r.CreatedAt.In(berlin).Format("02.01.2006 15:04"),
			Matched: r.Counts[reconcile.RecMatched], Differences: diff, Warnings: len(r.Warnings)}
	}
	return rows, nil
}

func (h *Handler) reconciliations(c *fiber.Ctx) error {
	return h.reconciliationsForm(c, fiber.StatusOK, nil)
}

func (h *Handler) reconciliationsForm(c *fiber.Ctx, status int, errs map[string]string) error {
	t := textsFor(lang(c))
	rows, err := h.runRows(c, t)
	if err != nil {
		return err
	}
	if errs == nil {
		errs = map[string]string{}
	}
	page := reconciliationsPage{Runs: rows, MaxKB: maxUploadFile >> 10, CanChange: mayChange(c)}
	page.addAll(errorList(errs, "settlement", "camt053", "camt054"))
	return h.renderStaff(c, status, "staff_finance_reconciliations", "fin_reconciliations", page)
}

// maxBreakdowns bounds the camt.054 files of one run.
const maxBreakdowns = 31

// uploadFile reads one file of the upload form, or says what is wrong
// with it.
func uploadFile(form *multipart.Form, field string, t texts) ([]byte, string) {
	if form == nil || len(form.File[field]) == 0 || form.File[field][0].Size == 0 {
		return nil, t.get("fin_err_file_" + field)
	}
	return readUpload(form.File[field][0], t)
}

// uploadFiles reads the files of a field that takes none or several; an
// empty choice (a browser sends one empty part) counts as none.
func uploadFiles(form *multipart.Form, field string, t texts) ([][]byte, string) {
	if form == nil {
		return nil, ""
	}
	var out [][]byte
	for _, fh := range form.File[field] {
		if fh.Size == 0 && fh.Filename == "" {
			continue
		}
		if len(out) == maxBreakdowns {
			return nil, t.f("fin_err_files_count", maxBreakdowns)
		}
		data, msg := readUpload(fh, t)
		if msg != "" {
			return nil, msg
		}
		out = append(out, data)
	}
	return out, ""
}

func readUpload(fh *multipart.FileHeader, t texts) ([]byte, string) {
	if fh.Size > maxUploadFile {
		return nil, t.f("fin_err_file_size", maxUploadFile>>10)
	}
	r, err := fh.Open()
	if err != nil {
		return nil, t.get("fin_err_file_read")
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxUploadFile+1))
	if err != nil {
		return nil, t.get("fin_err_file_read")
	}
	return data, ""
}

// startReconciliation takes the settlement report and the camt.053
// statement of the upload form and shows the run.
func (h *Handler) startReconciliation(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	form, err := c.MultipartForm()
	if err != nil && !errors.Is(err, fiber.ErrUnprocessableEntity) && !strings.Contains(err.Error(), "multipart") {
		return err
	}
	errs := map[string]string{}
	settlementFile, msg := uploadFile(form, "settlement", t)
	if msg != "" {
		errs["settlement"] = msg
	}
	statementFile, msg := uploadFile(form, "camt053", t)
	if msg != "" {
		errs["camt053"] = msg
	}
	breakdowns, msg := uploadFiles(form, "camt054", t)
	if msg != "" {
		errs["camt054"] = msg
	}
	if len(errs) > 0 {
		return h.reconciliationsForm(c, fiber.StatusBadRequest, errs)
	}
	run, err := h.Reconciliations.Reconcile(c.UserContext(), settlementFile, statementFile, breakdowns)
	switch {
	case errors.Is(err, ErrSettlementUnreadable):
		errs["settlement"] = t.get("fin_err_settlement")
	case errors.Is(err, ErrStatementUnreadable):
		errs["camt053"] = t.get("fin_err_camt")
	case errors.Is(err, ErrBreakdownUnreadable):
		errs["camt054"] = t.get("fin_err_camt054")
	case err != nil:
		return err
	}
	if len(errs) > 0 {
		return h.reconciliationsForm(c, fiber.StatusUnprocessableEntity, errs)
	}
	h.audit(c, "finance.reconcile", "reconciliation:"+strconv.FormatInt(run.ID, 10), "settlement "+run.SettlementDate)
	return c.Redirect("/intern/kasse/abgleich/"+strconv.FormatInt(run.ID, 10), fiber.StatusSeeOther)
}

// runItemRow is one line of a run.
type runItemRow struct {
	Category, CategoryText              string
	Reference, Kassenzeichen, PostingID string
	BookingCode                         string
	Settlement, Posted, Bank, Detail    string
	Matched                             bool
}

type runPage struct {
	R                      *reconcile.Reconciliation
	Payout, Bank, FeeTotal string
	Created                string
	Counts                 []option
	Differences, Matched   []runItemRow
	Fees                   []runItemRow
	AllMatched             bool
	// DiffText says how many differences there are.
	DiffText   string
	Statements []statementRow
	Warnings   []warningRow
}

// statementRow is one bank statement a run read.
type statementRow struct {
	Account, ID, Sequence, Period, Entries string
	Matched                                bool
}

// warningRow is one finding about the bank statement.
type warningRow struct {
	Code, Title, What                 string
	Statement, Entry, BankRef, Amount string
	Figures                           string
	Detail                            string
	EarlierRun                        int64
}

func statementRows(r *reconcile.Reconciliation, t texts) []statementRow {
	var out []statementRow
	for _, st := range r.Statements {
		row := statementRow{Account: st.Account, ID: st.StatementID, Entries: strconv.Itoa(st.Entries), Matched: st.PayoutAccount}
		switch {
		case st.ElectronicSeq > 0:
			row.Sequence = strconv.FormatInt(st.ElectronicSeq, 10)
		case st.LegalSeq > 0:
			row.Sequence = strconv.FormatInt(st.LegalSeq, 10)
		}
		if !st.From.IsZero() {
			row.Period = st.From.In(berlin).Format("02.01.2006") + " – " + st.To.In(berlin).Format("02.01.2006")
		}
		out = append(out, row)
	}
	return out
}

func warningRows(r *reconcile.Reconciliation, t texts) []warningRow {
	var out []warningRow
	for _, w := range r.Warnings {
		row := warningRow{Code: w.Code, Title: t.get("fin_warn_" + w.Code), What: t.get("fin_warn_" + w.Code + "_todo"),
			Statement: w.StatementID, BankRef: w.BankReference, Detail: w.Detail, EarlierRun: w.EarlierRunID}
		if row.Title == "" {
			row.Title = w.Code
		}
		if w.Reason != "" {
			if reason := t.get("fin_reason_" + w.Reason); reason != "" {
				row.Title += " (" + reason + ")"
			}
		}
		if w.Entry > 0 {
			row.Entry = strconv.Itoa(w.Entry)
		}
		if w.AmountCents != 0 {
			row.Amount = t.euro(w.AmountCents)
		}
		switch {
		case w.Code == reconcile.WarnBalanceMismatch || w.Reason == "sum_differs":
			row.Figures = t.f("fin_warn_figures", t.euro(w.Expected), t.euro(w.Found))
		case w.Expected != 0 || w.Found != 0:
			row.Figures = t.f("fin_warn_figures", strconv.FormatInt(w.Expected, 10), strconv.FormatInt(w.Found, 10))
		}
		out = append(out, row)
	}
	return out
}

func (h *Handler) loadRun(c *fiber.Ctx) (*reconcile.Reconciliation, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, reconcile.ErrNotFound
	}
	return h.Reconciliations.Reconciliation(c.UserContext(), id)
}

// runCategories are the categories in the order the page lists them.
var runCategories = []string{reconcile.RecPaidNotPosted, reconcile.RecPostedNotInBank, reconcile.RecAmountDiffers,
	reconcile.RecBankUnmatched, reconcile.RecMatched}

func (h *Handler) reconciliationRun(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	r, err := h.loadRun(c)
	if errors.Is(err, reconcile.ErrNotFound) {
		return h.staffNotFound(c)
	}
	if err != nil {
		return err
	}
	// The booking behind each line, through the postings of its payment.
	var refs []string
	for _, it := range r.Items {
		if it.Reference != "" {
			refs = append(refs, it.Reference)
		}
	}
	codes := map[string]string{}
	if len(refs) > 0 {
		postings, err := h.Ledger.PostingsByReference(c.UserContext(), refs)
		if err != nil {
			return err
		}
		for _, p := range postings {
			codes[p.PaymentReference] = p.BookingCode
		}
	}
	p := runPage{R: r, Payout: t.euro(r.PayoutCents), Bank: t.euro(r.BankPayout), FeeTotal: t.euro(r.FeeTotalCents),
		Created: r.CreatedAt.In(berlin).Format("02.01.2006 15:04")}
	for _, cat := range runCategories {
		p.Counts = append(p.Counts, option{Value: strconv.Itoa(r.Counts[cat]), Text: t.get("fin_rec_" + cat)})
	}
	for _, cat := range runCategories {
		for _, it := range r.Items {
			if it.Category != cat {
				continue
			}
			row := runItemRow{Category: it.Category, CategoryText: t.get("fin_rec_" + it.Category), Reference: it.Reference,
				Kassenzeichen: it.Kassenzeichen, PostingID: it.PostingID, BookingCode: codes[it.Reference],
				Settlement: t.euro(it.SettlementCents), Posted: t.euro(it.PostedCents), Bank: t.euro(it.BankCents),
				Detail: it.Detail, Matched: it.Category == reconcile.RecMatched}
			if row.Matched {
				p.Matched = append(p.Matched, row)
			} else {
				p.Differences = append(p.Differences, row)
			}
		}
	}
	for _, f := range r.Fees {
		p.Fees = append(p.Fees, runItemRow{Reference: f.Reference, Kassenzeichen: f.PlatformID, Settlement: t.euro(f.FeeCents),
			BookingCode: codes[f.Reference]})
	}
	p.Statements, p.Warnings = statementRows(r, t), warningRows(r, t)
	p.AllMatched = len(p.Differences) == 0 && len(p.Matched) > 0 && len(p.Warnings) == 0
	if n := len(p.Differences); n == 1 {
		p.DiffText = t.get("fin_run_difference")
	} else if n > 1 {
		p.DiffText = t.f("fin_run_differences", n)
	}
	return h.renderStaff(c, fiber.StatusOK, "staff_finance_run", "fin_run", p)
}

func (h *Handler) reconciliationCSV(c *fiber.Ctx) error {
	r, err := h.loadRun(c)
	if errors.Is(err, reconcile.ErrNotFound) {
		return h.staffNotFound(c)
	}
	if err != nil {
		return err
	}
	var rows [][]string
	for _, it := range r.Items {
		rows = append(rows, []string{it.Category, it.Reference, it.Kassenzeichen, it.PlatformID, it.PostingID,
			csvCents(it.SettlementCents), csvCents(it.PostedCents), csvCents(it.BankCents), it.Detail})
	}
	for _, f := range r.Fees {
		rows = append(rows, []string{"platform_fee", f.Reference, "", f.PlatformID, "", csvCents(f.FeeCents), "", "", ""})
	}
	for _, w := range r.Warnings {
		rows = append(rows, []string{"warning_" + w.Code, w.BankReference, "", w.StatementID, "", "", "", csvCents(w.AmountCents), w.Detail})
	}
	return sendCSV(c, "abgleich-"+strconv.FormatInt(r.ID, 10)+".csv", []string{"kategorie", "referenz", "kassenzeichen",
		"plattform_id", "buchungs_id", "abrechnung", "gebucht", "bank", "hinweis"}, rows)
}

// deadLetterRow is one delivery job that gave up.
type deadLetterRow struct {
	ID                                 int64
	Kind, Reference, PostingID, Amount string
	Attempts                           int
	LastError, Created                 string
}

func (h *Handler) deadLetters(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	list, err := h.Ledger.ListOutbox(c.UserContext(), "dead", 500)
	if err != nil {
		return err
	}
	rows := make([]deadLetterRow, len(list))
	for i, o := range list {
		rows[i] = deadLetterRow{ID: o.ID, Kind: t.get("fin_job_" + o.Kind), Reference: o.Reference, PostingID: o.PostingID,
			Amount: t.euro(o.AmountCents), Attempts: o.Attempts, LastError: o.LastError, Created: o.CreatedAt.In(berlin).Format("02.01.2006 15:04")}
	}
	notice := ""
	if id := c.Query("erneut"); id != "" {
		if _, err := strconv.ParseInt(id, 10, 64); err == nil {
			notice = t.f("fin_retried", id)
		}
	}
	return h.renderStaff(c, fiber.StatusOK, "staff_finance_deadletters", "fin_deadletters", struct {
		Rows      []deadLetterRow
		Notice    string
		CanChange bool
	}{rows, notice, mayChange(c)})
}

func (h *Handler) retryDeadLetter(c *fiber.Ctx) error {
	t := textsFor(lang(c))
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return h.staffNotFound(c)
	}
	err = h.Ledger.RetryDeadLetter(c.UserContext(), id, h.now())
	if errors.Is(err, payment.ErrNotDeadLetter) {
		return h.financeMessage(c, fiber.StatusConflict, "fin_deadletters", t.get("fin_not_dead"),
			link{"/intern/kasse/fehler", t.get("fin_deadletters")})
	}
	if err != nil {
		return err
	}
	h.audit(c, "finance.retry", "outbox:"+strconv.FormatInt(id, 10), "")
	return c.Redirect("/intern/kasse/fehler?erneut="+strconv.FormatInt(id, 10), fiber.StatusSeeOther)
}
