package energy

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// FieldError is one invalid field of a spec. Field is the path of the field
// in the snake_case names of its yaml/json tags, relative to the spec that
// was validated (for example "battery.soc_min" or
// "contracts[1].price_cny_per_kwh"), so a scenario loader can prefix it
// with its own path and map it to a file position.
type FieldError struct {
	Field string
	Value any
	// Want says what is allowed, e.g. "must be in [0,1]".
	Want string
}

// Error formats the error as "<field> <value> <want>", for example
// "battery.soc_min 1.2 must be in [0,1]".
func (e *FieldError) Error() string {
	switch v := e.Value.(type) {
	case string:
		return fmt.Sprintf("%s %q %s", e.Field, v, e.Want)
	case float64:
		return fmt.Sprintf("%s %s %s", e.Field, formatFloat(v), e.Want)
	case nil:
		return fmt.Sprintf("%s %s", e.Field, e.Want)
	default:
		return fmt.Sprintf("%s %v %s", e.Field, v, e.Want)
	}
}

func formatFloat(v float64) string { return fmt.Sprintf("%g", v) }

// FieldErrors returns the *FieldError values inside err (as returned by a
// Validate method), in order.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// checker collects field errors under a path prefix.
type checker struct {
	prefix string
	errs   []error
}

func (c *checker) path(field string) string {
	if c.prefix == "" {
		return field
	}
	if strings.HasPrefix(field, "[") {
		return c.prefix + field
	}
	return c.prefix + "." + field
}

func (c *checker) fail(field string, v any, want string) {
	c.errs = append(c.errs, &FieldError{Field: c.path(field), Value: v, Want: want})
}

// sub returns a checker for a nested spec; its errors are merged back by
// merge.
func (c *checker) sub(field string) *checker { return &checker{prefix: c.path(field)} }

func (c *checker) merge(o *checker) { c.errs = append(c.errs, o.errs...) }

func (c *checker) err() error { return errors.Join(c.errs...) }

// finite reports v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// in checks lo <= v <= hi.
func (c *checker) in(field string, v, lo, hi float64) {
	if !(v >= lo && v <= hi) {
		c.fail(field, v, fmt.Sprintf("must be in [%g,%g]", lo, hi))
	}
}

// inOpenLow checks lo < v <= hi.
func (c *checker) inOpenLow(field string, v, lo, hi float64) {
	if !(v > lo && v <= hi) {
		c.fail(field, v, fmt.Sprintf("must be in (%g,%g]", lo, hi))
	}
}

// inOpen checks lo < v < hi.
func (c *checker) inOpen(field string, v, lo, hi float64) {
	if !(v > lo && v < hi) {
		c.fail(field, v, fmt.Sprintf("must be in (%g,%g)", lo, hi))
	}
}

// nonNeg checks v >= 0 and finite.
func (c *checker) nonNeg(field string, v float64) {
	if !(v >= 0) || !finite(v) {
		c.fail(field, v, "must be a finite number >= 0")
	}
}

// positive checks v > 0 and finite.
func (c *checker) positive(field string, v float64) {
	if !(v > 0) || !finite(v) {
		c.fail(field, v, "must be a finite number > 0")
	}
}

// oneOf checks v is one of allowed.
func (c *checker) oneOf(field, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.fail(field, v, "must be one of "+strings.Join(quoteAll(allowed), ", "))
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}
