package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TimeExample is the example of an accepted time in error messages.
const TimeExample = `"2026-03-01T18:00:00+08:00" or "2026-03-01T10:00:00Z"`

// DecodeStrict decodes one JSON document from body into v (a pointer to a
// request type), refusing unknown fields and trailing data. A problem
// with a value names it by its path in Field — "deadline",
// "request.cpu_milli", "[3].origin", "events[0].at" — and says what the
// field accepts (a number, an integer, an RFC 3339 time, ...); a problem
// with the document as a whole (empty, malformed, trailing data, the
// wrong JSON type at the top) names "body".
func DecodeStrict(body []byte, v any) *Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return Invalid("body", "empty body: a JSON document is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// Find the first offending value with its path (encoding/json
		// leaves out array indexes, and names no field at all when a
		// time does not parse).
		if t := reflect.TypeOf(v); t != nil && t.Kind() == reflect.Pointer {
			if e := locate(body, t.Elem()); e != nil {
				return e
			}
		}
		return decodeError(err)
	}
	if dec.More() {
		return Invalid("body", "trailing data after the JSON document")
	}
	return nil
}

// decodeError is the error for a failure locate did not explain
// (malformed JSON, mostly).
func decodeError(err error) *Error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return Invalid("body", "malformed JSON at byte %d: %v", se.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Invalid("body", "truncated JSON body")
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return Invalid(field, "%s: got a JSON %s, want %s", field, te.Value, jsonKind(te.Type, ""))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Invalid(f, "unknown field %q", f)
	}
	return Invalid("body", "bad JSON body: %v", err)
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	durationType  = reflect.TypeFor[time.Duration]()
	unmarshalerT  = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshal = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// locate walks the JSON document alongside the Go type it decodes into
// and returns the first value the type cannot take, or nil (also for
// malformed JSON, which decodeError explains).
func locate(body []byte, t reflect.Type) *Error {
	var raw json.RawMessage
	if json.NewDecoder(bytes.NewReader(body)).Decode(&raw) != nil {
		return nil // malformed: the body is at fault
	}
	w := walker{dec: json.NewDecoder(bytes.NewReader(raw))}
	w.dec.UseNumber()
	e, _ := w.value(t, "", "")
	return e
}

type walker struct{ dec *json.Decoder }

// value reads one value of type t at path (name is the field's JSON
// name, for unit hints). A non-nil error is malformed JSON.
func (w *walker) value(t reflect.Type, path, name string) (*Error, error) {
	tok, err := w.dec.Token()
	if err != nil {
		return nil, err
	}
	return w.valueTok(tok, t, path, name)
}

func (w *walker) valueTok(tok json.Token, t reflect.Type, path, name string) (*Error, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if tok == nil { // null leaves the value as it is
		return nil, nil
	}
	field := path
	if field == "" {
		field = "body"
	}
	switch {
	case t == timeType:
		s, ok := tok.(string)
		if !ok {
			e := Invalid(field, "%s: got a JSON %s, want an RFC 3339 time string such as %s", field, tokKind(tok), TimeExample)
			return e, w.skip(tok)
		}
		return checkTime(field, s), nil
	case t == durationType:
		if _, ok := tok.(json.Number); !ok {
			e := Invalid(field, "%s: got a JSON %s, want an integer number of nanoseconds", field, tokKind(tok))
			return e, w.skip(tok)
		}
	case reflect.PointerTo(t).Implements(unmarshalerT):
		return nil, w.skip(tok) // its own format: not checked here
	case reflect.PointerTo(t).Implements(textUnmarshal):
		s, ok := tok.(string)
		if !ok {
			return Invalid(field, "%s: got a JSON %s, want a string", field, tokKind(tok)), w.skip(tok)
		}
		if err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return Invalid(field, "%s: %v", field, err), nil
		}
		return nil, nil
	}
	switch tok := tok.(type) {
	case json.Delim:
		switch {
		case tok == '{' && t.Kind() == reflect.Struct:
			return w.object(t, path)
		case tok == '{' && t.Kind() == reflect.Map:
			return w.mapValue(t, path)
		case tok == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
			return w.array(t, path)
		case t.Kind() == reflect.Interface:
			return nil, w.skip(tok)
		}
	case string:
		if t.Kind() == reflect.String || t.Kind() == reflect.Interface {
			return nil, nil
		}
	case bool:
		if t.Kind() == reflect.Bool || t.Kind() == reflect.Interface {
			return nil, nil
		}
	case json.Number:
		return checkNumber(field, name, string(tok), t), nil
	}
	return Invalid(field, "%s: got a JSON %s, want %s", field, tokKind(tok), jsonKind(t, name)), w.skip(tok)
}

// object reads the members of an object decoding into struct t.
func (w *walker) object(t reflect.Type, path string) (*Error, error) {
	fields := jsonFields(t)
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		f, ok := fields.byName[key]
		if !ok {
			for name, ff := range fields.byName {
				if strings.EqualFold(name, key) {
					f, ok = ff, true
					break
				}
			}
		}
		if !ok {
			if len(fields.names) == 0 {
				return Invalid(join(path, key), "unknown field %q", key), nil
			}
			return Invalid(join(path, key), "unknown field %q (%s takes: %s)", key, objectName(path), strings.Join(fields.names, ", ")), nil
		}
		if e, err := w.value(f.typ, join(path, f.name), f.name); e != nil || err != nil {
			return e, err
		}
	}
	_, err := w.dec.Token() // '}'
	return nil, err
}

func (w *walker) mapValue(t reflect.Type, path string) (*Error, error) {
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if e, err := w.value(t.Elem(), join(path, key), key); e != nil || err != nil {
			return e, err
		}
	}
	_, err := w.dec.Token()
	return nil, err
}

func (w *walker) array(t reflect.Type, path string) (*Error, error) {
	for i := 0; w.dec.More(); i++ {
		if e, err := w.value(t.Elem(), fmt.Sprintf("%s[%d]", path, i), ""); e != nil || err != nil {
			return e, err
		}
	}
	_, err := w.dec.Token() // ']'
	return nil, err
}

// skip reads the rest of a value whose first token was tok.
func (w *walker) skip(tok json.Token) error {
	d, ok := tok.(json.Delim)
	if !ok || d == '}' || d == ']' {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// checkTime accepts what time.Time's UnmarshalJSON accepts: RFC 3339.
func checkTime(field, s string) *Error {
	q, _ := json.Marshal(s)
	var tm time.Time
	if tm.UnmarshalJSON(q) == nil {
		return nil
	}
	hint := ""
	if _, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		hint = " (it has no time zone: end it with Z or an offset such as +08:00)"
	} else if _, err := time.Parse("2006-01-02 15:04:05Z07:00", s); err == nil {
		hint = " (put a T between the date and the time)"
	} else if _, err := time.Parse("2006-01-02", s); err == nil {
		hint = " (a date alone is not enough: give the time and zone too)"
	}
	return Invalid(field, "%s %q is not an RFC 3339 time%s: want e.g. %s", field, s, hint, TimeExample)
}

// checkNumber checks that the JSON number s fits t.
func checkNumber(field, name, s string, t reflect.Type) *Error {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if _, err := strconv.ParseInt(s, 10, t.Bits()); err != nil {
			return numberError(field, name, s, t, err)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, err := strconv.ParseUint(s, 10, t.Bits()); err != nil {
			return numberError(field, name, s, t, err)
		}
	case reflect.Float32, reflect.Float64:
		if _, err := strconv.ParseFloat(s, t.Bits()); err != nil {
			return Invalid(field, "%s: %s is out of range for %s", field, s, jsonKind(t, name))
		}
	case reflect.Interface:
	default:
		return Invalid(field, "%s: got a JSON number, want %s", field, jsonKind(t, name))
	}
	return nil
}

func numberError(field, name, s string, t reflect.Type, err error) *Error {
	want := jsonKind(t, name)
	f, ferr := strconv.ParseFloat(s, 64)
	switch {
	case errors.Is(err, strconv.ErrRange), ferr != nil:
		return Invalid(field, "%s: %s is out of range for %s", field, s, want)
	case f < 0 && t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		return Invalid(field, "%s: %s is negative, want %s", field, s, want)
	case f != math.Trunc(f):
		return Invalid(field, "%s: %s is not an integer, want %s", field, s, want)
	case math.Abs(f) >= math.Ldexp(1, t.Bits()-1):
		return Invalid(field, "%s: %s is out of range for %s", field, s, want)
	}
	return Invalid(field, "%s: write %s as a whole number without a fraction or an exponent, want %s", field, s, want)
}

// tokKind names a JSON token's type.
func tokKind(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '[' {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

// jsonKind names what JSON a Go type decodes from ("an object", not
// "struct { … }"), with the unit the field's name gives (cpu_milli:
// millicores, duration_ms: milliseconds).
func jsonKind(t reflect.Type, name string) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	unit := ""
	switch {
	case strings.HasSuffix(name, "_ms"):
		unit = " (milliseconds)"
	case name == "cpu_milli":
		unit = " (millicores: 1000 = one core)"
	case name == "gpu_milli":
		unit = " (thousandths of a GPU: 1000 = one GPU)"
	case strings.HasSuffix(name, "_milli"):
		unit = " (thousandths)"
	case strings.HasSuffix(name, "_mib"):
		unit = " (MiB)"
	case strings.HasSuffix(name, "_mb"):
		unit = " (megabytes)"
	}
	switch {
	case t == timeType:
		return "an RFC 3339 time string such as " + TimeExample
	case t == durationType:
		return "an integer number of nanoseconds"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer" + unit
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer" + unit
	case reflect.Float32, reflect.Float64:
		return "a number" + unit
	}
	return t.String()
}

func objectName(path string) string {
	if path == "" {
		return "the body"
	}
	return path
}

// fieldSet is a struct's JSON fields, as encoding/json decodes them.
type fieldSet struct {
	byName map[string]jsonField
	names  []string
}

type jsonField struct {
	name string
	typ  reflect.Type
}

var fieldCache sync.Map // reflect.Type -> fieldSet

func jsonFields(t reflect.Type) fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(fieldSet)
	}
	fs := fieldSet{byName: map[string]jsonField{}}
	depth := map[string]int{}
	tagged := map[int]bool{} // embedded fields with a JSON name: not promoted
	for _, f := range reflect.VisibleFields(t) {
		if len(f.Index) > 1 && tagged[f.Index[0]] {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if name == "" && ft.Kind() == reflect.Struct {
				continue // its fields are promoted (listed on their own)
			}
			if name != "" {
				tagged[f.Index[0]] = true
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if d, dup := depth[name]; dup && d <= len(f.Index) {
			continue // the shallower one wins
		} else if !dup {
			fs.names = append(fs.names, name)
		}
		depth[name] = len(f.Index)
		fs.byName[name] = jsonField{name: name, typ: f.Type}
	}
	sort.Strings(fs.names)
	fieldCache.Store(t, fs)
	return fs
}
