package lambdafn

import (
	"context"
	"time"
)

// SetClock sets the clock f's worker measures its deadline against.
func SetClock(f *Functions, now func() time.Time) { f.clock = now }

// StoreBatches moves wl's batches into f's work store, as the coordinator does.
func StoreBatches(ctx context.Context, f *Functions, wl *WorkList) error {
	return storeBatches(ctx, f.works(), wl, f.now())
}

// LoadBatch fills st from f's work store, as the worker does on entry.
func LoadBatch(ctx context.Context, f *Functions, st *WorkerState) error { return f.loadBatch(ctx, st) }

// Stow stores st and returns the worker's answer, as the worker does on return.
func Stow(ctx context.Context, f *Functions, st *WorkerState) (*WorkerState, error) {
	return f.stow(ctx, st)
}

// CompleteResults fills in's stored answers from f's work store, as the reporter does.
func CompleteResults(ctx context.Context, f *Functions, in *ReporterInput) error {
	return completeResults(ctx, f.works(), in)
}
