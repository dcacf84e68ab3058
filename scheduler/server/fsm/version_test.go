package fsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/suanli/suanli/scheduler/server/api"
)

// TestCmdVersions: every command type this build decodes has the log
// version that introduced it, none above LogVersion, and CmdScheduler is
// the current version's.
func TestCmdVersions(t *testing.T) {
	top := 0
	for typ := CmdType(1); typ < IgnoreUnknownFlag; typ++ {
		b, _ := Encode(typ, struct{}{})
		_, _, err := Decode(b)
		known := !errors.Is(err, ErrUnknownCommand)
		if v := typ.Version(); (v > 0) != known || v > LogVersion {
			t.Errorf("%s: Version() = %d, decodes: %v (LogVersion %d)", typ, v, known, LogVersion)
		}
		top = max(top, typ.Version())
	}
	if top != LogVersion || CmdScheduler.Version() != LogVersion || CmdClusterID.Version() != 1 {
		t.Errorf("highest command version %d, scheduler %d, cluster_id %d; want LogVersion %d, %d, 1", top, CmdScheduler.Version(), CmdClusterID.Version(), LogVersion, LogVersion)
	}
	if (CmdScheduler|IgnoreUnknownFlag).Version() != LogVersion || (CmdScheduler|IgnoreUnknownFlag).String() != "scheduler" {
		t.Error("the ignore flag changes a known type's version or name")
	}
}

// TestUnknownCommandHalts: an entry of a type this build does not know
// (a newer server wrote it) is neither applied nor skipped: the FSM halts
// there, says so (error and log, naming the type and index), applies
// nothing after it, and refuses to be snapshotted or restored.
func TestUnknownCommandHalts(t *testing.T) {
	var logBuf bytes.Buffer
	h := setupWith(t, Config{Log: slog.New(slog.NewTextHandler(&logBuf, nil))})
	h.submit(spec("w1", 1000))
	before := h.f.Index()
	var snapBefore bytes.Buffer
	if err := h.f.Snapshot().Write(&snapBefore); err != nil {
		t.Fatal(err)
	}

	h.idx++
	at := h.idx
	res := h.f.Apply(at, []byte{42, '{', '}'})
	err, _ := res.(error)
	var he *HaltError
	if !errors.As(err, &he) || !errors.Is(err, ErrHalted) || he.Index != at || he.Type != 42 {
		t.Fatalf("unknown type: got %v, want a HaltError at index %d for type 42", res, at)
	}
	for _, want := range []string{"index " + itoa(at), "command type 42", "upgrade this server"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("halt error %q lacks %q", err, want)
		}
	}
	if !strings.Contains(logBuf.String(), "level=ERROR") || !strings.Contains(logBuf.String(), "type=42") || !strings.Contains(logBuf.String(), "index="+itoa(at)) {
		t.Errorf("log lacks the error naming the type and index: %s", logBuf.String())
	}
	select {
	case <-h.f.Halted():
	default:
		t.Fatal("Halted not closed")
	}
	if h.f.Index() != before {
		t.Errorf("index %d after the unknown entry, want %d (not applied)", h.f.Index(), before)
	}

	// Nothing after it is applied, alone or in a batch.
	h.idx++
	b, _ := Encode(CmdSubmit, &Submit{At: t0, Workloads: []api.WorkloadSpec{spec("w2", 1000)}})
	if res := h.f.Apply(h.idx, b); !errors.Is(res.(error), ErrHalted) {
		t.Errorf("entry after the halt: got %v, want ErrHalted", res)
	}
	for _, r := range h.f.ApplyBatch([]uint64{h.idx + 1}, [][]byte{b}) {
		if !errors.Is(r.(error), ErrHalted) {
			t.Errorf("batch after the halt: got %v, want ErrHalted", r)
		}
	}
	if _, ok := h.f.Get("w2"); ok || h.f.Index() != before {
		t.Errorf("applied after halting: w2 present %v, index %d", ok, h.f.Index())
	}
	var now bytes.Buffer
	if err := h.f.Snapshot().Write(&now); err != nil || !bytes.Equal(now.Bytes(), snapBefore.Bytes()) {
		t.Errorf("state changed after halting (err %v)", err)
	}
	if err := h.f.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	// Raft gets no snapshot of it (it would record index at+2 for a state
	// at before), and a restore does not revive it.
	if _, err := (Raft{F: h.f}).Snapshot(); !errors.Is(err, ErrHalted) {
		t.Errorf("raft snapshot of a halted FSM: got %v, want ErrHalted", err)
	}
	if err := h.f.Restore(bytes.NewReader(snapBefore.Bytes())); !errors.Is(err, ErrHalted) {
		t.Errorf("restore into a halted FSM: got %v, want ErrHalted", err)
	}
}

// TestUnknownCommandBatchHaltsInPlace: in a batch, the entries before the
// unknown one are applied, it and those after are not.
func TestUnknownCommandBatchHaltsInPlace(t *testing.T) {
	h := setup(t)
	sub := func(id string) []byte {
		b, _ := Encode(CmdSubmit, &Submit{At: t0, Workloads: []api.WorkloadSpec{spec(id, 1000)}})
		return b
	}
	i := h.idx
	out := (Raft{F: h.f}).ApplyBatch([]*raft.Log{
		{Index: i + 1, Type: raft.LogCommand, Data: sub("a")},
		{Index: i + 2, Type: raft.LogCommand, Data: []byte{77, '{', '}'}},
		{Index: i + 3, Type: raft.LogCommand, Data: sub("b")},
	})
	if _, ok := out[0].(*SubmitResult); !ok {
		t.Errorf("entry before: %v", out[0])
	}
	for _, r := range out[1:] {
		if err, _ := r.(error); !errors.Is(err, ErrHalted) {
			t.Errorf("got %v, want ErrHalted", r)
		}
	}
	_, a := h.f.Get("a")
	_, b := h.f.Get("b")
	if !a || b || h.f.Index() != i+1 {
		t.Errorf("a %v b %v index %d; want a applied, b not, index %d", a, b, h.f.Index(), i+1)
	}
}

// TestIgnorableUnknownCommand: an unknown type marked IgnoreUnknownFlag is
// skipped (with a warning) and the FSM goes on; a known type with the
// flag is applied as usual.
func TestIgnorableUnknownCommand(t *testing.T) {
	var logBuf bytes.Buffer
	h := setupWith(t, Config{Log: slog.New(slog.NewTextHandler(&logBuf, nil))})
	h.idx++
	if res := h.f.Apply(h.idx, []byte{byte(IgnoreUnknownFlag) | 42, '{', '}'}); res != nil {
		t.Fatalf("ignorable unknown type: got %v, want nil", res)
	}
	if h.f.HaltErr() != nil || h.f.Index() != h.idx {
		t.Fatalf("halted %v, index %d (want %d)", h.f.HaltErr(), h.f.Index(), h.idx)
	}
	if !strings.Contains(logBuf.String(), "level=WARN") || !strings.Contains(logBuf.String(), "type=42") {
		t.Errorf("no warning naming the type: %s", logBuf.String())
	}
	b, _ := Encode(CmdSubmit, &Submit{At: t0, Workloads: []api.WorkloadSpec{spec("w1", 1000)}})
	b[0] |= byte(IgnoreUnknownFlag)
	h.idx++
	if _, ok := h.f.Apply(h.idx, b).(*SubmitResult); !ok || h.status("w1") != api.StatusPending {
		t.Fatalf("known type with the flag not applied: %s", h.status("w1"))
	}
}

// TestSnapshotLogVersion: a snapshot of a state that needs only log
// version 1 is written as version 1 servers read it (no log_version, no
// directory versions); once a version-2 command set state it records
// log_version 2 (and keeps the directory's versions); both restore.
func TestSnapshotLogVersion(t *testing.T) {
	h := setup(t)
	h.must(CmdServer, &ServerCmd{Server: api.Server{ID: "s1", RaftAddr: "127.0.0.1:1", HTTPAddr: "127.0.0.1:2", LogVersion: 2, Version: "v9.9.9"}})
	// A directory update without versions keeps them.
	h.must(CmdServer, &ServerCmd{Server: api.Server{ID: "s1", RaftAddr: "127.0.0.1:1", HTTPAddr: "127.0.0.1:3"}})
	if sv, _ := h.f.Server("s1"); sv.LogVersion != 2 || sv.Version != "v9.9.9" || sv.HTTPAddr != "127.0.0.1:3" {
		t.Fatalf("directory entry %+v, want the new address with the recorded versions", sv)
	}
	var v1 bytes.Buffer
	if err := h.f.Snapshot().Write(&v1); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{`"log_version"`, `"version":"v9.9.9"`, `"scheduler"`} {
		if strings.Contains(v1.String(), absent) {
			t.Errorf("a snapshot that needs log version 1 has %s: %.400s", absent, v1.String())
		}
	}
	// A server of log version 1 refused unknown members: this one has none
	// of them (decoded strictly with the members that version knew).
	if !strings.HasPrefix(v1.String(), `{"version":1,"index":`) {
		t.Errorf("v1 snapshot starts %.40q", v1.String())
	}
	var asV1 struct {
		snapV1Head
		Servers   []json1Server     `json:"servers"`
		Workloads []json.RawMessage `json:"workloads"`
		Terminal  []string          `json:"terminal"`
	}
	dec := json.NewDecoder(bytes.NewReader(v1.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&asV1); err != nil {
		t.Errorf("log version 1 would refuse it: %v", err)
	}
	g := New(Config{})
	if err := g.Restore(bytes.NewReader(v1.Bytes())); err != nil {
		t.Fatalf("restore the log-version-1 snapshot: %v", err)
	}

	h.must(CmdScheduler, &SetScheduler{Config: DefaultSchedulerConfig("balanced", false)})
	var v2 bytes.Buffer
	if err := h.f.Snapshot().Write(&v2); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v2.String(), `{"version":1,"log_version":2,"index":`) || !strings.Contains(v2.String(), `"log_version":2,"version":"v9.9.9"`) {
		t.Errorf("a snapshot with the scheduler configuration: %.600s", v2.String())
	}
	g = New(Config{})
	if err := g.Restore(bytes.NewReader(v2.Bytes())); err != nil {
		t.Fatalf("restore the log-version-2 snapshot: %v", err)
	}
	if ok, diff := Equal(h.f, g); !ok {
		t.Fatal(diff)
	}
	if sv, _ := g.Server("s1"); sv.LogVersion != 2 || sv.Version != "v9.9.9" {
		t.Errorf("restored directory entry %+v lost its versions", sv)
	}
}

// snapV1Head is the snapshot head as log version 1 decoded it (without
// servers).
type snapV1Head struct {
	Version   int               `json:"version"`
	Index     uint64            `json:"index"`
	Seq       uint64            `json:"seq"`
	ReadySeq  uint64            `json:"ready_seq"`
	ParkSeq   uint64            `json:"park_seq"`
	CapEpoch  uint64            `json:"cap_epoch"`
	ClusterID string            `json:"cluster_id,omitempty"`
	Sites     []json.RawMessage `json:"sites"`
	Nodes     []json.RawMessage `json:"nodes"`
	Agents    []json.RawMessage `json:"agents"`
}

// json1Server is a directory entry as log version 1 decoded it.
type json1Server struct {
	ID         string `json:"id"`
	RaftAddr   string `json:"raft_addr"`
	HTTPAddr   string `json:"http_addr"`
	GossipAddr string `json:"gossip_addr,omitempty"`
}

// TestSnapshotOfNewerLogVersionRefused: a snapshot whose log_version is
// above this server's is refused as such (not as the unknown member it
// also has), the FSM is left as it was, and halts; a snapshot of a known
// version with an unknown member is still refused as corrupt.
func TestSnapshotOfNewerLogVersionRefused(t *testing.T) {
	h := setup(t)
	h.must(CmdScheduler, &SetScheduler{Config: DefaultSchedulerConfig("balanced", false)})
	var buf bytes.Buffer
	if err := h.f.Snapshot().Write(&buf); err != nil {
		t.Fatal(err)
	}
	cur := `"log_version":` + itoa(LogVersion) + `,`
	newer := strings.Replace(buf.String(), cur, `"log_version":`+itoa(LogVersion+1)+`,`, 1)
	newer = strings.Replace(newer, `"workloads":[`, `"quotas":{"x":1},"workloads":[`, 1)
	if newer == buf.String() || !strings.Contains(newer, "quotas") {
		t.Fatalf("could not make a newer snapshot from %.200s", buf.String())
	}

	g := setup(t)
	before := g.f.Index()
	err := g.f.Restore(strings.NewReader(newer))
	var sv *SnapshotVersionError
	if !errors.As(err, &sv) || sv.LogVersion != LogVersion+1 || sv.Index != h.idx || !errors.Is(err, ErrHalted) {
		t.Fatalf("newer snapshot: got %v, want a SnapshotVersionError (log version %d, index %d) halting the FSM", err, LogVersion+1, h.idx)
	}
	for _, want := range []string{"needs log version " + itoa(LogVersion+1), "supports log version " + itoa(LogVersion), "Upgrade this server"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "unknown field") {
		t.Errorf("refused as an unknown field: %v", err)
	}
	if g.f.Index() != before || g.f.HaltErr() == nil {
		t.Errorf("after the refusal: index %d (want %d), halted %v", g.f.Index(), before, g.f.HaltErr())
	}

	// The same member in a snapshot of this version: corrupt, refused as
	// before, without halting.
	bad := strings.Replace(buf.String(), `"workloads":[`, `"quotas":{"x":1},"workloads":[`, 1)
	k := New(Config{})
	if err := k.Restore(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "unknown field") || errors.Is(err, ErrHalted) {
		t.Errorf("unknown member at this version: got %v, want an unknown field error", err)
	}
}

// TestOlderSnapshotRestored: the snapshot of the release before log
// versions (no log_version, no scheduler, directory without versions)
// restores, and its servers have no versions.
func TestOlderSnapshotRestored(t *testing.T) {
	old := `{"version":1,"index":7,"seq":0,"ready_seq":0,"park_seq":0,"cap_epoch":0,"cluster_id":"c1","sites":[],"nodes":[],"agents":null,` +
		`"servers":[{"id":"s1","raft_addr":"127.0.0.1:1","http_addr":"127.0.0.1:2","gossip_addr":"127.0.0.1:3"}],"workloads":[],"terminal":null}`
	g := New(Config{})
	if err := g.Restore(strings.NewReader(old)); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if sv, ok := g.Server("s1"); !ok || sv.LogVersion != 0 || sv.Version != "" || g.Index() != 7 {
		t.Errorf("restored %+v %v at %d", sv, ok, g.Index())
	}
	if _, ok := g.Scheduler(); ok {
		t.Error("restored with a scheduler configuration")
	}
	// Written again it is byte for byte the same format.
	var buf bytes.Buffer
	if err := g.Snapshot().Write(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(buf.String()) != old {
		t.Errorf("rewritten:\n%s\nwant\n%s", buf.String(), old)
	}
}
