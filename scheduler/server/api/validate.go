package api

import (
	"fmt"
	"math"
	"strings"

	"github.com/suanli/suanli/nodes"
)

// Limits on submitted values.
const (
	MaxIDLen        = 128
	MaxClassLen     = 64
	MaxSites        = 1024
	MaxUnits        = 1<<31 - 1 // per resource dimension
	MaxDurationMs   = 366 * 24 * 3600 * 1000
	MaxBulkSubmit   = 10000 // workloads per bulk request
	MaxEventsPerReq = 10000
	MaxTopK         = 50 // candidates a dry run explains (top_k)
)

// Invalid returns a 400 error naming a field.
// shandong is the city table requests are checked against, read-only
// (nodes.ShandongCities copies it on every call: that was 8–16 % of an
// apply's time, as every server validates every submitted workload).
var shandong = nodes.ShandongCities()

func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ValidID reports whether id is a usable identifier: 1 to 128 characters
// from [A-Za-z0-9._:-].
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	if strings.HasPrefix(field, "[") {
		return prefix + field
	}
	return prefix + "." + field
}

// Validate checks a workload spec; the returned error names the first
// offending field, prefixed with prefix (e.g. "[3]" in a bulk request).
// An empty ID is allowed (the server assigns one).
func (s *WorkloadSpec) Validate(prefix string) *Error {
	if s.ID != "" && !ValidID(s.ID) {
		return Invalid(join(prefix, "id"), "id %q must be 1-%d characters of [A-Za-z0-9._:-]", s.ID, MaxIDLen)
	}
	if len(s.Class) > MaxClassLen {
		return Invalid(join(prefix, "class"), "class is longer than %d characters", MaxClassLen)
	}
	if s.Origin == "" {
		return Invalid(join(prefix, "origin"), "origin is required (a city code, e.g. JN)")
	}
	if _, err := nodes.LookupCity(shandong, s.Origin); err != nil {
		return Invalid(join(prefix, "origin"), "%v", err)
	}
	r := s.Request
	if r.CPUMilli <= 0 || r.CPUMilli > MaxUnits {
		return Invalid(join(prefix, "request.cpu_milli"), "cpu_milli %d must be in [1, %d]", r.CPUMilli, MaxUnits)
	}
	if r.MemoryMiB < 0 || r.MemoryMiB > MaxUnits {
		return Invalid(join(prefix, "request.memory_mib"), "memory_mib %d must be in [0, %d]", r.MemoryMiB, MaxUnits)
	}
	if r.GPUMilli < 0 || r.GPUMilli > MaxUnits {
		return Invalid(join(prefix, "request.gpu_milli"), "gpu_milli %d must be in [0, %d]", r.GPUMilli, MaxUnits)
	}
	if s.DurationMs < 0 || s.DurationMs > MaxDurationMs {
		return Invalid(join(prefix, "duration_ms"), "duration_ms %d must be in [0, %d]", s.DurationMs, int64(MaxDurationMs))
	}
	if !(s.LatencyBoundMs >= 0) || math.IsInf(s.LatencyBoundMs, 0) {
		return Invalid(join(prefix, "latency_bound_ms"), "latency_bound_ms %g must be a finite number >= 0", s.LatencyBoundMs)
	}
	if !(s.InputMB >= 0) || math.IsInf(s.InputMB, 0) {
		return Invalid(join(prefix, "input_mb"), "input_mb %g must be a finite number >= 0", s.InputMB)
	}
	if s.Priority < -1_000_000 || s.Priority > 1_000_000 {
		return Invalid(join(prefix, "priority"), "priority %d must be in [-1000000, 1000000]", s.Priority)
	}
	for i, t := range s.Tiers {
		if _, err := nodes.ParseTier(t); err != nil {
			return Invalid(join(prefix, fmt.Sprintf("tiers[%d]", i)), "%v", err)
		}
	}
	if len(s.Sites) > MaxSites {
		return Invalid(join(prefix, "sites"), "at most %d sites", MaxSites)
	}
	for i, site := range s.Sites {
		if !ValidID(site) {
			return Invalid(join(prefix, fmt.Sprintf("sites[%d]", i)), "site id %q is not a valid id", site)
		}
	}
	return nil
}

// Validate checks a site registration.
func (s *Site) Validate(prefix string) *Error {
	if !ValidID(s.ID) {
		return Invalid(join(prefix, "id"), "site id %q must be 1-%d characters of [A-Za-z0-9._:-]", s.ID, MaxIDLen)
	}
	if s.Lat == 0 && s.Lon == 0 {
		if _, err := nodes.LookupCity(shandong, s.City); err != nil {
			return Invalid(join(prefix, "city"), "%v (or give lat and lon)", err)
		}
	} else if !(s.Lat >= -90 && s.Lat <= 90 && s.Lon >= -180 && s.Lon <= 180) {
		return Invalid(join(prefix, "lat"), "lat/lon %g,%g out of range", s.Lat, s.Lon)
	}
	role, err := nodes.ParseRole(s.Role)
	if err != nil {
		return Invalid(join(prefix, "role"), "%v", err)
	}
	if s.Tier != "" {
		t, err := nodes.ParseTier(s.Tier)
		if err != nil {
			return Invalid(join(prefix, "tier"), "%v", err)
		}
		if t != role.Tier() {
			return Invalid(join(prefix, "tier"), "tier %s does not match role %s (tier %s)", t, role, role.Tier())
		}
	}
	if !(s.PUE >= 1 && s.PUE <= 10) {
		return Invalid(join(prefix, "pue"), "pue %g must be in [1, 10]", s.PUE)
	}
	return nil
}

// Validate checks a node registration.
func (n *NodeSpec) Validate(prefix string) *Error {
	if !ValidID(n.ID) {
		return Invalid(join(prefix, "id"), "node id %q must be 1-%d characters of [A-Za-z0-9._:-]", n.ID, MaxIDLen)
	}
	if !ValidID(n.Site) {
		return Invalid(join(prefix, "site"), "site id %q is not a valid id", n.Site)
	}
	c := n.Capacity
	if c.CPUMilli < 0 || c.CPUMilli >= MaxUnits {
		return Invalid(join(prefix, "capacity.cpu_milli"), "cpu_milli %d must be in [0, %d)", c.CPUMilli, MaxUnits)
	}
	if c.MemoryMiB < 0 || c.MemoryMiB >= MaxUnits {
		return Invalid(join(prefix, "capacity.memory_mib"), "memory_mib %d must be in [0, %d)", c.MemoryMiB, MaxUnits)
	}
	if c.GPUMilli < 0 || c.GPUMilli >= MaxUnits {
		return Invalid(join(prefix, "capacity.gpu_milli"), "gpu_milli %d must be in [0, %d)", c.GPUMilli, MaxUnits)
	}
	if len(n.Type) > MaxClassLen {
		return Invalid(join(prefix, "type"), "type is longer than %d characters", MaxClassLen)
	}
	return nil
}

// Validate checks a registration: ids, known sites, no duplicates.
func (r *RegisterRequest) Validate(knownSite func(string) bool) *Error {
	if !ValidID(r.AgentID) {
		return Invalid("agent_id", "agent_id %q must be 1-%d characters of [A-Za-z0-9._:-]", r.AgentID, MaxIDLen)
	}
	if r.Instance != "" && !ValidID(r.Instance) {
		return Invalid("instance", "instance %q must be 1-%d characters of [A-Za-z0-9._:-]", r.Instance, MaxIDLen)
	}
	if len(r.Nodes) > 100000 {
		return Invalid("nodes", "at most 100000 nodes per agent")
	}
	sites := make(map[string]bool, len(r.Sites))
	for i := range r.Sites {
		p := fmt.Sprintf("sites[%d]", i)
		if err := r.Sites[i].Validate(p); err != nil {
			return err
		}
		if sites[r.Sites[i].ID] {
			return Invalid(p+".id", "duplicate site id %q", r.Sites[i].ID)
		}
		sites[r.Sites[i].ID] = true
	}
	seen := make(map[string]bool, len(r.Nodes))
	for i := range r.Nodes {
		p := fmt.Sprintf("nodes[%d]", i)
		if err := r.Nodes[i].Validate(p); err != nil {
			return err
		}
		if seen[r.Nodes[i].ID] {
			return Invalid(p+".id", "duplicate node id %q", r.Nodes[i].ID)
		}
		seen[r.Nodes[i].ID] = true
		if !sites[r.Nodes[i].Site] && (knownSite == nil || !knownSite(r.Nodes[i].Site)) {
			return Invalid(p+".site", "unknown site %q (register it in sites)", r.Nodes[i].Site)
		}
	}
	return nil
}

// Validate checks an event.
func (e *Event) Validate(prefix string) *Error {
	if !ValidID(e.WorkloadID) {
		return Invalid(join(prefix, "workload_id"), "workload_id %q is not a valid id", e.WorkloadID)
	}
	if !ValidID(e.NodeID) {
		return Invalid(join(prefix, "node_id"), "node_id %q is not a valid id", e.NodeID)
	}
	switch e.Kind {
	case EventStarted, EventCompleted, EventFailed:
	default:
		return Invalid(join(prefix, "kind"), "kind %q must be one of started, completed, failed", e.Kind)
	}
	if e.At.IsZero() {
		return Invalid(join(prefix, "at"), "at is required (RFC 3339 time)")
	}
	return nil
}
