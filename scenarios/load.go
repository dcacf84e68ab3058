package scenarios

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/suanli/suanli/nodes"
)

// MaxFileBytes bounds the size of a scenario file.
const MaxFileBytes = 4 << 20

// maxDataBytes bounds the size of a file a scenario refers to.
const maxDataBytes = 256 << 20

// LoadOptions tune Load and Parse.
type LoadOptions struct {
	// KnownPolicies are the policy names the scheduler knows; policies
	// outside it are errors. Nil skips the check.
	KnownPolicies []string
	// Sets are overrides ("sites[jn-core].battery.mwh=20"), applied in
	// order to the YAML tree before decoding (see ApplySet).
	Sets []string
	// SkipData skips opening the files a scenario refers to (traces,
	// CSV series, tariff tables, SPECpower rows): their existence and
	// columns are not checked, trace records are not read and SPECpower
	// curves stay empty.
	SkipData bool
	// ReadFile reads a referenced file (default os.ReadFile, capped at
	// 256 MiB). Names are already resolved against the scenario's
	// directory.
	ReadFile func(name string) ([]byte, error)
}

// Load reads, decodes, validates and resolves the scenario file at path.
// Every error is an *Error (see Errors) naming the file, line, column and
// field path; several are joined.
func Load(path string, opts LoadOptions) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load scenario %s: %w", path, err)
	}
	return Parse(path, data, opts)
}

var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses one YAML document into a node tree, never panicking.
func parseYAML(name string, data []byte) (root *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, &Error{File: name, Msg: fmt.Sprintf("invalid YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, &Error{File: name, Msg: "empty scenario file"}
		}
		return nil, yamlErr(name, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, yamlErr(name, data, err)
		}
		return nil, &Error{File: name, Line: extra.Line, Col: extra.Column, Msg: "a scenario file holds one YAML document; found a second one (remove the --- separator)"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{File: name, Msg: "empty scenario file"}
	}
	return doc.Content[0], nil
}

var yamlAnchorErr = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)

// yamlErr converts a yaml.v3 syntax error. yaml.v3 reports a line only;
// for parser errors ("did not find expected ...") that line is the
// 0-based line of the construct being parsed, so it is shifted by one.
// locateSyntax adds the column (and corrects the line) for the common
// mistakes it recognises.
func yamlErr(name string, data []byte, err error) error {
	msg := err.Error()
	if m := yamlLineErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if strings.HasPrefix(m[2], "did not find expected") {
			line++
		}
		e := &Error{File: name, Line: line, Msg: "syntax error: " + m[2]}
		var hint string
		e.Line, e.Col, hint = locateSyntax(data, line, m[2])
		if hint != "" {
			e.Msg += " (" + hint + ")"
		}
		return e
	}
	if m := yamlAnchorErr.FindStringSubmatch(msg); m != nil {
		e := &Error{File: name, Msg: fmt.Sprintf("syntax error: alias *%s refers to no anchor &%s defined before it", m[1], m[1])}
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			e.Line = bytes.Count(data[:i], []byte("\n")) + 1
			e.Col = i - bytes.LastIndexByte(data[:i], '\n')
		}
		return e
	}
	if strings.Contains(msg, "UTF-8") {
		if i := firstInvalidUTF8(data); i >= 0 {
			line := bytes.Count(data[:i], []byte("\n")) + 1
			start := bytes.LastIndexByte(data[:i], '\n') + 1
			return &Error{File: name, Line: line, Col: utf8.RuneCount(data[start:i]) + 1,
				Msg: fmt.Sprintf("syntax error: invalid UTF-8 (byte 0x%02x at offset %d); save the file as UTF-8", data[i], i)}
		}
	}
	e := &Error{File: name, Msg: "syntax error: " + strings.TrimPrefix(msg, "yaml: ")}
	var hint string
	if e.Line, e.Col, hint = locateSyntax(data, 0, strings.TrimPrefix(msg, "yaml: ")); hint != "" {
		e.Msg += " (" + hint + ")"
	}
	return e
}

// firstInvalidUTF8 is the offset of the first byte of data that is not
// part of valid UTF-8, or -1. A UTF-16 file (which YAML allows, with a byte
// order mark) is not checked.
func firstInvalidUTF8(data []byte) int {
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return -1
	}
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// Parse decodes, validates and resolves a scenario held in data; name is
// used in errors and to resolve relative file names (against its
// directory).
func Parse(name string, data []byte, opts LoadOptions) (s *Scenario, err error) {
	defer func() {
		if r := recover(); r != nil {
			// A bug here must not take the caller down with it.
			s, err = nil, &Error{File: name, Msg: fmt.Sprintf("internal error while loading: %v", r)}
		}
	}()
	if len(data) > MaxFileBytes {
		return nil, &Error{File: name, Msg: fmt.Sprintf("file larger than %d bytes", MaxFileBytes)}
	}
	root, err := parseYAML(name, data)
	if err != nil {
		return nil, err
	}
	c := newCollector(name)
	for _, set := range opts.Sets {
		if err := applySet(root, set, c.setOf); err != nil {
			c.list = append(c.list, &Error{File: name, Set: set, Msg: err.Error()})
		}
	}
	if len(c.list) > 0 {
		return nil, c.err()
	}
	s = newScenario()
	d := newDecoder(c)
	if root.Kind != yaml.MappingNode {
		d.typeErr(root, "", "a mapping of scenario fields (name, horizon, sites, workloads, ...)")
		return nil, c.err()
	}
	c.pos[""] = root
	d.decodeStruct(root, reflect.ValueOf(s).Elem(), "")
	if d.over {
		return nil, c.err()
	}
	c.validating = true
	s.File = name
	s.Dir = filepath.Dir(name)
	s.Sets = append([]string(nil), opts.Sets...)
	h := sha256.New()
	h.Write(data)
	for _, set := range opts.Sets {
		h.Write([]byte("\n--set "))
		h.Write([]byte(set))
	}
	s.SHA256 = hex.EncodeToString(h.Sum(nil))
	v := &validator{s: s, c: c, opts: opts, files: map[string][]byte{}, tables: map[string]tableResult{}}
	v.run()
	if err := c.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// newScenario returns a scenario holding every top-level default.
func newScenario() *Scenario {
	s := &Scenario{
		Seed:     1,
		Start:    time.Date(2025, 4, 7, 0, 0, 0, 0, time.FixedZone("+08:00", 8*3600)),
		Interval: Duration(15 * time.Minute),
		Cities:   nodes.ShandongCities(),
	}
	s.Network.setDefaults()
	s.Grid.setDefaults()
	s.PowerManagement.setDefaults()
	s.Scheduler.setDefaults()
	return s
}

// readData reads a referenced file once per load.
func (v *validator) readData(rel string) ([]byte, string, error) {
	full := rel
	if !filepath.IsAbs(rel) {
		full = filepath.Join(v.s.Dir, rel)
	}
	if b, ok := v.files[full]; ok {
		return b, full, nil
	}
	read := v.opts.ReadFile
	if read == nil {
		read = readFileCapped
	}
	b, err := read(full)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, full, err
	}
	v.files[full] = b
	return b, full, nil
}

func readFileCapped(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDataBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxDataBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxDataBytes)
	}
	return b, nil
}

// Path resolves a file name from the scenario against its directory.
func (s *Scenario) Path(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(s.Dir, name)
}
