package scenarios

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/scheduler/external"
)

// TestExternalPolicies loads the external_policies block: names in file
// order, the default timeout, options as the JSON object the child gets,
// the child's working directory, and policies naming them.
func TestExternalPolicies(t *testing.T) {
	if time.Duration(DefaultExternalTimeout) != external.DefaultTimeout {
		t.Fatalf("DefaultExternalTimeout %v, external.DefaultTimeout %v", DefaultExternalTimeout, external.DefaultTimeout)
	}
	f := filepath.Join("testdata", "valid", "external.yaml")
	s, err := Load(f, LoadOptions{KnownPolicies: testPolicies})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range s.ExternalPolicies {
		names = append(names, e.Name)
	}
	if want := []string{"green", "v1.2", "unused"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	if want := []string{"greenest", "external:green", "external:v1.2"}; !reflect.DeepEqual(s.Policies, want) {
		t.Errorf("policies %v, want %v", s.Policies, want)
	}
	green, _ := s.ExternalPolicies.Lookup("green")
	spec := green.Spec(s.Dir)
	if spec.Dir != filepath.Join("testdata", "valid") || spec.Timeout != 20*time.Second ||
		!reflect.DeepEqual(spec.Command, []string{"python3", "../../../examples/policies/greedy_green.py"}) {
		t.Errorf("green: %+v", spec)
	}
	b, err := json.Marshal(spec.Options)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"big":12345678901,"label":"0.5","nested":{"deep":[1,2.5,true,null]},"sites":["jn-core","qd-core"],"threshold":0.2,"when":"2025-04-07"}`
	if string(b) != want {
		t.Errorf("options %s, want %s", b, want)
	}
	v12, _ := s.ExternalPolicies.Lookup("v1.2")
	if sp := v12.Spec(s.Dir); sp.Timeout != external.DefaultTimeout || sp.Options != nil || len(sp.Command) != 3 || sp.Command[2] != "two words" {
		t.Errorf("v1.2: %+v", sp)
	}
	if sp := v12.Spec(""); sp.Dir != "." {
		t.Errorf("a scenario in the current directory: dir %q, want .", sp.Dir)
	}

	// show prints the block, and it loads back to the same.
	y, err := s.EncodeYAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"external_policies:\n",
		"  green:\n    command: [python3, ../../../examples/policies/greedy_green.py]\n",
		"    timeout: 20s\n",
		"  v1.2:\n    command: [./bin/policy, --flag, two words]\n    timeout: 10s\n",
	} {
		if !strings.Contains(string(y), line) {
			t.Errorf("resolved form lacks %q:\n%s", line, y)
		}
	}
	s2, err := Parse(f, y, LoadOptions{KnownPolicies: testPolicies})
	if err != nil {
		t.Fatalf("resolved form does not load: %v\n%s", err, y)
	}
	if !reflect.DeepEqual(s.ExternalPolicies, s2.ExternalPolicies) {
		t.Errorf("external policies differ after the round trip:\n%+v\n%+v", s.ExternalPolicies, s2.ExternalPolicies)
	}

	// --set reaches the block.
	s3, err := Load(f, LoadOptions{KnownPolicies: testPolicies, Sets: []string{"external_policies.green.timeout=1m", "external_policies.green.options={a: [1]}"}})
	if err != nil {
		t.Fatal(err)
	}
	g3, _ := s3.ExternalPolicies.Lookup("green")
	if g3.Timeout.D() != time.Minute || !reflect.DeepEqual(map[string]any(g3.Options), map[string]any{"a": []any{int64(1)}}) {
		t.Errorf("after --set: %+v", g3)
	}
	_, err = Load(f, LoadOptions{KnownPolicies: testPolicies, Sets: []string{"external_policies.green.command=[]"}})
	if err == nil || !strings.Contains(err.Error(), `--set "external_policies.green.command=[]": external_policies.green.command: must list the program`) {
		t.Errorf("empty command through --set: %v", err)
	}
}

// TestExternalPolicyNamesWithoutKnownPolicies: a file's external:NAME is
// checked against its external_policies even when the caller passes no
// policy registry.
func TestExternalPolicyNamesWithoutKnownPolicies(t *testing.T) {
	f := filepath.Join("testdata", "valid", "external.yaml")
	_, err := Load(f, LoadOptions{Sets: []string{"policies=[external:nope]"}})
	if err == nil || !strings.Contains(err.Error(), `policies[0]: unknown policy "external:nope": no external policy "nope" is defined in external_policies (allowed: external:green, external:v1.2, external:unused)`) {
		t.Errorf("got %v", err)
	}
}
