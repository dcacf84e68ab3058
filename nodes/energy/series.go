package energy

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Table is a time series read from CSV: the first column is time, every
// other column a numeric series. Missing cells (empty, "NA", "NaN") are
// allowed and filled by linear interpolation when a column is taken out as
// a Series.
type Table struct {
	// Names are the value columns' header names, in file order.
	Names []string
	// Start is the time of the first row when the time column holds
	// timestamps; it is the zero time when it holds seconds from start.
	Start time.Time
	// Absolute reports that the time column holds timestamps.
	Absolute bool

	secs  []float64   // seconds since the first row
	cols  [][]float64 // NaN marks a missing cell
	lines []int       // file line of each row
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.secs) }

// timeLayouts are the timestamp formats accepted in a time column.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
}

// parseTimestamp accepts ISO 8601 / RFC 3339 forms with or without a zone
// offset; times without an offset are taken as UTC.
func parseTimestamp(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if ts, err := time.Parse(l, s); err == nil {
			return ts, true
		}
	}
	return time.Time{}, false
}

func isMissing(s string) bool {
	switch strings.ToLower(s) {
	case "", "na", "nan", "null":
		return true
	}
	return false
}

// ReadTable reads a CSV time series. Lines starting with '#' are comments.
// The first line is the header; the first column is time, either seconds
// from the start (numbers, as in solar-5min-10-cities.csv) or ISO 8601
// timestamps (as in pjm-2022-hourly-mix-ci.csv; without an offset they are
// UTC). Times must increase strictly. A cell that is not a number, or a
// time out of order, is an error naming its line, column and header.
func ReadTable(r io.Reader) (*Table, error) {
	cr := newTableReader(r)
	header, err := cr.header("time series: empty input (want a header: time,<column>,...)")
	if err != nil {
		return nil, err
	}
	cr.ReuseRecord = true // after the header: records are consumed at once
	if len(header) < 2 {
		line, _ := cr.FieldPos(0)
		return nil, &ParseError{Line: line, Column: 1, Err: errors.New("header needs a time column and at least one value column")}
	}
	t := &Table{Names: make([]string, len(header)-1)}
	seen := map[string]bool{}
	for i, h := range header[1:] {
		h = strings.TrimSpace(h)
		if h == "" || seen[h] {
			line, cl := cr.FieldPos(i + 1)
			return nil, &ParseError{Line: line, Column: cl, Field: h, Err: fmt.Errorf("empty or duplicate column name %q", h)}
		}
		seen[h] = true
		t.Names[i] = h
	}
	timeName := strings.TrimSpace(header[0])
	t.cols = make([][]float64, len(t.Names))
	first := true
	for {
		rec, line, err := cr.next(len(header), "")
		if err != nil {
			return nil, err
		}
		if rec == nil {
			break
		}
		ts := strings.TrimSpace(rec[0])
		var sec float64
		if first {
			if v, err := strconv.ParseFloat(ts, 64); err == nil && finite(v) {
				sec = 0
				t.Start = time.Time{}
				t.secs = append(t.secs, v) // rebased below
			} else if tt, ok := parseTimestamp(ts); ok {
				t.Absolute, t.Start = true, tt
				t.secs = append(t.secs, 0)
			} else {
				return nil, &ParseError{Line: line, Column: 1, Field: timeName, Err: fmt.Errorf("%q is neither seconds nor an ISO 8601 timestamp", ts)}
			}
			first = false
		} else {
			if t.Absolute {
				tt, ok := parseTimestamp(ts)
				if !ok {
					return nil, &ParseError{Line: line, Column: 1, Field: timeName, Err: fmt.Errorf("%q is not an ISO 8601 timestamp like the first row's", ts)}
				}
				sec = tt.Sub(t.Start).Seconds()
			} else {
				v, err := strconv.ParseFloat(ts, 64)
				if err != nil || !finite(v) {
					return nil, &ParseError{Line: line, Column: 1, Field: timeName, Err: fmt.Errorf("%q is not a number of seconds like the first row's", ts)}
				}
				sec = v
			}
			if prev := t.secs[len(t.secs)-1]; !(sec > prev) {
				return nil, &ParseError{Line: line, Column: 1, Field: timeName, Err: fmt.Errorf("time %q is not after the previous row's", ts)}
			}
			t.secs = append(t.secs, sec)
		}
		for i, cell := range rec[1:] {
			cell = strings.TrimSpace(cell)
			v := math.NaN()
			if !isMissing(cell) {
				x, err := strconv.ParseFloat(cell, 64)
				if err != nil || !finite(x) {
					l, cl := cr.FieldPos(i + 1)
					return nil, &ParseError{Line: l, Column: cl, Field: t.Names[i], Err: fmt.Errorf("%q is not a number", cell)}
				}
				v = x
			}
			t.cols[i] = append(t.cols[i], v)
		}
		t.lines = append(t.lines, line)
	}
	if len(t.secs) < 2 {
		return nil, errors.New("time series: need at least two data rows")
	}
	if !t.Absolute {
		base := t.secs[0]
		for i := range t.secs {
			t.secs[i] -= base
		}
	}
	return t, nil
}

// Series returns the named column (exact name, else case-insensitive) with
// missing cells filled by linear interpolation between their neighbours
// (held flat before the first and after the last value).
func (t *Table) Series(column string) (*Series, error) {
	ci := slices.Index(t.Names, column)
	if ci < 0 {
		for i, n := range t.Names {
			if strings.EqualFold(n, column) {
				ci = i
				break
			}
		}
	}
	if ci < 0 {
		return nil, fmt.Errorf("no column %q (have: %s)", column, strings.Join(t.Names, ", "))
	}
	v := slices.Clone(t.cols[ci])
	if err := fillMissing(t.secs, v); err != nil {
		return nil, fmt.Errorf("column %q: %w", t.Names[ci], err)
	}
	return newSeries(t.secs, v, t.Start, t.Absolute), nil
}

func fillMissing(x, v []float64) error {
	last := -1
	for i := range v {
		if math.IsNaN(v[i]) {
			continue
		}
		switch {
		case last < 0:
			for k := 0; k < i; k++ {
				v[k] = v[i]
			}
		case last < i-1:
			for k := last + 1; k < i; k++ {
				f := (x[k] - x[last]) / (x[i] - x[last])
				v[k] = v[last]*(1-f) + v[i]*f
			}
		}
		last = i
	}
	if last < 0 {
		return errors.New("every value is missing")
	}
	for k := last + 1; k < len(v); k++ {
		v[k] = v[last]
	}
	return nil
}

// Series is one column of a Table: values at increasing times (seconds from
// the first row), read by linear interpolation and repeated cyclically
// outside their span. The cycle length is the span plus one step (the
// spacing of the last two rows), so a year of hourly rows repeats every 8760
// hours. At does not allocate; lookups on an evenly spaced series are O(1).
type Series struct {
	secs, vals []float64
	step       float64 // > 0 when evenly spaced
	period     float64
	start      time.Time
	absolute   bool
	mean, max  float64
}

func newSeries(secs, vals []float64, start time.Time, absolute bool) *Series {
	n := len(secs)
	s := &Series{secs: secs, vals: vals, start: start, absolute: absolute}
	last := secs[n-1] - secs[n-2]
	s.period = secs[n-1] + last
	step := secs[1] - secs[0]
	s.step = step
	for i := 2; i < n; i++ {
		if math.Abs(secs[i]-secs[i-1]-step) > 1e-9*step {
			s.step = 0
			break
		}
	}
	// The mean is the time average over one cycle (trapezoids, the last
	// segment wrapping to the first value), so it is the mean of At.
	var area float64
	s.max = math.Inf(-1)
	for i := range n {
		j, dx := i+1, 0.0
		if j == n {
			j, dx = 0, s.period-secs[i]
		} else {
			dx = secs[j] - secs[i]
		}
		area += (vals[i]/2 + vals[j]/2) * dx
		s.max = max(s.max, vals[i])
	}
	s.mean = area / s.period
	return s
}

// Len is the number of samples.
func (s *Series) Len() int { return len(s.vals) }

// Mean is the time average over one cycle.
func (s *Series) Mean() float64 { return s.mean }

// Max is the largest sample.
func (s *Series) Max() float64 { return s.max }

// PeriodSeconds is the length of one cycle.
func (s *Series) PeriodSeconds() float64 { return s.period }

// Start is the time of the first sample for series read from timestamps,
// and the zero time otherwise.
func (s *Series) Start() (time.Time, bool) { return s.start, s.absolute }

// At returns the value sec seconds after the first sample, interpolated
// linearly and wrapped cyclically.
func (s *Series) At(sec float64) float64 {
	x := math.Mod(sec, s.period)
	if x < 0 {
		x += s.period
	}
	n := len(s.vals)
	var i int
	if s.step > 0 {
		i = int(x / s.step)
		if i >= n {
			i = n - 1
		}
	} else {
		i = sort.SearchFloat64s(s.secs, x)
		if i == n || s.secs[i] > x {
			i--
		}
		if i < 0 {
			i = 0
		}
	}
	x0, v0 := s.secs[i], s.vals[i]
	var x1, v1 float64
	if i+1 < n {
		x1, v1 = s.secs[i+1], s.vals[i+1]
	} else {
		x1, v1 = s.period, s.vals[0]
	}
	f := (x - x0) / (x1 - x0)
	return v0*(1-f) + v1*f // no overflow for any finite values
}

// Normalization names how a trace's raw values are scaled.
type Normalization string

const (
	// NormalizeNone uses the values as they are.
	NormalizeNone Normalization = "none"
	// NormalizeMax divides by the largest value (so the peak is 1).
	NormalizeMax Normalization = "max"
	// NormalizeMean divides by the time-average (so the mean is 1).
	NormalizeMean Normalization = "mean"
)

// TraceSpec selects one column of a CSV time series file as a trace.
type TraceSpec struct {
	// File is the CSV file, resolved by the TableSource the caller gives
	// (typically relative to the scenario file).
	File string `yaml:"file" json:"file"`
	// Column is the value column's header name, e.g. "Hong Kong" or "WND".
	Column string `yaml:"column" json:"column"`
	// Normalize scales the raw values: "none", "max" or "mean".
	Normalize Normalization `yaml:"normalize" json:"normalize"`
	// Anchor is the simulated time that the series' first row stands for.
	// The zero time means the row's own timestamp; files whose time column
	// holds seconds from start need an anchor. Outside the file's span the
	// series repeats cyclically.
	Anchor time.Time `yaml:"anchor" json:"anchor"`
}

// Validate checks a file and a column are named and normalize is "none",
// "max" or "mean". (The models that embed a trace allow fewer: solar and
// wind "none" or "max", carbon "mean".)
func (s TraceSpec) Validate() error {
	c := &checker{prefix: "trace"}
	s.validate(c, NormalizeNone, NormalizeMax, NormalizeMean)
	return c.err()
}

func (s TraceSpec) validate(c *checker, allowed ...Normalization) {
	if strings.TrimSpace(s.File) == "" {
		c.fail("file", s.File, "must name a CSV file")
	}
	if strings.TrimSpace(s.Column) == "" {
		c.fail("column", s.Column, "must name a value column of the file")
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	c.oneOf("normalize", string(s.Normalize), names...)
}

// TableSource returns the parsed table of a trace file. The caller owns
// file access (this package opens nothing); CachedTables wraps an opener so
// each file is read once.
type TableSource func(file string) (*Table, error)

// CachedTables returns a TableSource that opens each file once with open,
// parses it with ReadTable and keeps the table. It is safe for concurrent
// use.
func CachedTables(open func(file string) (io.ReadCloser, error)) TableSource {
	var mu sync.Mutex
	cache := map[string]*Table{}
	return func(file string) (*Table, error) {
		mu.Lock()
		defer mu.Unlock()
		if t, ok := cache[file]; ok {
			return t, nil
		}
		f, err := open(file)
		if err != nil {
			return nil, err
		}
		t, err := ReadTable(f)
		cerr := f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		if cerr != nil {
			return nil, fmt.Errorf("close %s: %w", file, cerr)
		}
		cache[file] = t
		return t, nil
	}
}

// Trace is a Series placed in time and scaled: At(t) = scale × series value
// (t − anchor). It does not allocate.
type Trace struct {
	s      *Series
	anchor time.Time
	scale  float64
}

// NewTrace places s at anchor (the zero time: the series' own start, which
// only series read from timestamps have) and multiplies it by scale.
func NewTrace(s *Series, anchor time.Time, scale float64) (*Trace, error) {
	if anchor.IsZero() {
		st, abs := s.Start()
		if !abs {
			return nil, errors.New("the series' time column holds seconds from start, so the trace needs an anchor time")
		}
		anchor = st
	}
	if !finite(scale) {
		return nil, fmt.Errorf("trace scale %g is not finite", scale)
	}
	return &Trace{s: s, anchor: anchor, scale: scale}, nil
}

// At returns the trace's value at t.
func (tr *Trace) At(t time.Time) float64 {
	return tr.scale * tr.s.At(t.Sub(tr.anchor).Seconds())
}

// Mean returns the trace's time-average over one cycle.
func (tr *Trace) Mean() float64 { return tr.scale * tr.s.Mean() }

// loadTrace resolves spec through src and builds a trace whose normalised
// values are multiplied by mult.
func loadTrace(spec TraceSpec, src TableSource, mult float64) (*Trace, error) {
	if src == nil {
		return nil, fmt.Errorf("trace %s: no table source given to read it", spec.File)
	}
	tab, err := src(spec.File)
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", spec.File, err)
	}
	s, err := tab.Series(spec.Column)
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", spec.File, err)
	}
	scale := 1.0
	switch spec.Normalize {
	case NormalizeMax:
		if !(s.Max() > 0) {
			return nil, fmt.Errorf("trace %s column %q: cannot normalise by max %g", spec.File, spec.Column, s.Max())
		}
		scale = 1 / s.Max()
	case NormalizeMean:
		if !(s.Mean() > 0) {
			return nil, fmt.Errorf("trace %s column %q: cannot normalise by mean %g", spec.File, spec.Column, s.Mean())
		}
		scale = 1 / s.Mean()
	}
	tr, err := NewTrace(s, spec.Anchor, scale*mult)
	if err != nil {
		return nil, fmt.Errorf("trace %s column %q: %w", spec.File, spec.Column, err)
	}
	return tr, nil
}
