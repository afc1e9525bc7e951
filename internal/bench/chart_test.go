package bench

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
	"time"
)

// TestWriteChart: a sweep's chart is a PNG of the expected size with
// both panels drawn (not blank), and the sweep table lists every size.
func TestWriteChart(t *testing.T) {
	w := DefaultWorkload()
	var pts []Point
	for _, n := range []int{10, 100, 1000} {
		pts = append(pts, Point{Accounts: n,
			Audit:   Measure{Calls: 10 * n, Floor: 10*n - 1, Wall: time.Duration(n) * 20 * time.Millisecond, LowerBound: time.Duration(n) * 17 * time.Millisecond},
			PerUser: Measure{Calls: 200 * n, Wall: time.Duration(n) * 700 * time.Millisecond}})
	}
	var b bytes.Buffer
	if err := WriteChart(&b, w, pts); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if r := img.Bounds(); r.Dx() < 900 || r.Dy() < 300 {
		t.Errorf("chart is %dx%d", r.Dx(), r.Dy())
	}
	// Both halves carry drawing: more than one colour in each.
	for _, half := range []struct{ x0, x1 int }{{0, img.Bounds().Dx() / 2}, {img.Bounds().Dx() / 2, img.Bounds().Dx()}} {
		colours := map[[4]uint32]bool{}
		for x := half.x0; x < half.x1; x += 3 {
			for y := 0; y < img.Bounds().Dy(); y += 3 {
				r, g, bl, a := img.At(x, y).RGBA()
				colours[[4]uint32{r, g, bl, a}] = true
			}
		}
		if len(colours) < 4 {
			t.Errorf("panel x %d-%d has %d colours: blank", half.x0, half.x1, len(colours))
		}
	}
	if err := WriteChart(&b, w, nil); err == nil {
		t.Error("a chart of no points was drawn")
	}
	var out strings.Builder
	if err := WriteSweep(&out, w, pts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1000", "20.0x", "per-user calls"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("sweep table lacks %q:\n%s", want, out.String())
		}
	}
}
