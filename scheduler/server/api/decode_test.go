package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// requestTypes are the request bodies of the API (docs/api.md).
var requestTypes = map[string]any{
	"WorkloadSpec":    &WorkloadSpec{},
	"[]WorkloadSpec":  &[]WorkloadSpec{},
	"PlanRequest":     &PlanRequest{},
	"RegisterRequest": &RegisterRequest{},
	"EventsRequest":   &EventsRequest{},
	"JoinRequest":     &JoinRequest{},
	"RemoveRequest":   &RemoveRequest{},
	"node state":      &struct{ State string }{},
}

// sample builds a JSON value of the right kind for every field of t
// (arrays of two), and records the path and Go type of every leaf.
func sample(t reflect.Type, path string, leaves map[string]reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		leaves[path] = t
		return "2026-03-01T08:00:00Z"
	}
	switch t.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		fs := jsonFields(t)
		for _, name := range fs.names {
			m[name] = sample(fs.byName[name].typ, join(path, name), leaves)
		}
		return m
	case reflect.Slice, reflect.Array:
		return []any{sample(t.Elem(), path+"[0]", leaves), sample(t.Elem(), path+"[1]", leaves)}
	case reflect.String:
		leaves[path] = t
		return "x"
	case reflect.Bool:
		leaves[path] = t
		return true
	default:
		leaves[path] = t
		return 1
	}
}

// set replaces the value at path (as sample spells it) in doc.
func set(doc any, path string, v any) any {
	if path == "" {
		return v
	}
	if path[0] == '[' {
		i, rest, _ := strings.Cut(path[1:], "]")
		var k int
		fmt.Sscan(i, &k)
		a := doc.([]any)
		a[k] = set(a[k], strings.TrimPrefix(rest, "."), v)
		return a
	}
	key, rest := path, ""
	if j := strings.IndexAny(path, ".["); j >= 0 {
		key, rest = path[:j], strings.TrimPrefix(path[j:], ".")
	}
	m := doc.(map[string]any)
	m[key] = set(m[key], rest, v)
	return m
}

// TestDecodeNamesEveryField: for every leaf field of every request type —
// the second element of every array, to check indexes — a value of the
// wrong JSON type, a time that is not RFC 3339, a fraction or an
// out-of-range number where an integer belongs, is refused naming that
// field's path and what it accepts.
func TestDecodeNamesEveryField(t *testing.T) {
	for name, v := range requestTypes {
		typ := reflect.TypeOf(v).Elem()
		leaves := map[string]reflect.Type{}
		valid, _ := json.Marshal(sample(typ, "", leaves))
		if e := DecodeStrict(valid, reflect.New(typ).Interface()); e != nil {
			t.Fatalf("%s: the sample %s does not decode: %v", name, valid, e)
		}
		for path, lt := range leaves {
			if strings.Contains(path, "[0]") {
				continue
			}
			type bad struct {
				value any
				want  string // in the message
			}
			var cases []bad
			switch {
			case lt == timeType:
				cases = []bad{{"tomorrow", "RFC 3339"}, {"2026-03-01T18:00:00", "no time zone"}, {"2026-03-01", "date alone"},
					{float64(1700000000), "RFC 3339 time string"}, {true, "RFC 3339 time string"}}
			case lt.Kind() == reflect.String:
				cases = []bad{{5, "want a string"}, {[]any{"x"}, "want a string"}}
			case lt.Kind() == reflect.Bool:
				cases = []bad{{"yes", "want true or false"}}
			case lt.Kind() >= reflect.Int && lt.Kind() <= reflect.Int64:
				cases = []bad{{"12", "want an integer"}, {json.Number("1.5"), "not an integer"}, {json.Number("1e300"), "out of range"}, {map[string]any{}, "want an integer"}}
			case lt.Kind() >= reflect.Uint && lt.Kind() <= reflect.Uint64:
				cases = []bad{{"12", "want a non-negative integer"}, {json.Number("1.5"), "not an integer"}, {json.Number("-1"), "negative"}, {json.Number("1e300"), "out of range"}}
			case lt.Kind() == reflect.Float64:
				cases = []bad{{"0.5", "want a number"}, {json.Number("1e999"), "out of range"}}
			default:
				t.Fatalf("%s: leaf %s of kind %v not covered by this test", name, path, lt)
			}
			for _, c := range cases {
				var doc any
				_ = json.Unmarshal(valid, &doc)
				body, _ := json.Marshal(set(doc, path, c.value))
				e := DecodeStrict(body, reflect.New(typ).Interface())
				field := path
				if field == "" {
					field = "body"
				}
				if e == nil || e.Code != CodeInvalid || e.Field != field || !strings.Contains(e.Message, c.want) {
					t.Errorf("%s with %s = %v: got %v, want invalid naming %q with %q", name, path, c.value, e, field, c.want)
				}
			}
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		v          any
		field, msg string
	}{
		{"deadline", `{"origin":"JN","request":{"cpu_milli":1},"deadline":"tomorrow"}`, &WorkloadSpec{}, "deadline",
			`deadline "tomorrow" is not an RFC 3339 time: want e.g. "2026-03-01T18:00:00+08:00" or "2026-03-01T10:00:00Z"`},
		{"deadline number", `{"deadline":1767225600,"origin":"JN"}`, &WorkloadSpec{}, "deadline",
			`deadline: got a JSON number, want an RFC 3339 time string such as "2026-03-01T18:00:00+08:00" or "2026-03-01T10:00:00Z"`},
		{"bulk index", `[{"origin":"JN","request":{"cpu_milli":1}},{"origin":"JN","request":{"cpu_milli":"2 cores"}}]`, &[]WorkloadSpec{}, "[1].request.cpu_milli",
			`[1].request.cpu_milli: got a JSON string, want an integer (millicores: 1000 = one core)`},
		{"event at", `{"events":[{"workload_id":"w","node_id":"n","kind":"started","at":"2026-03-01T08:00:00Z"},{"workload_id":"w","node_id":"n","kind":"started","at":"2026-03-01 08:00:00Z"}]}`,
			&EventsRequest{}, "events[1].at", `put a T between the date and the time`},
		{"duration string", `{"origin":"JN","request":{"cpu_milli":1},"duration_ms":"90s"}`, &WorkloadSpec{}, "duration_ms",
			`duration_ms: got a JSON string, want an integer (milliseconds)`},
		{"fraction", `{"workload":{"origin":"JN","request":{"cpu_milli":1}},"top_k":2.5}`, &PlanRequest{}, "top_k", `top_k: 2.5 is not an integer, want an integer`},
		{"unknown nested", `{"origin":"JN","request":{"cpu_milli":1,"tpu":1}}`, &WorkloadSpec{}, "request.tpu",
			`unknown field "tpu" (request takes: cpu_milli, gpu_milli, memory_mib)`},
		{"unknown in array", `{"agent_id":"a","nodes":[{"id":"n","site":"s","cpu":1}]}`, &RegisterRequest{}, "nodes[0].cpu", `unknown field "cpu"`},
		{"case-insensitive key is the field", `{"Origin":"JN","Deadline":"soon"}`, &WorkloadSpec{}, "deadline", `"soon" is not an RFC 3339 time`},
		{"null is nothing", `{"origin":"JN","deadline":null,"request":null,"bad":1}`, &WorkloadSpec{}, "bad", `unknown field "bad"`},
		{"array for object", `[{"origin":"JN"}]`, &WorkloadSpec{}, "body", `body: got a JSON array, want an object`},
		{"malformed", `{"origin":"JN","deadline":"x"`, &WorkloadSpec{}, "body", `truncated JSON body`},
		{"syntax", `{"origin":"JN",,}`, &WorkloadSpec{}, "body", `malformed JSON`},
		{"trailing", `{"origin":"JN"} {}`, &WorkloadSpec{}, "body", `trailing data`},
		{"empty", `  `, &WorkloadSpec{}, "body", `empty body`},
	} {
		e := DecodeStrict([]byte(tc.body), tc.v)
		if e == nil || e.Code != CodeInvalid || e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: got %v, want invalid naming %q with %q", tc.name, e, tc.field, tc.msg)
		}
	}
	var w WorkloadSpec
	if e := DecodeStrict([]byte(`{"origin":"JN","request":{"cpu_milli":1},"deadline":"2026-03-01T18:00:00+08:00"}`), &w); e != nil ||
		!w.Deadline.Equal(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("valid body: %v, deadline %v", e, w.Deadline)
	}
}
