package server

import (
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
	"github.com/suanli/suanli/scheduler/server/gossip"
)

// Version is this build's version, as servers advertise it (gossip
// metadata, the server directory, GET /v1/cluster). Release builds set
// it: go build -ldflags "-X github.com/suanli/suanli/scheduler/server.Version=v1.4.0".
// Empty: BuildVersion derives one from the module's build information.
var Version = ""

// maxVersionLen bounds the advertised build version (gossip metadata has
// 512 bytes for everything).
const maxVersionLen = 48

// BuildVersion is the build version this server advertises: Version if
// set, else the main module's version, else its VCS revision (12 hex
// digits, "+dirty" with uncommitted changes), else "devel".
func BuildVersion() string {
	v := Version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok {
			rev, dirty := "", false
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					dirty = s.Value == "true"
				}
			}
			switch {
			case bi.Main.Version != "" && bi.Main.Version != "(devel)":
				v = bi.Main.Version
			case rev != "":
				v = rev[:min(12, len(rev))]
				if dirty {
					v += "+dirty"
				}
			}
		}
	}
	if len(v) > maxVersionLen {
		v = v[:maxVersionLen]
	}
	return v
}

// logVersion is the log version this server advertises: fsm.LogVersion,
// or (tests) Config.advertiseLogVersion.
func (s *Server) logVersion() int {
	if s.cfg.advertiseLogVersion > 0 {
		return s.cfg.advertiseLogVersion
	}
	return fsm.LogVersion
}

// serverMeta is this server's gossip metadata.
func (s *Server) serverMeta() gossip.Meta {
	return gossip.Meta{Role: gossip.RoleServer, ID: s.cfg.ID, HTTPAddr: s.addrs.HTTPAddr, RaftAddr: string(s.trans.LocalAddr()),
		LogVersion: s.logVersion(), Version: BuildVersion()}
}

// serverVersion is what one server is known to support.
type serverVersion struct {
	logVersion int    // 0: unknown
	version    string // build, "" if unknown
	source     string // "gossip", "directory" or "" (unknown)
}

// serverVersions is what this server knows of every server's versions:
// its own; what the others advertise in the gossip pool while they are
// members (a member without a log version runs a release from before log
// versions: 1); else what the directory recorded.
func (s *Server) serverVersions() map[string]serverVersion {
	out := map[string]serverVersion{}
	for _, sv := range s.fsm.Servers() {
		if sv.LogVersion > 0 {
			out[sv.ID] = serverVersion{sv.LogVersion, sv.Version, "directory"}
		}
	}
	for _, m := range s.pool.Members() {
		if m.Meta.Role != gossip.RoleServer {
			continue
		}
		out[m.Meta.ID] = serverVersion{max(m.Meta.LogVersion, 1), m.Meta.Version, "gossip"}
	}
	out[s.cfg.ID] = serverVersion{s.logVersion(), BuildVersion(), "gossip"}
	return out
}

// checkLogVersion is the gate of every command: it returns nil when
// every server of the Raft configuration (voters and non-voters: all of
// them apply the log) is known to support the log version that introduced
// command type t, else an upgrade_required error naming those that are
// not, or not known to. Commands of log version 1 are never gated (every
// server supports them). A server is known through the gossip pool (what
// it advertises while it is a member) or the directory (what it
// advertised when last recorded); one known through neither counts as too
// old, so a down server of unknown version keeps the gate closed.
func (s *Server) checkLogVersion(t fsm.CmdType) *api.Error {
	need := t.Version()
	if need <= 1 {
		return nil
	}
	cf := s.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return s.raftError(err)
	}
	known := s.serverVersions()
	ids := make([]string, 0, len(cf.Configuration().Servers))
	for _, rs := range cf.Configuration().Servers {
		ids = append(ids, string(rs.ID))
	}
	return gateError(t, need, ids, known)
}

// gateError is checkLogVersion's verdict on the servers ids with the
// versions known of them: nil if all support need; upgrade_required (409)
// if one is known to run an older log version; version_unknown (503,
// retry) if the only ones in the way are not known at all — a server that
// has just joined and is not yet in the gossip pool or the directory
// (which takes a gossip round), or one down since before versions were
// recorded.
func gateError(t fsm.CmdType, need int, ids []string, known map[string]serverVersion) *api.Error {
	var old, unknown, oldIDs []string
	for _, id := range ids {
		v := known[id]
		if v.logVersion >= need {
			continue
		}
		switch {
		case v.source == "":
			unknown = append(unknown, id)
			continue
		case v.version == "":
			old = append(old, fmt.Sprintf("%s (log version %d, from %s)", id, v.logVersion, v.source))
		default:
			old = append(old, fmt.Sprintf("%s (log version %d, build %s, from %s)", id, v.logVersion, v.version, v.source))
		}
		oldIDs = append(oldIDs, id)
	}
	sort.Strings(unknown)
	if len(old) == 0 {
		if len(unknown) == 0 {
			return nil
		}
		return &api.Error{Code: api.CodeVersionUnknown, Message: fmt.Sprintf(
			"the %s command needs log version %d on every server, and the log version of %s is not known yet "+
				"(not in the gossip pool, not recorded: a server that has just joined is, within a gossip round); nothing was applied: retry",
			t, need, strings.Join(unknown, ", "))}
	}
	ids = oldIDs
	for _, id := range unknown {
		old = append(old, id+" (log version unknown: not in the gossip pool and not recorded)")
		ids = append(ids, id)
	}
	sort.Strings(old)
	sort.Strings(ids)
	return &api.Error{Code: api.CodeUpgradeRequired, Message: fmt.Sprintf(
		"the %s command needs log version %d on every server, and %s %s not known to support it: "+
			"upgrade %s to log version ≥ %d first (docs/operations.md, Upgrading a cluster); nothing was applied",
		t, need, strings.Join(old, ", "), map[bool]string{true: "is", false: "are"}[len(old) == 1], strings.Join(ids, ", "), need)}
}

// recordVersions brings the directory's versions of the servers in it up
// to date with what they advertise in the gossip pool (the leader, on
// membership changes and at each reconcile): so a server that is down
// still counts with the version it last ran.
func (s *Server) recordVersions() {
	dir := map[string]api.Server{}
	for _, sv := range s.fsm.Servers() {
		dir[sv.ID] = sv
	}
	for id, v := range s.serverVersions() {
		sv, ok := dir[id]
		if !ok || v.source != "gossip" || (sv.LogVersion == v.logVersion && sv.Version == v.version) {
			continue
		}
		sv.LogVersion, sv.Version = v.logVersion, v.version
		if _, _, e := s.apply(fsm.CmdServer, &fsm.ServerCmd{Server: sv}); e != nil {
			s.log.Warn("server versions not recorded in the directory", "id", id, "err", e)
			return
		}
		s.log.Info("server versions recorded in the directory", "id", id, "log_version", v.logVersion, "version", v.version)
	}
}

// onceLog logs a message once until it changes (the gate's refusals,
// which the leader meets at every retry).
type onceLog struct {
	mu   sync.Mutex
	last string
}

// changed reports whether msg differs from the last one, and remembers it.
func (o *onceLog) changed(msg string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.last == msg {
		return false
	}
	o.last = msg
	return true
}
