package bench

import (
	"context"
	"fmt"
	"image/color"
	"io"
	"text/tabwriter"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Point is one organization size of a sweep: keyrot's audit and the
// per-user strategy on the same workload.
type Point struct {
	Accounts       int
	Audit, PerUser Measure
}

// Sweep runs keyrot audit and the per-user strategy on w at each
// organization size (accounts), one sandbox per size.
func Sweep(ctx context.Context, w Workload, keyrotBin string, sizes []int) ([]Point, error) {
	var pts []Point
	for _, n := range sizes {
		wn := w
		wn.Accounts = n
		if err := wn.Validate(); err != nil {
			return nil, err
		}
		ms, err := Run(ctx, wn, keyrotBin, "audit", "per-user")
		if err != nil {
			return nil, fmt.Errorf("%d accounts: %w", n, err)
		}
		pts = append(pts, Point{Accounts: n, Audit: ms[0], PerUser: ms[1]})
	}
	return pts, nil
}

// WriteSweep prints a sweep's calls and wall times, size by size.
func WriteSweep(out io.Writer, w Workload, pts []Point) error {
	fmt.Fprintf(out, "sweep: %d users per account, %.0f%% due; latency %s, IAM %g calls/s per account, concurrency %d\n\n",
		w.UsersPerAccount, 100*w.DueShare, w.Latency, w.RatePerAccount, w.Concurrency)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "accounts\tkeyrot calls\tfloor\tper-user calls\tfewer\tkeyrot wall\tlower bound\tper-user wall\t")
	for _, p := range pts {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%.1fx\t%s\t%s\t%s\t\n", p.Accounts, p.Audit.Calls, p.Audit.Floor, p.PerUser.Calls,
			float64(p.PerUser.Calls)/float64(p.Audit.Calls), p.Audit.Wall.Round(time.Millisecond), p.Audit.LowerBound.Round(time.Millisecond),
			p.PerUser.Wall.Round(time.Millisecond))
	}
	return tw.Flush()
}

// WriteChart draws a sweep as a PNG: AWS calls (left) and wall time
// (right) against the organization's size, for keyrot's audit, its floor
// and lower bound, and the per-user strategy; both axes logarithmic.
func WriteChart(out io.Writer, w Workload, pts []Point) error {
	if len(pts) == 0 {
		return fmt.Errorf("no points to draw")
	}
	series := func(f func(Point) float64) plotter.XYs {
		xys := make(plotter.XYs, len(pts))
		for i, p := range pts {
			xys[i].X, xys[i].Y = float64(p.Accounts), f(p)
		}
		return xys
	}
	keyrotColor := color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	perUserColor := color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	floorColor := color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
	panel := func(title, ylabel string, keyrot, bound, perUser plotter.XYs, boundName string) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = fmt.Sprintf("accounts (%d users each)", w.UsersPerAccount)
		p.Y.Label.Text = ylabel
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
		p.Legend.Top, p.Legend.Left = true, true
		p.Add(plotter.NewGrid())
		for _, s := range []struct {
			name  string
			xys   plotter.XYs
			color color.Color
			dash  bool
		}{
			{"per-user strategy", perUser, perUserColor, false},
			{"keyrot audit", keyrot, keyrotColor, false},
			{boundName, bound, floorColor, true},
		} {
			l, pts, err := plotter.NewLinePoints(s.xys)
			if err != nil {
				return nil, err
			}
			l.Color, pts.Color = s.color, s.color
			l.Width = vg.Points(1.5)
			pts.Shape = draw.CircleGlyph{}
			if s.dash {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
				pts.Shape = draw.CrossGlyph{}
			}
			p.Add(l, pts)
			p.Legend.Add(s.name, l, pts)
		}
		return p, nil
	}
	calls, err := panel("AWS calls", "calls",
		series(func(p Point) float64 { return float64(p.Audit.Calls) }),
		series(func(p Point) float64 { return float64(p.Audit.Floor) }),
		series(func(p Point) float64 { return float64(p.PerUser.Calls) }), "floor")
	if err != nil {
		return err
	}
	wall, err := panel("Wall time", "seconds",
		series(func(p Point) float64 { return p.Audit.Wall.Seconds() }),
		series(func(p Point) float64 { return p.Audit.LowerBound.Seconds() }),
		series(func(p Point) float64 { return p.PerUser.Wall.Seconds() }), "keyrot's lower bound")
	if err != nil {
		return err
	}
	img := vgimg.New(vg.Points(960), vg.Points(400))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(24), PadY: vg.Points(8), PadTop: vg.Points(8), PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(8)}
	cs := plot.Align([][]*plot.Plot{{calls, wall}}, tiles, dc)
	calls.Draw(cs[0][0])
	wall.Draw(cs[0][1])
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(out)
	return err
}
