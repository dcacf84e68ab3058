package scenarios

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/suanli/suanli/nodes/energy"
)

// Ranges of the values in CSV files a scenario refers to. The loader reads
// each file as the simulator will (energy.ReadTable, energy.ParseTOU) and
// checks every value, so a file that loads also runs.
const (
	// MaxTraceUnitOutput bounds a solar or wind trace's values with
	// normalize none: output per MW of capacity (1 at the rating; brief
	// peaks above it are allowed up to 2).
	MaxTraceUnitOutput = 2
	// MaxSeriesValue bounds the raw values of a series that is
	// normalised (solar and wind with normalize max, grid carbon), in
	// whatever unit the file has.
	MaxSeriesValue = 1e9
	// MinSeriesNormalizer is a safe lower bound on the max or mean a
	// normalised series divides by (smaller ones may overflow).
	MinSeriesNormalizer = 1e-300
	// MaxTariffMultiplier bounds a tariff CSV's period multipliers
	// (Shandong's largest is 2).
	MaxTariffMultiplier = 100
)

// seriesKind names what a series feeds, for its value range and errors.
type seriesKind string

const (
	seriesSolar  seriesKind = "solar"
	seriesWind   seriesKind = "wind"
	seriesCarbon seriesKind = "grid carbon"
)

// tableResult is a CSV time series read once per load.
type tableResult struct {
	tab *energy.Table
	err error
}

// seriesData reads the series the reference at p names (already known to
// exist and to have the column) and checks it as the simulator will use
// it: a well-formed time series (numbers, increasing times, two rows or
// more), every value of the column finite and in range, a normalisation
// that has something to divide by, and an anchor when the times are
// seconds from the start. Errors are at p.csv and give the CSV's line and
// column.
func (v *validator) seriesData(p string, kind seriesKind, file, column, normalize string, anchor *time.Time) {
	fp := p + ".csv"
	data, full, err := v.readData(file)
	if err != nil {
		return // reported by csvColumns
	}
	tr, ok := v.tables[full]
	if !ok {
		tr.tab, tr.err = energy.ReadTable(bytes.NewReader(data))
		v.tables[full] = tr
	}
	if tr.err != nil {
		v.errf(fp, "%s: %v", full, tr.err)
		return
	}
	lo, hi, what := 0.0, float64(MaxSeriesValue), fmt.Sprintf("a %s series (normalize %s; any unit)", kind, normalize)
	if normalize == "none" {
		hi, what = MaxTraceUnitOutput, fmt.Sprintf("a %s trace with normalize none (output per MW of capacity)", kind)
	}
	if !v.csvRange(fp, full, data, column, lo, hi, what, false) {
		return
	}
	ser, err := tr.tab.Series(column)
	if err != nil {
		v.errf(fp, "%s: %v", full, err)
		return
	}
	switch {
	case normalize == "max" && !(ser.Max() > 0):
		v.errf(fp, "%s: column %q: every value is 0, so normalize max has nothing to divide by (allowed: a column with a value > 0, or normalize none)", full, column)
		return
	case normalize == "mean" && !(ser.Mean() > 0):
		v.errf(fp, "%s: column %q: every value is 0, so normalize mean has nothing to divide by (allowed: a column with a value > 0)", full, column)
		return
	}
	// The simulator multiplies the series by 1/max or 1/mean (times the
	// grid's mean carbon for a carbon shape); a divisor so small that
	// this overflows would stop the run.
	var div, mult float64 = 0, 1
	switch normalize {
	case "max":
		div = ser.Max()
	case "mean":
		div = ser.Mean()
	}
	if kind == seriesCarbon {
		mult = v.s.Grid.CarbonKgPerKWh
	}
	if div > 0 {
		if sc := (1 / div) * mult; math.IsInf(sc, 0) || math.IsNaN(sc) {
			v.errf(fp, "%s: column %q: its %s %s is too small to normalise by (1/%s overflows; allowed: a %s of at least %s, or values in another unit)",
				full, column, normalize, formatFloat(div), formatFloat(div), normalize, formatFloat(MinSeriesNormalizer))
			return
		}
	}
	if _, absolute := ser.Start(); !absolute && anchor == nil {
		v.errf(fp, "%s: the time column holds seconds from the start, so the series needs anchor: the simulated time of its first row (e.g. anchor: \"%s\")", full, v.s.Start.Format(time.RFC3339))
	}
}

// tariffData parses a tariff CSV as the simulator will (energy.ParseTOU)
// and checks the multipliers are in [0, MaxTariffMultiplier].
func (v *validator) tariffData(p, file string) {
	data, full, err := v.readData(file)
	if err != nil {
		return // reported by csvColumns
	}
	if _, err := energy.ParseTOU(bytes.NewReader(data)); err != nil {
		v.errf(p, "%s: %v", full, err)
		return
	}
	v.csvRange(p, full, data, "multiplier", 0, MaxTariffMultiplier, "a tariff multiplier", true)
}

// csvRange checks the numeric cells of column in a CSV that has already
// parsed: each must be in [lo, hi]. The error names the first cell out
// of range by line and column and counts the others. The column is
// matched exactly, else case-insensitively, as the readers do; trim trims
// leading spaces of cells, as the tariff reader does. It reports whether
// every value is in range.
func (v *validator) csvRange(p, full string, data []byte, column string, lo, hi float64, what string, trim bool) bool {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = trim
	header, err := r.Read()
	if err != nil {
		return true // the parsers report it
	}
	ci := -1
	for i, h := range header {
		if strings.TrimSpace(h) == column {
			ci = i
			break
		}
	}
	if ci < 0 {
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(h), column) {
				ci = i
				break
			}
		}
	}
	if ci < 0 {
		return true
	}
	var first string
	bad := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return true // the parsers report it
		}
		if ci >= len(rec) {
			continue
		}
		cell := strings.TrimSpace(rec[ci])
		switch strings.ToLower(cell) {
		case "", "na", "nan", "null":
			continue // missing: the series interpolates
		}
		x, err := strconv.ParseFloat(cell, 64)
		if err != nil {
			continue // reported by the parsers
		}
		if x >= lo && x <= hi {
			continue
		}
		if bad == 0 {
			line, col := r.FieldPos(ci)
			first = fmt.Sprintf("line %d, column %d (%s): %s", line, col, strings.TrimSpace(header[ci]), cell)
		}
		bad++
	}
	if bad == 0 {
		return true
	}
	more := ""
	switch {
	case bad == 2:
		more = "; 1 more value of the column is out of range"
	case bad > 2:
		more = fmt.Sprintf("; %d more values of the column are out of range", bad-1)
	}
	v.errf(p, "%s: %s is outside [%s, %s], the range of %s%s", full, first, formatFloat(lo), formatFloat(hi), what, more)
	return false
}
