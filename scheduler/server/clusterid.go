package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/raft"
	"github.com/suanli/suanli/scheduler/server/api"
	"github.com/suanli/suanli/scheduler/server/fsm"
)

// Cluster identity. The first leader of a cluster (the bootstrapping
// server, or the first leader after an upgrade of a cluster that has
// none) commits a random cluster ID (fsm.ClusterID); every server writes
// it to <data-dir>/cluster-id once its state has it. A server sends it
// when it asks to join, and the leader refuses a server of another
// cluster; a server whose state names another cluster than its file
// refuses to start.

const clusterIDFile = "cluster-id"

// newClusterID returns 16 random bytes, hex.
func newClusterID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// readClusterID reads the data directory's cluster-id file ("" if none).
func readClusterID(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, clusterIDFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read cluster ID: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// writeClusterID writes the cluster-id file atomically (temporary file,
// fsync, rename).
func writeClusterID(dataDir, id string) error {
	path := filepath.Join(dataDir, clusterIDFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write cluster ID: %w", err)
	}
	_, err = f.WriteString(id + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write cluster ID: %w", err)
	}
	if d, err := os.Open(dataDir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// clusterIDs holds what this server knows of its cluster's identity.
type clusterIDs struct {
	mu     sync.Mutex
	stored string // the data directory's cluster-id file
}

func (c *clusterIDs) get() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stored
}

func (c *clusterIDs) set(id string) {
	c.mu.Lock()
	c.stored = id
	c.mu.Unlock()
}

// clusterID is the cluster's ID as this server knows it: its state's, or
// else its data directory's.
func (s *Server) clusterID() string {
	if id := s.fsm.ClusterID(); id != "" {
		return id
	}
	return s.cid.get()
}

// loggedClusterID returns the cluster ID of the first ClusterID command
// in the Raft log, "" if none (the ID the state will have once the log is
// applied, when the restored snapshot has none).
func loggedClusterID(store raft.LogStore) (string, error) {
	first, err := store.FirstIndex()
	if err != nil {
		return "", err
	}
	last, err := store.LastIndex()
	if err != nil {
		return "", err
	}
	var l raft.Log
	for i := max(first, 1); i <= last && last > 0; i++ {
		if err := store.GetLog(i, &l); err != nil {
			if errors.Is(err, raft.ErrLogNotFound) {
				continue
			}
			return "", err
		}
		if l.Type != raft.LogCommand || len(l.Data) == 0 || fsm.CmdType(l.Data[0]) != fsm.CmdClusterID {
			continue
		}
		if _, c, err := fsm.Decode(l.Data); err == nil && c.(*fsm.ClusterID).ID != "" {
			return c.(*fsm.ClusterID).ID, nil
		}
	}
	return "", nil
}

// checkClusterID runs at start, after Raft restored its snapshot. A data
// directory with Raft state whose cluster-id file names another cluster
// than the state (snapshot, else log) is refused (ErrBadConfig): one of
// them was copied from elsewhere. A bootstrapping server without state
// drops a leftover cluster-id file: it starts a new cluster, which gets a
// new ID.
func (s *Server) checkClusterID(existing bool) error {
	stored, err := readClusterID(s.cfg.DataDir)
	if err != nil {
		return err
	}
	if !existing {
		if stored != "" && s.cfg.Bootstrap {
			s.log.Warn("bootstrapping a new cluster: dropping the data directory's cluster-id file of an earlier cluster", "cluster_id", stored)
			if err := os.Remove(filepath.Join(s.cfg.DataDir, clusterIDFile)); err != nil {
				return fmt.Errorf("remove cluster ID: %w", err)
			}
			stored = ""
		}
		s.cid.set(stored)
		return nil
	}
	state := s.fsm.ClusterID()
	if state == "" && stored != "" {
		if state, err = loggedClusterID(s.store); err != nil {
			return fmt.Errorf("raft log: %w", err)
		}
	}
	if stored != "" && state != "" && stored != state {
		return badConfig(fmt.Errorf("data directory %s: its Raft state belongs to cluster %s, but its %s file says cluster %s: "+
			"the Raft state or the file was copied from another cluster. If this server belongs to cluster %s, stop it, "+
			"delete its data directory and start it again with --join <HTTP address of a server of that cluster>",
			s.cfg.DataDir, state, clusterIDFile, stored, stored))
	}
	s.cid.set(stored)
	return nil
}

// persistClusterID writes the cluster ID to the data directory once the
// state has one, then returns.
func (s *Server) persistClusterID() {
	defer s.wg.Done()
	for {
		w := s.fsm.Watch()
		if id := s.fsm.ClusterID(); id != "" {
			switch stored := s.cid.get(); {
			case stored == id:
			case stored != "":
				s.log.Error("this server's state names another cluster than its data directory's cluster-id file: "+
					"it received another cluster's state; stop it, delete its data directory and join it again",
					"state_cluster_id", id, "file_cluster_id", stored)
			default:
				if err := writeClusterID(s.cfg.DataDir, id); err != nil {
					s.log.Error("cannot persist the cluster ID", "cluster_id", id, "err", err)
				} else {
					s.cid.set(id)
					s.log.Info("cluster ID recorded in the data directory", "cluster_id", id)
				}
			}
			return
		}
		select {
		case <-s.ctx.Done():
			return
		case <-w:
		}
	}
}

// ensureClusterID commits a new cluster ID if the (current) state has
// none: the bootstrapping server's first leadership, or a cluster that
// predates cluster IDs.
func (s *Server) ensureClusterID() {
	if s.fsm.ClusterID() != "" {
		return
	}
	res, _, e := s.apply(fsm.CmdClusterID, &fsm.ClusterID{ID: newClusterID()})
	if e != nil {
		s.log.Warn("cluster ID not committed", "err", e)
		return
	}
	if r, ok := res.(*fsm.ClusterIDResult); ok {
		s.log.Info("cluster ID committed", "cluster_id", r.ID)
	}
}

// checkJoinClusterID refuses a joining server of another cluster.
func (s *Server) checkJoinClusterID(req *api.JoinRequest) *api.Error {
	if req.ClusterID == "" {
		// A new server (empty data directory), or one that predates
		// cluster IDs.
		return nil
	}
	mine := s.fsm.ClusterID()
	if mine == "" {
		return &api.Error{Code: api.CodeNoLeader, Field: "cluster_id", Message: fmt.Sprintf(
			"server %s names cluster %s, and this cluster's ID is not committed yet (its leader commits one when it starts leading); retry",
			req.ID, req.ClusterID)}
	}
	if req.ClusterID != mine {
		return &api.Error{Code: api.CodeConflict, Field: "cluster_id", Message: fmt.Sprintf(
			"server %s belongs to cluster %s (its data directory's %s file), not to this cluster (%s): its Raft log is another cluster's. "+
				"To add it to this cluster, stop it, delete its data directory and start it again with --join",
			req.ID, req.ClusterID, clusterIDFile, mine)}
	}
	return nil
}
