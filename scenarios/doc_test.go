package scenarios

import (
	"os"
	"strings"
	"testing"
)

// TestDocExample loads the complete example of docs/scenario-format.md.
func TestDocExample(t *testing.T) {
	raw, err := os.ReadFile("../docs/scenario-format.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "## A complete example")
	if !ok {
		t.Fatal("docs/scenario-format.md has no complete example")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	example, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("unterminated example")
	}
	s, err := Parse("../docs/example.yaml", []byte(example), LoadOptions{KnownPolicies: testPolicies})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Sites) != 4 || s.Sites[3].ID != "x-wf" || s.Sites[0].PUE.RatedITKW != 230 {
		t.Errorf("example sites: %d sites, last %s, jn-core rated %g kW", len(s.Sites), s.Sites[len(s.Sites)-1].ID, s.Sites[0].PUE.RatedITKW)
	}
	c := loadSchema(t)
	if errs := checkYAML(t, c, "example", []byte(example)); len(errs) > 0 {
		t.Errorf("the schema rejects the example: %v", errs)
	}
}
