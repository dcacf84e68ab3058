package scenarios

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem found in a scenario. Its text is
//
//	file:line:col: field.path: message (allowed: a, b, c)
//
// or, when the offending value came from an override,
//
//	file: --set "path=value": field.path: message (allowed: ...)
type Error struct {
	File string
	// Line and Col are 1-based; 0 when the position is unknown.
	Line, Col int
	// Set is the override ("path=value") the value came from, if any.
	Set string
	// Path is the field path, e.g. "sites[jn-core].battery.soc_min";
	// empty for problems of the file as a whole (syntax errors).
	Path string
	Msg  string
	// Allowed lists the accepted values or fields, when there is a list.
	Allowed []string
}

// Error formats the error as described on the type.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	switch {
	case e.Set != "":
		b.WriteString(": --set ")
		b.WriteString(strconv.Quote(e.Set))
	case e.Line > 0 && e.Col > 0:
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	case e.Line > 0:
		// YAML syntax errors locateSyntax cannot place carry a line only.
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if len(e.Allowed) > 0 {
		b.WriteString(" (allowed: ")
		b.WriteString(strings.Join(e.Allowed, ", "))
		b.WriteString(")")
	}
	return b.String()
}

// Errors returns the individual scenario errors inside err (as returned by
// Load, Parse or ApplySet), in report order. Errors that are not
// *Error are skipped.
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		walk(errors.Unwrap(err))
	}
	walk(err)
	return out
}

// maxErrors bounds how many errors one load reports.
const maxErrors = 50

// collector gathers errors and knows where every decoded value came from.
type collector struct {
	file string
	list []*Error
	// pos maps a field path to the YAML node its value came from.
	pos map[string]*yaml.Node
	// setOf maps nodes created by an override to the override.
	setOf map[*yaml.Node]string
	// nulls maps a field path given as null (~, "null" or nothing after
	// the colon) to its node: null means "not given", so the path is not
	// in pos, but errors about it still point at the place.
	nulls map[string]*yaml.Node
	// validating is set once decoding is done. Decoding errors record
	// their paths in bad; validation errors at a path related to a bad
	// one (the same, an ancestor or a descendant) are dropped, because
	// they would only repeat the decoding error in other words.
	validating bool
	bad        []string
}

func newCollector(file string) *collector {
	return &collector{file: file, pos: map[string]*yaml.Node{}, setOf: map[*yaml.Node]string{}, nulls: map[string]*yaml.Node{}}
}

// has reports whether the file (or an override) gave a value at path.
func (c *collector) has(path string) bool {
	_, ok := c.pos[path]
	return ok
}

// node returns the node of path or of its nearest ancestor that has one
// (a null value counts).
func (c *collector) node(path string) *yaml.Node {
	for {
		if n, ok := c.pos[path]; ok {
			return n
		}
		if n, ok := c.nulls[path]; ok {
			return n
		}
		if path == "" {
			return nil
		}
		path = parentPath(path)
	}
}

// parentPath strips the last segment of a field path:
// "a.b[c].d" -> "a.b[c]" -> "a.b" -> "a" -> "".
func parentPath(p string) string {
	depth := 0
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case ']':
			depth++
		case '[':
			depth--
			if depth == 0 {
				return p[:i]
			}
		case '.':
			if depth == 0 {
				return p[:i]
			}
		}
	}
	return ""
}

// related reports whether paths a and b are equal or one contains the
// other.
func related(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if a == "" {
		return true
	}
	if !strings.HasPrefix(b, a) {
		return false
	}
	return len(b) == len(a) || b[len(a)] == '.' || b[len(a)] == '['
}

// at records an error at node n (which may be nil).
func (c *collector) at(n *yaml.Node, path, msg string, allowed ...string) {
	if c.validating {
		for _, b := range c.bad {
			if related(b, path) {
				return
			}
		}
	} else {
		c.bad = append(c.bad, path)
	}
	e := &Error{File: c.file, Path: path, Msg: msg, Allowed: allowed}
	if n != nil {
		if s, ok := c.setOf[n]; ok {
			e.Set = s
		} else {
			e.Line, e.Col = n.Line, n.Column
		}
	}
	c.list = append(c.list, e)
}

// errf records an error at the value of path (or its nearest ancestor).
func (c *collector) errf(path, format string, args ...any) {
	c.at(c.node(path), path, fmt.Sprintf(format, args...))
}

// allowed records an error at path with a list of allowed values.
func (c *collector) allowed(path string, allowed []string, format string, args ...any) {
	c.at(c.node(path), path, fmt.Sprintf(format, args...), allowed...)
}

// err returns the collected errors sorted by position (stable otherwise),
// joined, or nil.
func (c *collector) err() error {
	if len(c.list) == 0 {
		return nil
	}
	list := append([]*Error(nil), c.list...)
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		// Errors from overrides come after the file's.
		if (a.Set != "") != (b.Set != "") {
			return b.Set != ""
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	// Drop exact duplicates (the same value reached twice through an
	// alias reports once).
	out := list[:0]
	seen := map[string]bool{}
	for _, e := range list {
		k := e.Error()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	errs := make([]error, 0, min(len(out), maxErrors)+1)
	for i, e := range out {
		if i == maxErrors {
			errs = append(errs, &Error{File: c.file, Msg: fmt.Sprintf("too many errors; %d more not shown", len(out)-maxErrors)})
			break
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}
