package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Client calls a Suanli server's HTTP API. Writes sent to a follower are
// forwarded to the leader by the server; a 307 redirect to the leader is
// followed as well.
type Client struct {
	// Base is the server's base URL, e.g. "http://127.0.0.1:7070".
	Base  string
	Token string
	HTTP  *http.Client
}

// NewClient returns a client for addr ("host:port" or a URL).
func NewClient(addr, token string) *Client { return NewClientTLS(addr, token, nil) }

// NewClientTLS returns a client for addr that, with tlsCfg set, speaks
// HTTPS ("host:port" then means https://host:port) and verifies the
// server's certificate with tlsCfg (see ClientTLS).
func NewClientTLS(addr, token string, tlsCfg *tls.Config) *Client {
	c := &Client{Base: BaseURL(addr, tlsCfg != nil), Token: token, HTTP: &http.Client{Timeout: 90 * time.Second}}
	if tlsCfg != nil {
		c.HTTP.Transport = &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment}
	}
	return c
}

// BaseURL turns "host:port" or a URL into a base URL: https:// for a bare
// address when secure, http:// otherwise; a URL keeps its scheme.
func BaseURL(addr string, secure bool) string {
	base := strings.TrimSpace(addr)
	if !strings.Contains(base, "://") {
		if secure {
			base = "https://" + base
		} else {
			base = "http://" + base
		}
	}
	return strings.TrimRight(base, "/")
}

// ClientTLS returns a TLS configuration that trusts the PEM certificates
// in caFile (the CA that signed the servers' certificates), TLS 1.2 or
// newer.
func ClientTLS(caFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA certificates: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificates in it", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// maxRetries429 is how many times a GET answered 429 (too many list
// reads in progress from this client) is sent again.
const maxRetries429 = 3

// do sends a request with a JSON body (if in != nil) and decodes a JSON
// answer into out. Non-2xx answers come back as *Error.
func (c *Client) do(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("X-Suanli-Token", c.Token)
	}
	resp, err := c.HTTP.Do(req)
	for try := 0; err == nil && resp.StatusCode == http.StatusTooManyRequests && method == "GET" && try < maxRetries429; try++ {
		// Too many list reads in progress from this address: wait as told
		// (at most 5 s) and ask again.
		wait := time.Second
		if n, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && n >= 0 {
			wait = min(time.Duration(n)*time.Second, 5*time.Second)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		if req, err = http.NewRequestWithContext(ctx, method, c.Base+path, nil); err != nil {
			return nil, err
		}
		if c.Token != "" {
			req.Header.Set("X-Suanli-Token", c.Token)
		}
		resp, err = c.HTTP.Do(req)
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return resp.Header, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error != nil {
			eb.Error.Status = resp.StatusCode
			return resp.Header, eb.Error
		}
		return resp.Header, &Error{Code: CodeInternal, Status: resp.StatusCode, Message: fmt.Sprintf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(data)))}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.Header, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

// Submit submits one workload.
func (c *Client) Submit(ctx context.Context, w WorkloadSpec) (SubmitResult, error) {
	var out SubmitResult
	_, err := c.do(ctx, "POST", "/v1/workloads", w, &out)
	return out, err
}

// SubmitBulk submits many workloads as one entry (all or nothing).
func (c *Client) SubmitBulk(ctx context.Context, ws []WorkloadSpec) (BulkSubmitResponse, error) {
	var out BulkSubmitResponse
	_, err := c.do(ctx, "POST", "/v1/workloads/bulk", ws, &out)
	return out, err
}

// Get returns one workload.
func (c *Client) Get(ctx context.Context, id string) (Workload, error) {
	var out Workload
	_, err := c.do(ctx, "GET", "/v1/workloads/"+url.PathEscape(id), nil, &out)
	return out, err
}

// GetConsistent returns one workload with a linearizable read
// (?consistent): the leader confirms its leadership and applies everything
// committed before answering, so a write acknowledged before a leader
// change is always seen.
func (c *Client) GetConsistent(ctx context.Context, id string) (Workload, error) {
	var out Workload
	_, err := c.do(ctx, "GET", "/v1/workloads/"+url.PathEscape(id)+"?consistent", nil, &out)
	return out, err
}

// ListOptions filter and page GET /v1/workloads.
type ListOptions struct {
	Status, Class, Site, Node, Agent string
	After                            string
	Limit                            int
	Consistent                       bool
}

// List returns a page of workloads.
func (c *Client) List(ctx context.Context, o ListOptions) (WorkloadList, error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": o.Status, "class": o.Class, "site": o.Site, "node": o.Node, "agent": o.Agent, "after": o.After} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Consistent {
		q.Set("consistent", "")
	}
	var out WorkloadList
	path := "/v1/workloads"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	_, err := c.do(ctx, "GET", path, nil, &out)
	return out, err
}

// Cancel cancels a workload.
func (c *Client) Cancel(ctx context.Context, id string) (CancelResponse, error) {
	var out CancelResponse
	_, err := c.do(ctx, "POST", "/v1/workloads/"+url.PathEscape(id)+"/cancel", struct{}{}, &out)
	return out, err
}

// Plan runs a dry run.
func (c *Client) Plan(ctx context.Context, req PlanRequest) (PlanResponse, error) {
	var out PlanResponse
	_, err := c.do(ctx, "POST", "/v1/plan", req, &out)
	return out, err
}

// NodeListOptions filter and page GET /v1/nodes.
type NodeListOptions struct {
	State, Site, Agent string
	After              string
	// Limit is the page size (the server's default, 1000, when 0).
	Limit      int
	Consistent bool
}

// NodeList returns every site and one page of nodes.
func (c *Client) NodeList(ctx context.Context, o NodeListOptions) (NodeList, error) {
	q := url.Values{}
	for k, v := range map[string]string{"state": o.State, "site": o.Site, "agent": o.Agent, "after": o.After} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Consistent {
		q.Set("consistent", "")
	}
	path := "/v1/nodes"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out NodeList
	_, err := c.do(ctx, "GET", path, nil, &out)
	return out, err
}

// Nodes lists the sites and every node of the given state, site and agent
// ("" = any), following the pages (Next is empty; Index is the last
// page's).
func (c *Client) Nodes(ctx context.Context, state, site, agent string) (NodeList, error) {
	o := NodeListOptions{State: state, Site: site, Agent: agent}
	var all NodeList
	for {
		nl, err := c.NodeList(ctx, o)
		if err != nil {
			return all, err
		}
		all.Index, all.Sites, all.Total = nl.Index, nl.Sites, nl.Total
		all.Nodes = append(all.Nodes, nl.Nodes...)
		if nl.Next == "" {
			return all, nil
		}
		o.After = nl.Next
	}
}

// SetNodeState sets a node up, draining or down (operator).
func (c *Client) SetNodeState(ctx context.Context, id, state string) (Node, error) {
	var out Node
	_, err := c.do(ctx, "POST", "/v1/nodes/"+url.PathEscape(id)+"/state", map[string]string{"state": state}, &out)
	return out, err
}

// Cluster returns the cluster status as the server sees it.
func (c *Client) Cluster(ctx context.Context) (ClusterStatus, error) {
	var out ClusterStatus
	_, err := c.do(ctx, "GET", "/v1/cluster", nil, &out)
	return out, err
}

// SchedulerConfig returns the cluster's replicated scheduler
// configuration and the index it was set at.
func (c *Client) SchedulerConfig(ctx context.Context) (SchedulerConfigResponse, error) {
	var out SchedulerConfigResponse
	_, err := c.do(ctx, "GET", "/v1/operator/scheduler", nil, &out)
	return out, err
}

// SetSchedulerConfig replaces the cluster's scheduler configuration. With
// cas >= 0 it applies only if the configuration's modify index is still
// cas (0: only if none is set); otherwise the answer is a conflict (409,
// field cas). cas < 0 sets it unconditionally.
func (c *Client) SetSchedulerConfig(ctx context.Context, cfg SchedulerConfig, cas int64) (SchedulerConfigResponse, error) {
	var out SchedulerConfigResponse
	path := "/v1/operator/scheduler"
	if cas >= 0 {
		path += "?cas=" + strconv.FormatInt(cas, 10)
	}
	_, err := c.do(ctx, "PUT", path, cfg, &out)
	return out, err
}

// Health returns the server's health.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var out Health
	_, err := c.do(ctx, "GET", "/v1/health", nil, &out)
	return out, err
}

// Join asks the cluster to add a server as a voter.
func (c *Client) Join(ctx context.Context, req JoinRequest) (ClusterStatus, error) {
	var out ClusterStatus
	_, err := c.do(ctx, "POST", "/v1/cluster/join", req, &out)
	return out, err
}

// RemoveServer asks the cluster to remove a server.
func (c *Client) RemoveServer(ctx context.Context, id string) (ClusterStatus, error) {
	var out ClusterStatus
	_, err := c.do(ctx, "POST", "/v1/cluster/remove", RemoveRequest{ID: id}, &out)
	return out, err
}

// TransferLeader asks the leader to hand leadership to the voter id (any
// voter if id is empty) and returns the cluster status once a new leader
// is known.
func (c *Client) TransferLeader(ctx context.Context, id string) (ClusterStatus, error) {
	var out ClusterStatus
	_, err := c.do(ctx, "POST", "/v1/cluster/transfer-leader", TransferLeaderRequest{ID: id}, &out)
	return out, err
}

// Register registers an agent's sites and nodes.
func (c *Client) Register(ctx context.Context, req RegisterRequest) (RegisterResponse, error) {
	var out RegisterResponse
	_, err := c.do(ctx, "POST", "/v1/agent/register", req, &out)
	return out, err
}

// Assignments long-polls the agent's assignments: it returns once the
// agent's index exceeds index, or after wait.
func (c *Client) Assignments(ctx context.Context, agent string, index uint64, wait time.Duration) (Assignments, error) {
	var out Assignments
	path := fmt.Sprintf("/v1/agent/%s/assignments?index=%d&wait=%s", url.PathEscape(agent), index, wait)
	_, err := c.do(ctx, "GET", path, nil, &out)
	return out, err
}

// Events reports workload events of an agent's nodes.
func (c *Client) Events(ctx context.Context, agent string, evs []Event) (EventsResponse, error) {
	var out EventsResponse
	_, err := c.do(ctx, "POST", "/v1/agent/"+url.PathEscape(agent)+"/events", EventsRequest{Events: evs}, &out)
	return out, err
}
