package external

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
)

// Prefix starts the name of an external policy in a run's policy list:
// "external:NAME".
const Prefix = "external:"

// DefaultTimeout is how long the simulator waits for a reply to one
// request when Spec.Timeout is 0; the handshake gets
// max(Timeout, DefaultStartTimeout).
const (
	DefaultTimeout      = 10 * time.Second
	DefaultStartTimeout = 30 * time.Second
)

// nameRule is what NAME in "external:NAME" may be: it names the child's
// log file in an output directory, so no path separators.
var nameRule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// NameRule says in words what ValidName accepts.
const NameRule = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters"

// ValidName reports whether name may name an external policy
// ("external:NAME"), on the command line or in a scenario file.
func ValidName(name string) bool { return nameRule.MatchString(name) }

// startTimeout is DefaultStartTimeout (a variable for tests).
var startTimeout = DefaultStartTimeout

// maxLine bounds one line the child writes (a reply is a few hundred
// bytes; 1 MiB leaves room for anything sensible).
const maxLine = 1 << 20

// Spec says how to run an external policy.
type Spec struct {
	// Command is the program and its arguments.
	Command []string
	// Dir is the working directory ("" = the current one).
	Dir string
	// Timeout bounds the wait for each reply (0: DefaultTimeout).
	Timeout time.Duration
	// Env is added to the simulator's environment for the child
	// ("NAME=value" each).
	Env []string
	// Options are handed to the child in the hello.
	Options map[string]any
	// Stderr receives the child's stderr (nil: discarded); its last
	// lines are quoted in errors either way.
	Stderr io.Writer
}

// Run is what the child is told about the run, and the snapshot the
// policy decides on.
type Run struct {
	// Policy is the policy's name in the run ("external:NAME").
	Policy   string
	Scenario string
	Seed     uint64
	// Start is time 0 of the run.
	Start  time.Time
	Cities []nodes.City
	// Snapshot is the run's snapshot: its sites, their energy (PUE,
	// marginal watts) and the forecast step as the hello reports them.
	Snapshot *scheduler.Snapshot
	// Config is the core's config of the run (NodeCandidates for the
	// best-fit node choice, the deferral slack hinted to the child).
	Config scheduler.Config
}

// Policy is an external policy's simulator side: a scheduler.Decider (and
// scheduler.Failer, scheduler.Closer) backed by one child process. It is
// not safe for concurrent use; every run starts its own.
type Policy struct {
	name    string
	cmdLine string
	spec    Spec
	run     Run
	placer  *scheduler.Placer
	cfg     scheduler.Config

	cmd     *exec.Cmd
	stdin   *os.File // our end of the child's stdin
	stdout  *os.File // our end of the child's stdout
	in      *bufio.Reader
	exited  chan struct{} // closed once the child has exited
	waitErr error         // the child's exit status (after exited)
	tail    *tailWriter

	forecast bool
	seq      int64
	decided  int64
	err      error
	closed   bool

	siteIdx map[string]int
	// what the child was last sent, per site
	sentOK  bool
	sentNow []scheduler.Signal
	sentPUE []float64
	sentFc  [][]scheduler.Signal
	sentFcS time.Time

	feas []scheduler.Feasibility
	req  Request
	buf  bytes.Buffer
	enc  *json.Encoder
}

var (
	_ scheduler.Decider = (*Policy)(nil)
	_ scheduler.Failer  = (*Policy)(nil)
	_ scheduler.Closer  = (*Policy)(nil)
)

// Start starts the child of spec for run and shakes hands: it writes the
// hello and waits for the child's ready. The returned Policy owns the
// process until Close.
func Start(spec Spec, run Run) (*Policy, error) {
	p := &Policy{name: run.Policy, spec: spec, run: run, cfg: run.Config.WithDefaults()}
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		return nil, fmt.Errorf("external policy %s: no command", p.name)
	}
	p.cmdLine = strings.Join(spec.Command, " ")
	if p.spec.Timeout <= 0 {
		p.spec.Timeout = DefaultTimeout
	}
	p.placer = scheduler.NewPlacer(run.Policy, run.Config)
	st := run.Snapshot.State
	p.siteIdx = make(map[string]int, st.NumSites())
	for i := 0; i < st.NumSites(); i++ {
		p.siteIdx[st.Site(i).ID] = i
	}
	p.enc = json.NewEncoder(&p.buf)
	p.enc.SetEscapeHTML(false)

	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, p.errorf("stdin pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, p.errorf("stdout pipe: %w", err)
	}
	p.tail = &tailWriter{}
	cmd := exec.Command(spec.Command[0], spec.Command[1:]...)
	cmd.Dir = spec.Dir
	if len(spec.Env) > 0 {
		cmd.Env = append(os.Environ(), spec.Env...)
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	if spec.Stderr != nil {
		cmd.Stderr = io.MultiWriter(p.tail, spec.Stderr)
	} else {
		cmd.Stderr = p.tail
	}
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		if spec.Dir != "" {
			return nil, p.errorf("start %q in directory %s: %w", p.cmdLine, spec.Dir, err)
		}
		return nil, p.errorf("start %q: %w", p.cmdLine, err)
	}
	inR.Close()
	outW.Close()
	p.cmd, p.stdin, p.stdout = cmd, inW, outR
	p.in = bufio.NewReaderSize(outR, 64<<10)
	p.exited = make(chan struct{})
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()

	if err := p.handshake(); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

func (p *Policy) handshake() error {
	snap := p.run.Snapshot
	st := snap.State
	h := Hello{Type: TypeHello, Protocol: Version, Policy: p.name, Scenario: p.run.Scenario, Seed: p.run.Seed,
		Start: p.run.Start.Format(time.RFC3339Nano), ForecastStepS: snap.ForecastStep.Seconds(), Options: p.spec.Options}
	if h.Options == nil {
		h.Options = map[string]any{}
	}
	for _, c := range p.run.Cities {
		h.Cities = append(h.Cities, c.Code)
	}
	for i := 0; i < st.NumSites(); i++ {
		s := st.Site(i)
		var capa nodes.Resources
		for _, n := range st.SiteNodes(i) {
			capa = capa.Add(st.NodeCapacity(int(n)))
		}
		e := &snap.Energy[i]
		h.Sites = append(h.Sites, SiteInfo{ID: s.ID, Tier: s.Tier.String(), City: s.City, PUE: e.PUE, Nodes: len(st.SiteNodes(i)),
			Capacity: res(capa), MarginalWPerCore: e.MarginalWPerCore, MarginalWPerGPU: e.MarginalWPerGPU})
	}
	deadline := time.Now().Add(max(p.spec.Timeout, startTimeout))
	if err := p.send(&h, deadline); err != nil {
		return p.errorf("hello: %w", err)
	}
	line, err := p.readLine(deadline)
	if err != nil {
		return p.errorf("waiting for ready: %w", err)
	}
	var r Ready
	if err := decodeStrict(line, &r); err != nil {
		return p.errorf("answer to hello: %w", err)
	}
	switch {
	case r.Type != TypeReady:
		return p.errorf("answer to hello has type %q, want %q", r.Type, TypeReady)
	case r.Error != "":
		return p.errorf("refused the run: %s", r.Error)
	case r.Protocol != Version:
		return p.errorf("speaks protocol version %d, this simulator speaks %d", r.Protocol, Version)
	}
	p.forecast = r.Forecast
	return nil
}

// Decide implements scheduler.Decider. After a failure (Err) it rejects
// everything, for reason "policy"; drivers stop at the first.
func (p *Policy) Decide(snap *scheduler.Snapshot, w *scheduler.Workload, now time.Time, rng *rand.Rand, ex *scheduler.Explanation) scheduler.Decision {
	fail := scheduler.Decision{Outcome: scheduler.Reject, Node: -1, Site: -1, Reason: scheduler.FilterPolicy}
	if p.err != nil {
		return fail
	}
	if p.closed {
		p.err = p.errorf("workload %s: the policy is closed", w.ID)
		return fail
	}
	feas, why := p.placer.Feasible(snap, w, now, ex, p.feas[:0])
	p.feas = feas
	if len(feas) == 0 {
		// Nothing to choose from: the core's own answer.
		d := scheduler.Decision{Outcome: scheduler.Reject, Node: -1, Site: -1, Reason: why}
		if ex != nil {
			ex.Conclude(snap, w, d)
			ex.Notes = append(ex.Notes, "no site passed the filters: rejected without asking the external policy")
		}
		return d
	}
	p.decided++
	p.seq++
	p.fill(snap, w, now)
	deadline := time.Now().Add(p.spec.Timeout)
	if err := p.send(&p.req, deadline); err != nil {
		p.fail(p.workErr(w, now, "sending the request: %w", err))
		return fail
	}
	var rep Reply
	for queries := 0; ; queries++ {
		line, err := p.readLine(deadline)
		if err != nil {
			p.fail(p.workErr(w, now, "waiting for the reply: %w", err))
			return fail
		}
		rep = Reply{}
		if err := decodeStrict(line, &rep); err != nil {
			p.fail(p.workErr(w, now, "reply: %w", err))
			return fail
		}
		if rep.Seq != p.seq || rep.ID != w.ID {
			p.fail(p.workErr(w, now, "reply is for request %d, workload %q; the request was %d, workload %q", rep.Seq, rep.ID, p.seq, w.ID))
			return fail
		}
		if rep.Type != TypeQuery {
			break
		}
		if rep.What != "sites" {
			p.fail(p.workErr(w, now, "query for %q; the only query is \"sites\"", rep.What))
			return fail
		}
		if queries >= 1 {
			p.fail(p.workErr(w, now, "second query for the same request"))
			return fail
		}
		if err := p.send(p.state(snap), deadline); err != nil {
			p.fail(p.workErr(w, now, "sending the state: %w", err))
			return fail
		}
	}
	d, err := p.apply(snap, w, now, rng, &rep)
	if err != nil {
		p.fail(p.workErr(w, now, "%w", err))
		return fail
	}
	if ex != nil {
		ex.Conclude(snap, w, d)
		note := "the external policy's reply: " + rep.Type
		if len(rep.Sites) > 0 {
			note += " at the first of " + strings.Join(rep.Sites, ", ") + " with room"
		}
		if rep.Reason != "" {
			note += " (" + rep.Reason + ")"
		}
		ex.Notes = append(ex.Notes, note)
	}
	return d
}

// apply checks the reply and turns it into a decision.
func (p *Policy) apply(snap *scheduler.Snapshot, w *scheduler.Workload, now time.Time, rng *rand.Rand, rep *Reply) (scheduler.Decision, error) {
	switch rep.Type {
	case TypePlace:
		if len(rep.Sites) == 0 {
			return scheduler.Decision{}, errors.New("place names no site")
		}
		// check every site before trying any, so a bad name is an error
		// whether or not an earlier site has room
		for k, id := range rep.Sites {
			if _, err := p.candidate(id, "place"); err != nil {
				return scheduler.Decision{}, err
			}
			for _, prev := range rep.Sites[:k] {
				if prev == id {
					return scheduler.Decision{}, fmt.Errorf("place names site %q twice", id)
				}
			}
		}
		for _, id := range rep.Sites {
			f, _ := p.candidate(id, "place")
			if node := p.placer.NodeAt(snap, w, f.Site, rng); node >= 0 {
				return scheduler.Decision{Outcome: scheduler.Place, Node: node, Site: f.Site, Reason: scheduler.FilterNone,
					Late: f.Late, TransferTime: f.Transfer}, nil
			}
		}
		// The sites' per-dimension maxima sit on different nodes: no
		// single node has room. The work waits for capacity, as when the
		// core's own policies find none.
		return scheduler.Decision{Outcome: scheduler.Reject, Node: -1, Site: -1, Reason: scheduler.FilterCapacity}, nil
	case TypeDefer:
		if w.Deadline.IsZero() {
			return scheduler.Decision{}, errors.New("defer of work without a deadline (only work with a deadline may be deferred)")
		}
		if rep.UntilS == nil {
			return scheduler.Decision{}, errors.New("defer without until_s")
		}
		until := *rep.UntilS
		nowS, deadS, durS := p.req.TimeS, *p.req.Workload.DeadlineS, p.req.Workload.DurationS
		site, transS := -1, 0.0
		if rep.Site != "" {
			f, err := p.candidate(rep.Site, "defer")
			if err != nil {
				return scheduler.Decision{}, err
			}
			site, transS = f.Site, f.Transfer.Seconds()
		}
		if !(until > nowS) {
			return scheduler.Decision{}, fmt.Errorf("defer until_s %v is not after the request's time_s %v", until, nowS)
		}
		if until+transS+durS > deadS {
			return scheduler.Decision{}, fmt.Errorf("defer until_s %v misses the deadline: until_s + transfer %v s + duration %v s = %v s > deadline_s %v",
				until, transS, durS, until+transS+durS, deadS)
		}
		at := p.run.Start.Add(time.Duration(until * 1e9))
		return scheduler.Decision{Outcome: scheduler.Defer, Node: -1, Site: site, NotBefore: at, Reason: scheduler.FilterNone}, nil
	case TypeReject:
		return scheduler.Decision{Outcome: scheduler.Reject, Node: -1, Site: -1, Reason: scheduler.FilterPolicy}, nil
	}
	return scheduler.Decision{}, fmt.Errorf("reply type %q; want place, defer, reject or query", rep.Type)
}

// candidate finds the feasible site named id.
func (p *Policy) candidate(id, verb string) (scheduler.Feasibility, error) {
	site, ok := p.siteIdx[id]
	if !ok {
		return scheduler.Feasibility{}, fmt.Errorf("%s names site %q, not a site of scenario %s", verb, id, p.run.Scenario)
	}
	for _, f := range p.feas {
		if f.Site == site {
			return f, nil
		}
	}
	names := make([]string, len(p.feas))
	for i, f := range p.feas {
		names[i] = p.run.Snapshot.State.Site(f.Site).ID
	}
	return scheduler.Feasibility{}, fmt.Errorf("%s names site %q, which is not feasible for this workload (the candidates were %s)", verb, id, strings.Join(names, ", "))
}

// seconds is t as seconds after the run's start.
func (p *Policy) seconds(t time.Time) float64 { return t.Sub(p.run.Start).Seconds() }

// fill builds the request for w in p.req.
func (p *Policy) fill(snap *scheduler.Snapshot, w *scheduler.Workload, now time.Time) {
	st := snap.State
	r := &p.req
	r.Type, r.Seq, r.TimeS = TypeDecide, p.seq, p.seconds(now)
	wl := Workload{ID: w.ID, Class: w.Class, CPUMilli: w.Request.CPUMilli, MemoryMiB: w.Request.MemoryMiB, GPUMilli: w.Request.GPUMilli,
		DurationS: w.Duration.Seconds(), LatencyBoundMs: w.LatencyBoundMs, Priority: w.Priority, InputMB: w.InputMB,
		CheckpointS: w.Checkpoint.Seconds(), Tiers: r.Workload.Tiers[:0], Sites: r.Workload.Sites[:0]}
	if w.Origin >= 0 && w.Origin < len(p.run.Cities) {
		wl.Origin = p.run.Cities[w.Origin].Code
	}
	if !w.Deadline.IsZero() {
		d := p.seconds(w.Deadline)
		wl.DeadlineS = &d
		wl.DeferSlackS = p.cfg.SlackFor(snap.ForecastStep, w.AtRisk()).Seconds()
	}
	if w.Tiers != 0 {
		for t := nodes.Tier(0); t < nodes.NumTiers; t++ {
			if w.Tiers.Has(t) {
				wl.Tiers = append(wl.Tiers, t.String())
			}
		}
	}
	if len(wl.Tiers) == 0 {
		wl.Tiers = nil
	}
	if w.Sites != nil {
		for i := 0; i < w.Sites.Len(); i++ {
			if w.Sites.Has(i) {
				wl.Sites = append(wl.Sites, st.Site(i).ID)
			}
		}
	}
	if len(wl.Sites) == 0 {
		wl.Sites = nil
	}
	r.Workload = wl
	p.energy(snap)
	r.Candidates = r.Candidates[:0]
	for _, f := range p.feas {
		c := Candidate{Site: st.Site(f.Site).ID, RTTMs: f.RTTMs, Late: f.Late, TransferS: f.Transfer.Seconds(),
			Free: res(st.SiteCapacity(f.Site).Sub(st.SiteUsed(f.Site))), NodeMaxFree: res(st.SiteMaxFree(f.Site))}
		r.Candidates = append(r.Candidates, c)
	}
}

// energy puts into p.req the sites whose signals changed since the last
// request (every site the first time).
func (p *Policy) energy(snap *scheduler.Snapshot) {
	r := &p.req
	r.Energy = r.Energy[:0]
	r.ForecastStartS = nil
	n := len(snap.Energy)
	if !p.sentOK {
		p.sentNow = make([]scheduler.Signal, n)
		p.sentPUE = make([]float64, n)
		p.sentFc = make([][]scheduler.Signal, n)
	}
	fcMoved := p.forecast && !snap.ForecastStart.Equal(p.sentFcS)
	for i := range snap.Energy {
		e := &snap.Energy[i]
		changed := !p.sentOK || e.Now != p.sentNow[i] || e.PUE != p.sentPUE[i]
		if p.forecast && !changed {
			changed = fcMoved || !slices.Equal(e.Forecast, p.sentFc[i])
		}
		if !changed {
			continue
		}
		p.sentNow[i], p.sentPUE[i] = e.Now, e.PUE
		se := SiteEnergy{Site: snap.State.Site(i).ID, Signal: signal(&e.Now), PUE: e.PUE}
		if p.forecast {
			p.sentFc[i] = append(p.sentFc[i][:0], e.Forecast...)
			se.Forecast = make([]Signal, len(e.Forecast))
			for k := range e.Forecast {
				se.Forecast[k] = signal(&e.Forecast[k])
			}
		}
		r.Energy = append(r.Energy, se)
	}
	p.sentOK = true
	if p.forecast && len(r.Energy) > 0 {
		p.sentFcS = snap.ForecastStart
		s := p.seconds(snap.ForecastStart)
		r.ForecastStartS = &s
	}
}

func signal(s *scheduler.Signal) Signal {
	return Signal{Price: s.PriceCNYPerKWh, Carbon: s.CarbonKgPerKWh, HeadroomKW: s.RenewableHeadroomKW,
		ContractKW: s.ContractHeadroomKW, ContractPrice: s.ContractPriceCNYPerKWh}
}

func res(r nodes.Resources) Resources {
	return Resources{CPUMilli: r.CPUMilli, MemoryMiB: r.MemoryMiB, GPUMilli: r.GPUMilli}
}

// state is the answer to a query.
func (p *Policy) state(snap *scheduler.Snapshot) *State {
	st := snap.State
	out := &State{Type: TypeState, Seq: p.seq, Sites: make([]SiteState, st.NumSites())}
	for i := range out.Sites {
		out.Sites[i] = SiteState{Site: st.Site(i).ID, UpNodes: st.SiteUpNodes(i), Capacity: res(st.SiteCapacity(i)),
			Used: res(st.SiteUsed(i)), NodeMaxFree: res(st.SiteMaxFree(i))}
	}
	return out
}

// send writes v as one line, by the deadline.
func (p *Policy) send(v any, deadline time.Time) error {
	p.buf.Reset()
	if err := p.enc.Encode(v); err != nil {
		return err
	}
	if err := p.stdin.SetWriteDeadline(deadline); err != nil {
		return err
	}
	if _, err := p.stdin.Write(p.buf.Bytes()); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("the child did not read it within %v", p.spec.Timeout)
		}
		return p.gone(err)
	}
	return nil
}

// readLine reads the child's next line, by the deadline.
func (p *Policy) readLine(deadline time.Time) ([]byte, error) {
	if err := p.stdout.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	var line []byte
	for {
		chunk, err := p.in.ReadSlice('\n')
		if len(line)+len(chunk) > maxLine {
			return nil, fmt.Errorf("a line longer than %d bytes", maxLine)
		}
		switch {
		case err == nil:
			if line == nil {
				return chunk, nil // valid until the next read
			}
			return append(line, chunk...), nil
		case errors.Is(err, bufio.ErrBufferFull):
			line = append(line, chunk...)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, fmt.Errorf("no reply within %v (--external-timeout)", p.spec.Timeout)
		default:
			return nil, p.gone(err)
		}
	}
}

// gone explains a broken pipe or end of file: the child exited (how) or
// closed its end.
func (p *Policy) gone(err error) error {
	select {
	case <-p.exited:
	case <-time.After(2 * time.Second):
		return fmt.Errorf("the child closed its stdout or stdin (%v) but is still running", err)
	}
	how := "exited (exit status 0)"
	if p.waitErr != nil {
		how = "exited (" + p.waitErr.Error() + ")"
	}
	return fmt.Errorf("the process %s without replying%s", how, p.tail.quote())
}

// decodeStrict decodes one JSON object from line, refusing unknown
// fields and trailing data.
func decodeStrict(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not a protocol message (%v): %s", err, quoteLine(line))
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value on a line: %s", quoteLine(line))
	}
	return nil
}

func quoteLine(b []byte) string {
	s := strings.TrimRight(string(b), "\r\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return fmt.Sprintf("%q", s)
}

func (p *Policy) errorf(format string, args ...any) error {
	return fmt.Errorf("external policy %s (%s): %w", p.name, p.cmdLine, fmt.Errorf(format, args...))
}

func (p *Policy) workErr(w *scheduler.Workload, now time.Time, format string, args ...any) error {
	return p.errorf("workload %s (request %d, at %v into the run): %w", w.ID, p.seq, now.Sub(p.run.Start), fmt.Errorf(format, args...))
}

// fail records the policy's failure and stops the child at once (it may
// hang, or write more garbage).
func (p *Policy) fail(err error) {
	p.err = err
	if !p.closed {
		p.kill()
	}
}

// Err implements scheduler.Failer: the first failure, or nil.
func (p *Policy) Err() error { return p.err }

// Decisions is how many requests the child was sent.
func (p *Policy) Decisions() int64 { return p.decided }

// Close implements scheduler.Closer: it closes the child's stdin (the
// child exits at end of file) and waits for it up to 2 s, then kills it.
// It returns an error if the child had to be killed or exited with a
// failure after a run without one.
func (p *Policy) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(2 * time.Second):
		p.kill()
		p.stdout.Close()
		if p.err != nil {
			return nil
		}
		return p.errorf("did not exit within 2 s of the end of its input: killed")
	}
	p.stdout.Close()
	if p.waitErr != nil && p.err == nil {
		return p.errorf("exited with %v at the end of the run%s", p.waitErr, p.tail.quote())
	}
	return nil
}

// kill stops the child and waits for it.
func (p *Policy) kill() {
	p.closed = true
	p.cmd.Process.Kill()
	<-p.exited
	p.stdin.Close()
	p.stdout.Close()
}

// tailWriter keeps the last bytes of the child's stderr for errors.
type tailWriter struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 1024

func (t *tailWriter) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(b), nil
}

// quote is ": its stderr ended: "…"" or "".
func (t *tailWriter) quote() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return ""
	}
	return fmt.Sprintf("; its stderr ended: %q", s)
}
