package energy

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Period is a time-of-use tariff period. Hours that no rule covers are flat.
type Period uint8

const (
	// PeriodFlat (平) is the default period, multiplier 1.0.
	PeriodFlat Period = iota
	// PeriodCritical (尖峰) lies inside the peak.
	PeriodCritical
	// PeriodPeak (高峰).
	PeriodPeak
	// PeriodValley (低谷).
	PeriodValley
	// PeriodDeepValley (深谷) lies inside the valley (Shandong's midday deep
	// valley).
	PeriodDeepValley
	// NumPeriods is the number of periods.
	NumPeriods
)

var periodNames = [NumPeriods]string{"flat", "critical", "peak", "valley", "deep_valley"}

// String returns the period's name as used in tariff files: "flat",
// "critical", "peak", "valley" or "deep_valley".
func (p Period) String() string {
	if p < NumPeriods {
		return periodNames[p]
	}
	return fmt.Sprintf("period(%d)", uint8(p))
}

// ParsePeriod parses a period name (case-insensitive; "deep-valley" and
// "deepvalley" are accepted for "deep_valley").
func ParsePeriod(s string) (Period, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	k = strings.ReplaceAll(k, "-", "_")
	if k == "deepvalley" {
		k = "deep_valley"
	}
	for i, n := range periodNames {
		if k == n {
			return Period(i), nil
		}
	}
	return 0, fmt.Errorf("unknown tariff period %q (allowed: %s)", s, strings.Join(periodNames[:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (p Period) MarshalText() ([]byte, error) {
	if p >= NumPeriods {
		return nil, fmt.Errorf("invalid tariff period %d", uint8(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Period) UnmarshalText(b []byte) error {
	v, err := ParsePeriod(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// TOURule says that in the given months, the local hours [StartHour,
// EndHour) belong to Period, whose energy price is Multiplier times the
// flat energy price. Rules may nest (deep valley inside valley, critical
// inside peak): where rules overlap, the innermost (shortest) one wins.
// Rules that overlap without nesting are an error.
type TOURule struct {
	// Season is a label, e.g. "spring"; a month belongs to one season.
	Season string `yaml:"season" json:"season"`
	// Months are 1..12.
	Months     []int   `yaml:"months" json:"months"`
	Period     Period  `yaml:"period" json:"period"`
	StartHour  int     `yaml:"start_hour" json:"start_hour"`
	EndHour    int     `yaml:"end_hour" json:"end_hour"`
	Multiplier float64 `yaml:"multiplier" json:"multiplier"`
}

// Shandong time-of-use defaults (shandong-facts.md §3.2, §5.2): price =
// fixed + multiplier × energy part, CNY/kWh, which reproduces the March
// 2026 1–10 kV agency-purchase prices to ±0.001.
const (
	ShandongFixedCNYPerKWh  = 0.133
	ShandongEnergyCNYPerKWh = 0.481
)

// Shandong multipliers of the energy part by period (Jinan DRC notice,
// shandong-facts.md §3.2).
const (
	MultCritical   = 2.0
	MultPeak       = 1.7
	MultFlat       = 1.0
	MultValley     = 0.3
	MultDeepValley = 0.1
)

var shandong2024 = []TOURule{
	{"spring", []int{3, 4, 5}, PeriodValley, 10, 15, MultValley},
	{"spring", []int{3, 4, 5}, PeriodDeepValley, 11, 14, MultDeepValley},
	{"spring", []int{3, 4, 5}, PeriodPeak, 17, 22, MultPeak},
	{"spring", []int{3, 4, 5}, PeriodCritical, 17, 20, MultCritical},
	{"summer", []int{6, 7, 8}, PeriodValley, 0, 6, MultValley},
	{"summer", []int{6, 7, 8}, PeriodPeak, 16, 22, MultPeak},
	{"summer", []int{6, 7, 8}, PeriodCritical, 17, 22, MultCritical},
	{"autumn", []int{9, 10, 11}, PeriodValley, 10, 15, MultValley},
	{"autumn", []int{9, 10, 11}, PeriodDeepValley, 11, 14, MultDeepValley},
	{"autumn", []int{9, 10, 11}, PeriodPeak, 16, 21, MultPeak},
	{"autumn", []int{9, 10, 11}, PeriodCritical, 17, 19, MultCritical},
	{"winter", []int{12, 1, 2}, PeriodValley, 10, 15, MultValley},
	{"winter", []int{12, 1, 2}, PeriodDeepValley, 11, 14, MultDeepValley},
	{"winter", []int{12, 1, 2}, PeriodPeak, 16, 21, MultPeak},
	{"winter", []int{12, 1, 2}, PeriodCritical, 16, 19, MultCritical},
}

// Shandong2024Rules returns (a fresh copy of) Shandong's 2024 industrial
// and commercial time-of-use period table (shandong-facts.md §3.2; the same
// table as ../shared/data/shandong/tou-tariff.csv).
func Shandong2024Rules() []TOURule {
	out := make([]TOURule, len(shandong2024))
	for i, r := range shandong2024 {
		r.Months = slices.Clone(r.Months)
		out[i] = r
	}
	return out
}

// TariffSpec configures a time-of-use tariff:
//
//	price(t) = FixedCNYPerKWh + multiplier(t) × EnergyCNYPerKWh
//
// where multiplier(t) comes from the innermost rule covering t's local
// (CST) month and hour, or FlatMultiplier when no rule covers it.
type TariffSpec struct {
	// FixedCNYPerKWh is the part of the price that does not vary by period
	// (transmission and distribution, surcharges).
	FixedCNYPerKWh float64 `yaml:"fixed_cny_per_kwh" json:"fixed_cny_per_kwh"`
	// EnergyCNYPerKWh is the flat energy part the multipliers scale.
	EnergyCNYPerKWh float64 `yaml:"energy_cny_per_kwh" json:"energy_cny_per_kwh"`
	// FlatMultiplier applies to hours no rule covers.
	FlatMultiplier float64 `yaml:"flat_multiplier" json:"flat_multiplier"`
	// Rules is the period table; DefaultTariffSpec has Shandong's 2024 one.
	Rules []TOURule `yaml:"rules" json:"rules"`
}

// DefaultTariffSpec is Shandong's 2024 table with the March 2026 price
// levels: 0.133 + m × 0.481 CNY/kWh.
func DefaultTariffSpec() TariffSpec {
	return TariffSpec{
		FixedCNYPerKWh:  ShandongFixedCNYPerKWh,
		EnergyCNYPerKWh: ShandongEnergyCNYPerKWh,
		FlatMultiplier:  MultFlat,
		Rules:           Shandong2024Rules(),
	}
}

// Validate checks prices and multipliers are non-negative, every rule's
// months are in 1..12 and hours in [0,24) with start < end, no month
// belongs to two seasons, and overlapping rules of one month nest strictly.
func (s TariffSpec) Validate() error {
	c := &checker{prefix: "tariff"}
	s.validate(c)
	return c.err()
}

func (s TariffSpec) validate(c *checker) {
	c.nonNeg("fixed_cny_per_kwh", s.FixedCNYPerKWh)
	c.nonNeg("energy_cny_per_kwh", s.EnergyCNYPerKWh)
	c.nonNeg("flat_multiplier", s.FlatMultiplier)
	var season [13]string
	var seasonRule [13]int
	for i, r := range s.Rules {
		rc := c.sub(fmt.Sprintf("rules[%d]", i))
		if len(r.Months) == 0 {
			rc.fail("months", nil, "must list at least one month (1..12)")
		}
		for j, m := range r.Months {
			if m < 1 || m > 12 {
				rc.fail(fmt.Sprintf("months[%d]", j), m, "must be in 1..12")
				continue
			}
			if season[m] == "" {
				season[m], seasonRule[m] = r.Season, i
			} else if season[m] != r.Season {
				rc.fail(fmt.Sprintf("months[%d]", j), m, fmt.Sprintf("is already in season %q (rules[%d]); a month belongs to one season", season[m], seasonRule[m]))
			}
		}
		if r.Period >= NumPeriods {
			rc.fail("period", int(r.Period), "must be one of "+strings.Join(periodNames[:], ", "))
		}
		if r.StartHour < 0 || r.StartHour > 23 {
			rc.fail("start_hour", r.StartHour, "must be in 0..23")
		}
		if r.EndHour < 1 || r.EndHour > 24 {
			rc.fail("end_hour", r.EndHour, "must be in 1..24")
		} else if r.EndHour <= r.StartHour {
			rc.fail("end_hour", r.EndHour, fmt.Sprintf("must be > start_hour %d (split a period that crosses midnight into two rules)", r.StartHour))
		}
		if !(r.Multiplier >= 0) || !finite(r.Multiplier) {
			rc.fail("multiplier", r.Multiplier, "must be a finite number >= 0")
		}
		c.merge(rc)
	}
	if len(c.errs) > 0 {
		return
	}
	// Overlapping rules in a common month must nest strictly.
	for i, a := range s.Rules {
		for j := i + 1; j < len(s.Rules); j++ {
			b := s.Rules[j]
			if !shareMonth(a.Months, b.Months) || a.EndHour <= b.StartHour || b.EndHour <= a.StartHour {
				continue
			}
			aInB := b.StartHour <= a.StartHour && a.EndHour <= b.EndHour
			bInA := a.StartHour <= b.StartHour && b.EndHour <= a.EndHour
			switch {
			case aInB && bInA:
				c.fail(fmt.Sprintf("rules[%d]", j), nil, fmt.Sprintf("covers the same hours %d-%d as rules[%d] in a common month; which one applies is ambiguous", b.StartHour, b.EndHour, i))
			case !aInB && !bInA:
				c.fail(fmt.Sprintf("rules[%d]", j), nil, fmt.Sprintf("hours %d-%d overlap rules[%d] hours %d-%d without nesting (an inner period must lie inside an outer one)", b.StartHour, b.EndHour, i, a.StartHour, a.EndHour))
			}
		}
	}
}

func shareMonth(a, b []int) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// Tariff is a built time-of-use tariff: a 12 × 24 table of periods and
// prices. Its methods do not allocate.
type Tariff struct {
	period [12][24]Period
	mult   [12][24]float64
	price  [12][24]float64
	fixed  float64
	energy float64
}

// NewTariff validates spec and builds the month × hour table.
func NewTariff(spec TariffSpec) (*Tariff, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	tf := &Tariff{fixed: spec.FixedCNYPerKWh, energy: spec.EnergyCNYPerKWh}
	var span [12][24]int
	for m := range 12 {
		for h := range 24 {
			tf.period[m][h] = PeriodFlat
			tf.mult[m][h] = spec.FlatMultiplier
			span[m][h] = 25
		}
	}
	for _, r := range spec.Rules {
		w := r.EndHour - r.StartHour
		for _, m := range r.Months {
			for h := r.StartHour; h < r.EndHour; h++ {
				if w < span[m-1][h] {
					span[m-1][h] = w
					tf.period[m-1][h] = r.Period
					tf.mult[m-1][h] = r.Multiplier
				}
			}
		}
	}
	for m := range 12 {
		for h := range 24 {
			tf.price[m][h] = tf.fixed + tf.mult[m][h]*tf.energy
		}
	}
	return tf, nil
}

// Price returns the grid energy price at t in CNY/kWh.
func (tf *Tariff) Price(t time.Time) float64 {
	c := localClock(t)
	return tf.price[c.month-1][c.hi]
}

// Period returns the tariff period at t.
func (tf *Tariff) Period(t time.Time) Period {
	c := localClock(t)
	return tf.period[c.month-1][c.hi]
}

// Multiplier returns the multiplier of the energy part at t.
func (tf *Tariff) Multiplier(t time.Time) float64 {
	c := localClock(t)
	return tf.mult[c.month-1][c.hi]
}

// At returns the price in CNY/kWh and the period for a local month (1..12)
// and hour (0..23).
func (tf *Tariff) At(month, hour int) (float64, Period) {
	return tf.price[month-1][hour], tf.period[month-1][hour]
}

func (tf *Tariff) priceAt(c *clock) float64 { return tf.price[c.month-1][c.hi] }
func (tf *Tariff) periodAt(c *clock) Period { return tf.period[c.month-1][c.hi] }

// ParseError is a syntax or value error in a CSV input: Line and Column
// are 1-based (Column counts bytes, as encoding/csv does), Field is the
// column's header name.
type ParseError struct {
	Line, Column int
	Field        string
	Err          error
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("line %d, column %d (%s): %v", e.Line, e.Column, e.Field, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// csvErr converts an encoding/csv error into a ParseError when it can.
func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{Line: pe.Line, Column: pe.Column, Err: pe.Err}
	}
	return err
}

var touHeader = []string{"season", "months", "period", "start_hour", "end_hour", "multiplier"}

// ParseTOU reads a time-of-use table in the format of
// ../shared/data/shandong/tou-tariff.csv: lines starting with '#' are
// comments, the header is
//
//	season,months,period,start_hour,end_hour,multiplier
//
// (columns in any order), months is a month, a range "3-5" (which may wrap,
// "12-2") or a list "1,2,12" (quoted in CSV), hours are [start,end) local
// time. Errors carry the line and column. The rules are checked as
// TariffSpec.Validate does, with the line of the offending rule.
func ParseTOU(r io.Reader) ([]TOURule, error) {
	cr := newTableReader(r)
	cr.TrimLeadingSpace = true
	header, err := cr.header("tou table: empty input (want header " + strings.Join(touHeader, ",") + ")")
	if err != nil {
		return nil, err
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(touHeader, h) {
			line, cl := cr.FieldPos(i)
			return nil, &ParseError{Line: line, Column: cl, Field: h, Err: fmt.Errorf("unknown column %q (want %s)", h, strings.Join(touHeader, ","))}
		}
		if _, dup := col[h]; dup {
			line, cl := cr.FieldPos(i)
			return nil, &ParseError{Line: line, Column: cl, Field: h, Err: fmt.Errorf("duplicate column %q", h)}
		}
		col[h] = i
	}
	for _, h := range touHeader {
		if _, ok := col[h]; !ok {
			line, _ := cr.FieldPos(0)
			return nil, &ParseError{Line: line, Column: 1, Err: fmt.Errorf("missing column %q (want %s)", h, strings.Join(touHeader, ","))}
		}
	}
	var rules []TOURule
	var lines []int
	for {
		rec, line, err := cr.next(len(header), strings.Join(header, ","))
		if err != nil {
			return nil, err
		}
		if rec == nil {
			break
		}
		fail := func(name string, e error) error {
			l, cl := cr.FieldPos(col[name])
			return &ParseError{Line: l, Column: cl, Field: name, Err: e}
		}
		var rule TOURule
		rule.Season = strings.TrimSpace(rec[col["season"]])
		if rule.Season == "" {
			return nil, fail("season", errors.New("empty season"))
		}
		if rule.Months, err = parseMonths(rec[col["months"]]); err != nil {
			return nil, fail("months", err)
		}
		if rule.Period, err = ParsePeriod(rec[col["period"]]); err != nil {
			return nil, fail("period", err)
		}
		if rule.StartHour, err = parseHour(rec[col["start_hour"]], 0, 23); err != nil {
			return nil, fail("start_hour", err)
		}
		if rule.EndHour, err = parseHour(rec[col["end_hour"]], 1, 24); err != nil {
			return nil, fail("end_hour", err)
		}
		if rule.EndHour <= rule.StartHour {
			return nil, fail("end_hour", fmt.Errorf("end hour %d must be > start hour %d (split a period that crosses midnight into two rows)", rule.EndHour, rule.StartHour))
		}
		m, err := strconv.ParseFloat(strings.TrimSpace(rec[col["multiplier"]]), 64)
		if err != nil || !(m >= 0) || !finite(m) {
			return nil, fail("multiplier", fmt.Errorf("%q is not a finite number >= 0", rec[col["multiplier"]]))
		}
		rule.Multiplier = m
		rules = append(rules, rule)
		lines = append(lines, line)
	}
	if len(rules) == 0 {
		return nil, errors.New("tou table: no rules after the header")
	}
	// Cross-row checks (seasons, nesting), reported at the later row's line.
	spec := TariffSpec{Rules: rules}
	vc := &checker{}
	spec.validate(vc)
	for _, fe := range FieldErrors(vc.err()) {
		var i int
		if _, err := fmt.Sscanf(fe.Field, "rules[%d]", &i); err == nil && i < len(lines) {
			return nil, &ParseError{Line: lines[i], Column: 1, Err: errors.New(strings.TrimPrefix(fe.Error(), fmt.Sprintf("rules[%d]", i)+" "))}
		}
		return nil, fe
	}
	return rules, nil
}

func parseHour(s string, lo, hi int) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer hour", s)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("hour %d must be in %d..%d", v, lo, hi)
	}
	return v, nil
}

// parseMonths parses "6", "3-5", "12-2" (wrapping) or "1,2,12".
func parseMonths(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty months (want e.g. 3-5, 12-2 or 1,2,12)")
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		a, b, isRange := strings.Cut(part, "-")
		lo, err := parseMonth(a)
		if err != nil {
			return nil, err
		}
		hi := lo
		if isRange {
			if hi, err = parseMonth(b); err != nil {
				return nil, err
			}
		}
		for m := lo; ; m = m%12 + 1 {
			if slices.Contains(out, m) {
				return nil, fmt.Errorf("month %d listed twice in %q", m, s)
			}
			out = append(out, m)
			if m == hi {
				break
			}
		}
	}
	return out, nil
}

func parseMonth(s string) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < 1 || v > 12 {
		return 0, fmt.Errorf("month %q must be an integer in 1..12", s)
	}
	return v, nil
}
