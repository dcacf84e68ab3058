package sweep

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteTable prints, per scenario, one line per policy with every metric
// as "mean ±ci", and below the baseline a line per policy with the paired
// differences, marked + (significantly better) or − (significantly worse).
func (r *Result) WriteTable(w io.Writer) error {
	var tw *tabwriter.Writer
	var scen string
	for i := 0; i < len(r.Rows); i += len(Metrics) {
		group := r.Rows[i : i+len(Metrics)]
		if tw == nil || group[0].Scenario != scen {
			if tw != nil {
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			scen = group[0].Scenario
			fmt.Fprintf(w, "\n%s: %d seeds; mean ± 95 %% CI; Δ = difference from %s paired by seed (+ significantly better, − significantly worse)\n",
				scen, len(r.Seeds), r.Baseline)
			tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprint(tw, "policy\t")
			for _, m := range Metrics {
				name := m.Name
				if m.Unit != "" {
					name += " (" + m.Unit + ")"
				}
				fmt.Fprintf(tw, "%s\t", name)
			}
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s\t", group[0].Policy)
		for _, row := range group {
			fmt.Fprintf(tw, "%s\t", pm(row.Value.Mean, row.Value.CI95))
		}
		fmt.Fprintln(tw)
		if group[0].Policy != r.Baseline {
			fmt.Fprint(tw, "Δ\t")
			for _, row := range group {
				mark := "  "
				switch row.Better {
				case 1:
					mark = " +"
				case -1:
					mark = " −"
				}
				fmt.Fprintf(tw, "%s%s\t", signed(row.Diff.Mean, row.Diff.CI95), mark)
			}
			fmt.Fprintln(tw)
		}
	}
	if tw == nil {
		return nil
	}
	return tw.Flush()
}

func pm(mean, ci float64) string {
	if math.IsNaN(ci) {
		return num(mean)
	}
	return num(mean) + " ±" + num(ci)
}

func signed(mean, ci float64) string {
	s := num(mean)
	if mean >= 0 {
		s = "+" + s
	}
	if math.IsNaN(ci) {
		return s + " ±–"
	}
	return s + " ±" + num(ci)
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v != 0 && math.Abs(v) < 0.01:
		return strconv.FormatFloat(v, 'g', 2, 64)
	case math.Abs(v) >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// WriteCSV writes every sample, one row per scenario × seed × policy ×
// metric, for analysis elsewhere.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"scenario", "seed", "policy", "metric", "unit", "value"}); err != nil {
		return err
	}
	for _, s := range r.Samples {
		for k, m := range Metrics {
			if err := cw.Write([]string{s.Scenario, strconv.FormatUint(s.Seed, 10), s.Policy, m.Name, m.Unit,
				strconv.FormatFloat(s.Values[k], 'g', 10, 64)}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the aggregated rows (NaN becomes null).
func (r *Result) WriteJSON(w io.Writer) error {
	type stat struct {
		N      int      `json:"n"`
		Mean   *float64 `json:"mean"`
		StdDev *float64 `json:"stddev"`
		CI95   *float64 `json:"ci95"`
	}
	conv := func(s Stat) stat {
		f := func(v float64) *float64 {
			if math.IsNaN(v) {
				return nil
			}
			return &v
		}
		return stat{s.N, f(s.Mean), f(s.StdDev), f(s.CI95)}
	}
	type row struct {
		Scenario string `json:"scenario"`
		Policy   string `json:"policy"`
		Metric   string `json:"metric"`
		Unit     string `json:"unit,omitempty"`
		Value    stat   `json:"value"`
		Diff     *stat  `json:"diff_vs_baseline,omitempty"`
		Better   int    `json:"better"`
	}
	out := struct {
		Baseline string   `json:"baseline"`
		Seeds    []uint64 `json:"seeds"`
		Rows     []row    `json:"rows"`
		// External says what each external policy ran, per scenario.
		External []ExternalRecord `json:"external_policies,omitempty"`
	}{Baseline: r.Baseline, Seeds: r.Seeds, External: r.External}
	for _, x := range r.Rows {
		rr := row{Scenario: x.Scenario, Policy: x.Policy, Metric: x.Metric, Unit: x.Unit, Value: conv(x.Value), Better: x.Better}
		if x.Policy != r.Baseline {
			d := conv(x.Diff)
			rr.Diff = &d
		}
		out.Rows = append(out.Rows, rr)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// ParseSeeds parses "1,2,5" or a range "1-10" into seeds.
func ParseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if a, b, ok := strings.Cut(part, "-"); ok {
			lo, err1 := strconv.ParseUint(a, 10, 64)
			hi, err2 := strconv.ParseUint(b, 10, 64)
			if err1 != nil || err2 != nil || hi < lo || hi-lo > 10000 {
				return nil, fmt.Errorf("seed range %q: want LOW-HIGH with LOW ≤ HIGH, at most 10001 seeds", part)
			}
			for v := lo; v <= hi; v++ {
				out = append(out, v)
			}
			continue
		}
		v, err := strconv.ParseUint(part, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("seed %q: not a non-negative integer", part)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no seeds in %q", s)
	}
	return out, nil
}
