package fsm

import (
	"bytes"
	"testing"
)

// TestClusterID: the first cluster ID committed stays (a later, different
// one changes nothing), and snapshots keep it.
func TestClusterID(t *testing.T) {
	h := setup(t)
	if id := h.f.ClusterID(); id != "" {
		t.Fatalf("new FSM has cluster ID %q", id)
	}
	if r := h.must(CmdClusterID, &ClusterID{ID: "aaaa"}).(*ClusterIDResult); r.ID != "aaaa" {
		t.Fatalf("result %q, want aaaa", r.ID)
	}
	if r := h.must(CmdClusterID, &ClusterID{ID: "bbbb"}).(*ClusterIDResult); r.ID != "aaaa" {
		t.Fatalf("second ID: result %q, want the first (aaaa)", r.ID)
	}
	if _, ok := h.apply(CmdClusterID, &ClusterID{}).(error); !ok {
		t.Fatal("an empty cluster ID was accepted")
	}
	if id := h.f.ClusterID(); id != "aaaa" {
		t.Fatalf("cluster ID %q, want aaaa", id)
	}
	var buf bytes.Buffer
	if err := h.f.Snapshot().Write(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"cluster_id":"aaaa"`)) {
		t.Fatalf("snapshot lacks the cluster ID: %.300s", buf.String())
	}
	g := New(Config{})
	if err := g.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if id := g.ClusterID(); id != "aaaa" {
		t.Fatalf("restored cluster ID %q, want aaaa", id)
	}
	if ok, diff := Equal(h.f, g); !ok {
		t.Fatal(diff)
	}
	// A snapshot without one (before cluster IDs) restores with none.
	empty := New(Config{})
	buf.Reset()
	if err := empty.Snapshot().Write(&buf); err != nil {
		t.Fatal(err)
	}
	if err := g.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if id := g.ClusterID(); id != "" {
		t.Fatalf("restored cluster ID %q, want none", id)
	}
}
