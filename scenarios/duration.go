package scenarios

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a length of time written in Go syntax ("90m", "1h30m",
// "250ms") extended with days ("7d", "1.5d") and weeks ("2w"). Negative
// durations are not accepted.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Hours returns d in hours.
func (d Duration) Hours() float64 { return time.Duration(d).Hours() }

// String formats d compactly, using days when d is a whole number of days
// ("7d", "1d12h", "90m" -> "1h30m", "0s").
func (d Duration) String() string { return formatDuration(time.Duration(d)) }

// MarshalYAML writes d as a string like "7d".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalText writes d as a string like "7d".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *Duration) decodeYAML(dc *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		dc.typeErr(n, path, "a duration such as 15m, 8h or 7d")
		return
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		dc.c.at(n, path, err.Error())
		return
	}
	*d = Duration(v)
}

var durationUnits = map[string]float64{
	"ns": float64(time.Nanosecond),
	"us": float64(time.Microsecond),
	"µs": float64(time.Microsecond),
	"ms": float64(time.Millisecond),
	"s":  float64(time.Second),
	"m":  float64(time.Minute),
	"h":  float64(time.Hour),
	"d":  float64(24 * time.Hour),
	"w":  float64(7 * 24 * time.Hour),
}

// ParseDuration parses a non-negative duration in Go syntax with the extra
// units d (24 h) and w (7 d). "0" is accepted; any other number needs a
// unit.
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	bad := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("invalid duration %q: %s (use a number and a unit: ns, us, ms, s, m, h, d, w, e.g. 15m, 8h, 7d)", orig, why)
	}
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return bad("empty")
	}
	if s[0] == '-' {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", orig)
	}
	if s[0] == '+' {
		s = s[1:]
	}
	var total float64
	for s != "" {
		i := 0
		for i < len(s) && (s[i] == '.' || ('0' <= s[i] && s[i] <= '9')) {
			i++
		}
		if i == 0 {
			return bad("expected a number")
		}
		num, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return bad("bad number " + strconv.Quote(s[:i]))
		}
		s = s[i:]
		j := 0
		for j < len(s) && !(s[j] == '.' || ('0' <= s[j] && s[j] <= '9')) {
			j++
		}
		unit := s[:j]
		if unit == "" {
			return bad("missing unit")
		}
		mult, ok := durationUnits[unit]
		if !ok {
			return bad("unknown unit " + strconv.Quote(unit))
		}
		s = s[j:]
		total += num * mult
		if total > float64(math.MaxInt64) {
			return bad("too long")
		}
	}
	return time.Duration(math.Round(total)), nil
}

// formatDuration is the inverse of ParseDuration for display.
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	day := 24 * time.Hour
	if d >= day {
		fmt.Fprintf(&b, "%dd", d/day)
		d %= day
	}
	if d >= time.Hour {
		fmt.Fprintf(&b, "%dh", d/time.Hour)
		d %= time.Hour
	}
	if d >= time.Minute {
		fmt.Fprintf(&b, "%dm", d/time.Minute)
		d %= time.Minute
	}
	if d > 0 {
		// Seconds with the shortest exact fraction, e.g. 1.5s, 0.25s.
		b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
		b.WriteByte('s')
	}
	return b.String()
}

// parseTime parses an RFC 3339 timestamp with an explicit offset.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		var pe *time.ParseError
		if errors.As(err, &pe) {
			return time.Time{}, fmt.Errorf("invalid time %q: want RFC 3339 with an offset, e.g. 2025-04-07T00:00:00+08:00", s)
		}
		return time.Time{}, fmt.Errorf("invalid time %q: %v", s, err)
	}
	return t, nil
}
