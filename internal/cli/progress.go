package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/keyrot/keyrot/internal/app"
)

// newProgress returns the progress reporter for mode: on a terminal ("auto",
// unless TERM=dumb) a status line redrawn every second with the phase, the
// count and a live timer; elsewhere ("auto" unattended, "plain") one structured log line per
// phase and step; nothing for "none". Write errors are ignored: progress
// never stops a run.
func newProgress(w io.Writer, mode string) (app.Progress, error) {
	switch mode {
	case "none":
		return nil, nil
	case "plain":
	case "auto":
		if isTerminal(w) && !dumbTerminal() {
			return newLiveProgress(w), nil
		}
	default:
		return nil, usageErrorf("--progress must be auto, plain or none (got %q)", mode)
	}
	return &logProgress{log: slog.New(slog.NewTextHandler(w, nil)), start: time.Now()}, nil
}

// logProgress logs progress as structured lines, for unattended runs.
type logProgress struct {
	log   *slog.Logger
	start time.Time
}

func (p *logProgress) Phase(name string) {
	p.log.Info("phase", "phase", name, "elapsed", time.Since(p.start).Round(time.Millisecond).String())
}

func (p *logProgress) Step(phase string, done, total int, item string) {
	p.log.Info("progress", "phase", phase, "done", done, "total", total, "item", item,
		"elapsed", time.Since(p.start).Round(time.Millisecond).String())
}

// liveProgress redraws one status line on a terminal, every second and on
// every step, until the process ends; each phase ends its line.
type liveProgress struct {
	w     io.Writer
	start time.Time

	mu          sync.Mutex
	phase       string
	phaseStart  time.Time
	done, total int
	item        string
	ticker      *time.Ticker
}

func newLiveProgress(w io.Writer) *liveProgress {
	p := &liveProgress{w: w, start: time.Now(), ticker: time.NewTicker(time.Second)}
	go func() {
		for range p.ticker.C {
			p.mu.Lock()
			if p.phase != "" {
				p.draw()
			}
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *liveProgress) Phase(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.phase != "" {
		p.draw()
		fmt.Fprintln(p.w)
	}
	p.phase, p.phaseStart, p.done, p.total, p.item = name, time.Now(), 0, 0, ""
	p.draw()
}

func (p *liveProgress) Step(phase string, done, total int, item string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.done, p.total, p.item = phase, done, total, item
	p.draw()
}

// draw writes the status line; p.mu is held.
func (p *liveProgress) draw() {
	const width = 24
	bar := ""
	if p.total > 0 {
		n := width * p.done / p.total
		bar = fmt.Sprintf("[%s%s] %d/%d  ", strings.Repeat("#", n), strings.Repeat(" ", width-n), p.done, p.total)
	}
	item := p.item
	if len(item) > 40 {
		item = item[:37] + "..."
	}
	fmt.Fprintf(p.w, "\r\033[K%-8s %s%s  %s (total %s)", p.phase, bar, item,
		time.Since(p.phaseStart).Round(time.Second), time.Since(p.start).Round(time.Second))
}
