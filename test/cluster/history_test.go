package cluster

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

func op(client int, kind, id string, call, ret int64, outcome string, c, m uint64) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: Input{Op: kind, ID: id}, Call: call, Return: ret,
		Output: Output{Outcome: outcome, CreateIndex: c, ModifyIndex: m}}
}

func TestModel(t *testing.T) {
	tests := []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"create then read", []porcupine.Operation{
			op(0, OpSubmit, "w", 0, 10, Created, 5, 5),
			op(1, OpRead, "w", 11, 12, Found, 5, 7),
		}, porcupine.Ok},
		{"read concurrent with create may miss it", []porcupine.Operation{
			op(0, OpSubmit, "w", 0, 10, Created, 5, 5),
			op(1, OpRead, "w", 1, 2, Absent, 0, 0),
		}, porcupine.Ok},
		{"lost acknowledged write", []porcupine.Operation{
			op(0, OpSubmit, "w", 0, 10, Created, 5, 5),
			op(1, OpRead, "w", 11, 12, Absent, 0, 0),
		}, porcupine.Illegal},
		{"created twice", []porcupine.Operation{
			op(0, OpSubmit, "w", 0, 10, Created, 5, 5),
			op(0, OpSubmit, "w", 11, 20, Created, 9, 9),
		}, porcupine.Illegal},
		{"recreated with another create index", []porcupine.Operation{
			op(0, OpSubmit, "w", 0, 10, Created, 5, 5),
			op(1, OpRead, "w", 11, 12, Found, 9, 9),
		}, porcupine.Illegal},
		{"modify index goes backwards (stale read)", []porcupine.Operation{
			op(0, OpSubmit, "w", 0, 10, Created, 5, 5),
			op(1, OpRead, "w", 11, 12, Found, 5, 8),
			op(2, OpRead, "w", 13, 14, Found, 5, 6),
		}, porcupine.Illegal},
		{"failed write that was applied", []porcupine.Operation{
			op(0, OpSubmit, "w", 0, 10, Failed, 0, 0),
			op(0, OpSubmit, "w", 11, 20, Exists, 5, 5),
		}, porcupine.Illegal},
		{"unknown write applied", []porcupine.Operation{
			op(0, OpSubmit, "w", 0, 100, Unknown, 0, 0),
			op(1, OpSubmit, "w", 11, 20, Exists, 5, 5),
			op(2, OpRead, "w", 21, 22, Found, 5, 6),
		}, porcupine.Ok},
		{"unknown write not applied", []porcupine.Operation{
			op(0, OpSubmit, "w", 0, 100, Unknown, 0, 0),
			op(1, OpRead, "w", 11, 12, Absent, 0, 0),
			op(1, OpSubmit, "w", 13, 20, Created, 5, 5),
		}, porcupine.Ok},
		{"exists before anything was submitted", []porcupine.Operation{
			op(0, OpSubmit, "w", 0, 10, Exists, 5, 5),
		}, porcupine.Illegal},
		{"keys are independent", []porcupine.Operation{
			op(0, OpSubmit, "a", 0, 10, Created, 5, 5),
			op(1, OpRead, "b", 11, 12, Absent, 0, 0),
			op(1, OpRead, "a", 13, 14, Found, 5, 5),
		}, porcupine.Ok},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := Check(tc.ops, 5*time.Second)
			if got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHistoryUnknownEndsLast(t *testing.T) {
	h := NewHistory()
	c := h.NewClient()
	h.Add(c, Input{OpSubmit, "a"}, 10, Output{Outcome: Unknown}, 20)
	h.Add(h.NewClient(), Input{OpSubmit, "b"}, 30, Output{Outcome: Created, CreateIndex: 1}, 40)
	ops := h.Operations()
	if ops[0].Return != 41 {
		t.Errorf("unknown op return: got %d, want 41 (after everything)", ops[0].Return)
	}
	if h.Counts()["submit:unknown"] != 1 {
		t.Errorf("counts: got %v", h.Counts())
	}
}
