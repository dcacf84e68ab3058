package fsm

// Why halt rather than skip or panic. hashicorp/raft gives an FSM no way
// to refuse an entry: Apply's return value goes to the client that
// submitted it (if it is this server), and Raft marks the entry applied
// either way. An FSM that skipped an entry it does not know would go on
// with a state the servers that applied it do not have — a silent
// divergence that later entries (placements re-checked against other
// capacity) would compound. Nomad and Consul panic instead (unless the
// entry carries their "ignore unknown type" flag), which stops the
// process and makes it crash again at the same entry after every restart
// until it is upgraded. The FSM here does the same without the panic:
// it halts — applies nothing from that entry on, refuses to be
// snapshotted (so no snapshot records a state as of an index it did not
// reach) and to restore — and the server, told through Halted, logs why
// and what to do, shuts its Raft node down (it takes no part in
// elections: a halted server must never lead) and fails (Server.Failed:
// `suanli server` exits with status 2). Its data directory is intact: the
// upgraded server replays the log from its last snapshot and goes on.

// Halted is closed when the FSM halts (HaltErr says why).
func (f *FSM) Halted() <-chan struct{} { return f.halted }

// HaltErr is why the FSM halted (a *HaltError, matching ErrHalted), or
// nil while it applies entries.
func (f *FSM) HaltErr() error {
	if h := f.halt.Load(); h != nil {
		return h
	}
	return nil
}

// haltAt halts the FSM at the entry index of unknown type typ (with f.mu
// held) and returns the error.
func (f *FSM) haltAt(index uint64, typ byte) *HaltError {
	h := &HaltError{Index: index, Type: typ}
	f.stop(h)
	f.cfg.Log.Error("a log entry has a command type this server does not know: stopped applying the log. "+
		"Upgrade this server to the version the other servers run (suanli cluster status, VERSION) and start it again",
		"index", index, "type", typ, "log_version", LogVersion, "applied_index", f.index)
	return h
}

// stop records h, the first halt only, and closes Halted.
func (f *FSM) stop(h *HaltError) {
	f.haltOnce.Do(func() {
		f.halt.Store(h)
		close(f.halted)
	})
}
