package report

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Series is one named line of a LineChart.
type Series struct {
	Name   string
	Points []Point
}

// LineChart is a line chart laid out for inline SVG: coordinates are
// computed here, server-side, so the page needs no script. Render it with
// the "linechart" template (LineChartTemplate).
type LineChart struct {
	Title     string
	AriaLabel string
	Width     int
	Height    int
	// Plot area.
	Left, Top, Right, Bottom int
	YTicks                   []ChartTick
	XTicks                   []ChartTick
	Lines                    []ChartLine
}

// ChartTick is an axis label at a position.
type ChartTick struct {
	Pos   int
	Label string
	// Anchor is the SVG text-anchor: start, middle or end.
	Anchor string
}

// ChartDot is one point of a line.
type ChartDot struct{ X, Y int }

// ChartLine is one series drawn: its polyline points, colour and legend.
type ChartLine struct {
	Name    string
	Points  string // "x,y x,y ..."
	Dots    []ChartDot
	Colour  string
	LegendX int
	LegendY int
}

var chartColours = []string{"#1d4ed8", "#b91c1c", "#047857", "#7c3aed", "#b45309", "#0e7490", "#be185d", "#4d7c0f"}

// NewLineChart lays out series over time. yMin and yMax bound the y axis;
// yMax 0 means the largest value (at least 1). unit follows y labels.
func NewLineChart(title string, series []Series, yMin, yMax float64, unit string) LineChart {
	const w, plotH, left, top, right = 640, 180, 48, 16, 16
	c := LineChart{Title: title, Width: w, Left: left, Top: top, Right: w - right, Bottom: top + plotH}
	var tMin, tMax time.Time
	vMax := 0.0
	for _, s := range series {
		for _, p := range s.Points {
			if tMin.IsZero() || p.At.Before(tMin) {
				tMin = p.At
			}
			if p.At.After(tMax) {
				tMax = p.At
			}
			vMax = math.Max(vMax, p.Value)
		}
	}
	if yMax == 0 {
		yMax = math.Max(1, math.Ceil(vMax))
	}
	span := tMax.Sub(tMin)
	x := func(t time.Time) int {
		if span <= 0 {
			return (c.Left + c.Right) / 2
		}
		return c.Left + int(float64(c.Right-c.Left)*float64(t.Sub(tMin))/float64(span)+0.5)
	}
	y := func(v float64) int {
		return c.Bottom - int(float64(plotH)*(v-yMin)/(yMax-yMin)+0.5)
	}
	for i := 0; i <= 4; i++ {
		v := yMin + (yMax-yMin)*float64(i)/4
		c.YTicks = append(c.YTicks, ChartTick{Pos: y(v), Label: fmt.Sprintf("%s%s", strconvTrim(v), unit)})
	}
	if !tMin.IsZero() {
		if span > 0 {
			c.XTicks = append(c.XTicks, ChartTick{Pos: x(tMin), Label: day(tMin), Anchor: "start"}, ChartTick{Pos: x(tMax), Label: day(tMax), Anchor: "end"})
		} else {
			c.XTicks = append(c.XTicks, ChartTick{Pos: x(tMin), Label: day(tMin), Anchor: "middle"})
		}
	}
	var aria []string
	legendY := c.Bottom + 40
	for i, s := range series {
		l := ChartLine{Name: s.Name, Colour: chartColours[i%len(chartColours)], LegendX: c.Left + (i%4)*145, LegendY: legendY + (i/4)*18}
		var pts []string
		for _, p := range s.Points {
			px, py := x(p.At), y(p.Value)
			pts = append(pts, fmt.Sprintf("%d,%d", px, py))
			l.Dots = append(l.Dots, ChartDot{X: px, Y: py})
		}
		l.Points = strings.Join(pts, " ")
		c.Lines = append(c.Lines, l)
		if n := len(s.Points); n > 0 {
			aria = append(aria, fmt.Sprintf("%s from %s%s to %s%s", s.Name, strconvTrim(s.Points[0].Value), unit, strconvTrim(s.Points[n-1].Value), unit))
		}
	}
	c.Height = legendY + ((len(series)+3)/4)*18
	c.AriaLabel = title
	if len(aria) > 0 {
		c.AriaLabel += ": " + strings.Join(aria, "; ")
	}
	if !tMin.IsZero() {
		c.AriaLabel += fmt.Sprintf(" (%s to %s)", day(tMin), day(tMax))
	}
	return c
}

func strconvTrim(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	return strings.TrimSuffix(s, ".0")
}

// LineChartTemplate defines the "linechart" html/template that draws a
// LineChart as an inline SVG figure. Templates that include it parse it
// with their own text.
const LineChartTemplate = `{{define "linechart"}}<figure>
<figcaption>{{.Title}}</figcaption>
<svg role="img" aria-label="{{.AriaLabel}}" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" xmlns="http://www.w3.org/2000/svg">
<line x1="{{.Left}}" y1="{{.Bottom}}" x2="{{.Right}}" y2="{{.Bottom}}" stroke="#6b6b6b"/>
<line x1="{{.Left}}" y1="{{.Top}}" x2="{{.Left}}" y2="{{.Bottom}}" stroke="#6b6b6b"/>
{{range .YTicks}}<line x1="{{$.Left}}" y1="{{.Pos}}" x2="{{$.Right}}" y2="{{.Pos}}" stroke="#e5e5e5"/><text x="{{$.Left}}" dx="-4" y="{{.Pos}}" dy="4" text-anchor="end">{{.Label}}</text>
{{end}}{{range .XTicks}}<text x="{{.Pos}}" y="{{$.Bottom}}" dy="16" text-anchor="{{.Anchor}}">{{.Label}}</text>
{{end}}{{range .Lines}}<polyline fill="none" stroke="{{.Colour}}" stroke-width="2" points="{{.Points}}"/>
{{$c := .Colour}}{{range .Dots}}<circle cx="{{.X}}" cy="{{.Y}}" r="2.5" fill="{{$c}}"/>{{end}}
<rect x="{{.LegendX}}" y="{{.LegendY}}" width="10" height="10" fill="{{.Colour}}"/><text x="{{.LegendX}}" dx="14" y="{{.LegendY}}" dy="9">{{.Name}}</text>
{{end}}</svg>
</figure>{{end}}`
