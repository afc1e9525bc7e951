// Package statuspage serves keyrot's status page for a security team:
// plain server-rendered HTML (html/template, embedded; inline CSS and SVG,
// no script, no external resource), readable on a laptop and printable.
//
//	GET /           the latest audit summary (with its credentials and
//	                findings by credential kind), compliance per control over
//	                time, keys past 90 days over time, upcoming deadlines,
//	                blocked rotations needing a human, recent runs
//	GET /runs/{id}  that audit run's full HTML report (report.HTML)
//
// Handler takes a Source (app.App implements it) and does no
// authentication: the server that mounts it does.
package statuspage

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/history"
	"github.com/keyrot/keyrot/internal/inventory"
	"github.com/keyrot/keyrot/internal/report"
)

// Source is what the page reads: the status of the history and one
// audit run's stored report. *app.App implements it.
type Source interface {
	Status(ctx context.Context, req app.StatusRequest) (*app.Status, error)
	AuditOfRun(ctx context.Context, id int64) (*app.StoredAudit, error)
}

var _ Source = (*app.App)(nil)

// Options tune the page.
type Options struct {
	// Window is how far back the trends go; 90 days if zero.
	Window time.Duration
	// Runs is how many recent runs are listed; 20 if zero.
	Runs int
	// Logger logs failures to read the history (never a secret).
	Logger *slog.Logger
}

//go:embed templates/*.html
var templates embed.FS

var pageTemplate = template.Must(template.New("status.html").Funcs(template.FuncMap{
	"css":  report.PageCSSHTML,
	"mask": func(id string) string { return maskKey(id) },
}).ParseFS(templates, "templates/status.html"))

func init() { template.Must(pageTemplate.Parse(report.LineChartTemplate)) }

// Handler serves the status page at "/" and each audit run's report at
// "/runs/{id}".
func Handler(src Source, opts Options) http.Handler {
	if opts.Window <= 0 {
		opts.Window = 90 * 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{src: src, opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.status)
	mux.HandleFunc("GET /runs/{id}", h.run)
	return mux
}

type handler struct {
	src  Source
	opts Options
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	st, err := h.src.Status(r.Context(), app.StatusRequest{Window: h.opts.Window, Runs: h.opts.Runs})
	if err != nil {
		h.opts.Logger.Error("status page: read history", "err", err)
		http.Error(w, "the history could not be read; see the server's log", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := Render(&buf, st); err != nil {
		h.opts.Logger.Error("status page: render", "err", err)
		http.Error(w, "the status page could not be rendered; see the server's log", http.StatusInternalServerError)
		return
	}
	writeHTML(w, buf.Bytes())
}

func (h *handler) run(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.Error(w, "a run ID is a positive number", http.StatusBadRequest)
		return
	}
	a, err := h.src.AuditOfRun(r.Context(), id)
	if errors.Is(err, history.ErrNotFound) {
		http.Error(w, fmt.Sprintf("run %d kept no audit report (only audits do, within the retention)", id), http.StatusNotFound)
		return
	}
	if err != nil {
		h.opts.Logger.Error("status page: read run report", "run", id, "err", err)
		http.Error(w, "the run's report could not be read; see the server's log", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	rep := &report.Report{Result: a.Result, ToolVersion: a.Version, StartedAt: a.Started, FinishedAt: a.Finished}
	if err := (report.HTML{}).Render(&buf, rep); err != nil {
		h.opts.Logger.Error("status page: render run report", "run", id, "err", err)
		http.Error(w, "the run's report could not be rendered; see the server's log", http.StatusInternalServerError)
		return
	}
	writeHTML(w, buf.Bytes())
}

func writeHTML(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Nothing external, nothing scripted: the page needs neither.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}

// stamp is a time for people: UTC, to the minute.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func maskKey(id string) string {
	if id == "" {
		return ""
	}
	return inventory.MaskKeyID(id)
}

// page is the template's data.
type page struct {
	GeneratedAt string
	Latest      *latest
	Charts      []report.LineChart
	Controls    []control
	PlanRun     int64
	Blocked     []item
	Upcoming    []item
	Runs        []run
}

type latest struct {
	RunID                                    int64
	At                                       string
	Findings, Exempt, KeysActive, KeysPast90 int
	AccountsAudited, AccountsFailed          int
	Critical, High, Medium, Low              int
	Kinds                                    []kindRow
}

// kindRow is one credential kind at the latest audit.
type kindRow struct {
	Kind, Title                           string
	Credentials, Findings, Severe, Exempt int
}

type control struct {
	Framework, Control, Title, Percent string
	Failing, Evaluated                 int
}

type item struct {
	Kind, Account, User, Key, Reason, Due string
	RunID                                 int64
}

type run struct {
	ID                                                int64
	Started, Command, Mode, Status, Summary, Duration string
	Report                                            bool
}

// kindRows lists the kinds that have credentials or findings, in the
// order of audit.Kinds.
func kindRows(by map[string]history.KindSummary) []kindRow {
	var out []kindRow
	for _, k := range audit.Kinds() {
		ks, ok := by[k.Kind]
		if !ok || ks == (history.KindSummary{}) {
			continue
		}
		out = append(out, kindRow{Kind: k.Kind, Title: k.Title, Credentials: ks.Credentials, Findings: ks.Findings, Severe: ks.Severe, Exempt: ks.Exempt})
	}
	return out
}

// Render writes the status page for st.
func Render(w io.Writer, st *app.Status) error {
	p := page{GeneratedAt: stamp(st.GeneratedAt), PlanRun: st.PlanRun}
	if st.Latest.RunID != 0 {
		s := st.Latest.Summary
		p.Latest = &latest{RunID: st.Latest.RunID, At: stamp(st.Latest.GeneratedAt), Findings: s.Findings, Exempt: s.Exempt,
			KeysActive: s.KeysActive, KeysPast90: s.KeysPast90, AccountsAudited: s.AccountsAudited, AccountsFailed: s.AccountsFailed,
			Critical: s.BySeverity["critical"], High: s.BySeverity["high"], Medium: s.BySeverity["medium"], Low: s.BySeverity["low"],
			Kinds: kindRows(s.ByKind)}
	}
	if t := st.Trends; t != nil && len(t.Audits) > 0 {
		var hub []report.Series
		for _, c := range t.Controls {
			p.Controls = append(p.Controls, control{Framework: report.FrameworkTitle(c.Framework), Control: c.Control, Title: report.ControlTitle(c.Framework, c.Control),
				Percent: fmt.Sprintf("%.1f%%", c.End.Percent()), Failing: c.End.Failing, Evaluated: c.End.Evaluated})
			if c.Framework == report.FrameworkSecurityHub {
				hub = append(hub, report.Series{Name: c.Control, Points: c.Series})
			}
		}
		if len(hub) > 0 {
			p.Charts = append(p.Charts, report.NewLineChart("Compliance per Security Hub control (% compliant)", hub, 0, 100, "%"))
		}
		p.Charts = append(p.Charts, report.NewLineChart("Active keys older than 90 days", []report.Series{{Name: "keys", Points: t.KeysPast90}}, 0, 0, ""))
	}
	conv := func(its []history.PlanItem) []item {
		var out []item
		for _, it := range its {
			due := ""
			if !it.Due.IsZero() {
				due = it.Due.UTC().Format("2006-01-02")
			}
			out = append(out, item{Kind: it.Kind, Account: it.Account, User: it.User, Key: maskKey(it.KeyID), Reason: it.Reason, Due: due, RunID: it.RunID})
		}
		return out
	}
	p.Blocked, p.Upcoming = conv(st.Blocked), conv(st.Upcoming)
	for _, r := range st.Runs {
		rr := run{ID: r.ID, Started: r.Started.UTC().Format("2006-01-02 15:04"), Command: r.Command, Mode: r.Mode, Status: r.Status,
			Summary: r.Summary, Report: st.Reports[r.ID]}
		if !r.Finished.IsZero() {
			rr.Duration = r.Finished.Sub(r.Started).Round(time.Second).String()
		}
		p.Runs = append(p.Runs, rr)
	}
	// Free text from the history (summaries, reasons) is shown as written,
	// escaped by html/template, with key IDs masked.
	for i := range p.Runs {
		p.Runs[i].Summary = report.Human(p.Runs[i].Summary)
	}
	for _, l := range [][]item{p.Blocked, p.Upcoming} {
		for i := range l {
			l[i].Reason = report.Human(l[i].Reason)
		}
	}
	return pageTemplate.Execute(w, p)
}
