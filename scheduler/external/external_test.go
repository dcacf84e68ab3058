package external

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/suanli/suanli/nodes"
	"github.com/suanli/suanli/scheduler"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// helperEnv selects the test binary's role as a child: the standard
// os/exec helper-process pattern (TestHelperProcess).
const (
	helperEnv = "SUANLI_EXTERNAL_HELPER"
	recordEnv = "SUANLI_EXTERNAL_RECORD"
)

var t0 = time.Date(2025, 4, 7, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

// helper is the Spec of the test binary as a child in mode.
func helper(t testing.TB, mode string, env ...string) Spec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Command: []string{exe, "-test.run=^TestHelperProcess$"}, Env: append([]string{helperEnv + "=" + mode}, env...), Timeout: 5 * time.Second}
}

func fixture(t testing.TB) (*scheduler.Snapshot, []nodes.City) {
	t.Helper()
	cities := nodes.ShandongCities()
	var topo nodes.Topology
	add := func(id, city string, role nodes.Role, pue float64, caps ...nodes.Resources) {
		ci, err := nodes.LookupCity(cities, city)
		if err != nil {
			t.Fatal(err)
		}
		c := cities[ci]
		topo.Sites = append(topo.Sites, nodes.Site{ID: id, City: c.Code, Lat: c.Lat, Lon: c.Lon, Tier: role.Tier(), Role: role, PUE: pue})
		for k, r := range caps {
			topo.Nodes = append(topo.Nodes, nodes.Node{ID: fmt.Sprintf("%s-%d", id, k), Site: len(topo.Sites) - 1, Capacity: r})
		}
	}
	small := nodes.Resources{CPUMilli: 16000, MemoryMiB: 65536}
	add("jn-core", "JN", nodes.RoleCoreZone, 1.25, nodes.CPUServer, nodes.CPUServer, nodes.GPUServer)
	add("qd-core", "QD", nodes.RoleProvincial, 1.2, nodes.CPUServer, nodes.CPUServer)
	add("x-jn", "JN", nodes.RoleEdge, 1.6, small, small)
	st, err := scheduler.NewState(&topo)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := nodes.NewLatencyTable(nodes.DefaultLatencyModel(), cities, topo.Sites)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := scheduler.NewSnapshot(st, lt, cities)
	if err != nil {
		t.Fatal(err)
	}
	for i := range snap.Energy {
		snap.Energy[i].Now = scheduler.Signal{PriceCNYPerKWh: 0.5 + 0.1*float64(i), CarbonKgPerKWh: 0.6 - 0.1*float64(i), RenewableHeadroomKW: 2 * float64(i)}
		snap.Energy[i].Forecast = []scheduler.Signal{{PriceCNYPerKWh: 0.3, CarbonKgPerKWh: 0.4}, {PriceCNYPerKWh: 0.35, CarbonKgPerKWh: 0.45}}
	}
	snap.ForecastStart = t0
	snap.Refresh()
	return snap, cities
}

func start(t testing.TB, spec Spec) (*Policy, *scheduler.Snapshot, []nodes.City) {
	t.Helper()
	snap, cities := fixture(t)
	p, err := Start(spec, Run{Policy: Prefix + "test", Scenario: "tiny", Seed: 42, Start: t0, Cities: cities, Snapshot: snap})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, snap, cities
}

func origin(t testing.TB, cities []nodes.City, code string) int {
	i, err := nodes.LookupCity(cities, code)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func batch(cities []nodes.City, t testing.TB) scheduler.Workload {
	return scheduler.Workload{ID: "etl-0", Class: "etl", Origin: origin(t, cities, "JN"), Request: nodes.Resources{CPUMilli: 4000, MemoryMiB: 8192},
		Duration: time.Hour, Deadline: t0.Add(6 * time.Hour), Priority: 1}
}

// TestProtocolRoundTrip: the hello, a request and the state a query gets,
// as the child receives them, are byte for byte the golden files (the
// documented format), and the child's reply (a query, then a place at
// two sites) turns into the decision it asks for.
func TestProtocolRoundTrip(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "received.jsonl")
	p, snap, cities := start(t, helper(t, "query-record", recordEnv+"="+rec))
	w := batch(cities, t)
	d := p.Decide(snap, &w, t0.Add(90*time.Minute), nil, nil)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	// the child asked for the state, then placed at qd-core, then jn-core
	if d.Outcome != scheduler.Place || snap.State.Site(d.Site).ID != "qd-core" || snap.State.NodeSite(d.Node) != d.Site {
		t.Fatalf("decision %+v, want a node at qd-core", d)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 3 {
		t.Fatalf("child received %d lines, want hello, decide, state:\n%s", len(lines), got)
	}
	for i, name := range []string{"hello", "decide", "state"} {
		golden(t, name+".jsonl", []byte(lines[i]+"\n"))
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// TestEnergyIsSentWhenItChanges: the first request carries every site's
// energy, the next none, one after a change only the changed site's.
func TestEnergyIsSentWhenItChanges(t *testing.T) {
	p, snap, cities := start(t, helper(t, "first"))
	w := batch(cities, t)
	var counts []int
	for i := 0; i < 3; i++ {
		if i == 2 {
			snap.Energy[1].Now.CarbonKgPerKWh = 0.1
			snap.Refresh()
		}
		w.ID = fmt.Sprintf("etl-%d", i)
		d := p.Decide(snap, &w, t0.Add(time.Duration(i)*time.Minute), nil, nil)
		if err := p.Err(); err != nil {
			t.Fatal(err)
		}
		if d.Outcome != scheduler.Place {
			t.Fatalf("decision %d: %+v", i, d)
		}
		counts = append(counts, len(p.req.Energy))
	}
	if fmt.Sprint(counts) != "[3 0 1]" || p.req.Energy[0].Site != "qd-core" {
		t.Fatalf("energy entries per request %v (last %+v), want [3 0 1] with qd-core last", counts, p.req.Energy)
	}
}

// TestForecastWhenAskedFor: a child that asks for forecasts in its ready
// gets every site's with the first request (Serve keeps them), and again
// only when they change.
func TestForecastWhenAskedFor(t *testing.T) {
	p, snap, cities := start(t, helper(t, "forecast"))
	w := batch(cities, t)
	for i := 0; i < 3; i++ {
		if i == 2 {
			snap.Energy[2].Forecast[0].CarbonKgPerKWh = 0.2
			snap.Refresh()
		}
		if d := p.Decide(snap, &w, t0, nil, nil); d.Outcome != scheduler.Place || p.Err() != nil {
			t.Fatalf("decision %d: %+v %v", i, d, p.Err())
		}
		want := []int{3, 0, 1}[i]
		if len(p.req.Energy) != want || (want > 0) != (p.req.ForecastStartS != nil) {
			t.Fatalf("request %d: %d sites' energy (forecast start %v), want %d", i+1, len(p.req.Energy), p.req.ForecastStartS, want)
		}
	}
}

// TestFailures: every way a child can break the protocol fails the policy
// with an error naming the policy, the workload (once a decision is
// under way) and what was wrong, in bounded time, without a panic.
func TestFailures(t *testing.T) {
	cases := []struct {
		mode    string
		timeout time.Duration
		late    bool   // the request has a deadline too close to defer
		atStart bool   // fails in Start
		want    string // in the error
	}{
		{mode: "crash", want: "exited (exit status 3) without replying; its stderr ended: \"boom: the policy crashed\""},
		{mode: "hang", timeout: 300 * time.Millisecond, want: "no reply within 300ms"},
		{mode: "garbage", want: `reply: not a protocol message (invalid character 'h' looking for beginning of value): "hello world"`},
		{mode: "unknown-field", want: `json: unknown field "sitez"`},
		{mode: "two-values", want: "more than one JSON value on a line"},
		{mode: "wrong-id", want: `reply is for request 1, workload "etl-9"; the request was 1, workload "etl-0"`},
		{mode: "wrong-seq", want: `reply is for request 7, workload "etl-0"; the request was 1, workload "etl-0"`},
		{mode: "unknown-site", want: `place names site "atlantis", not a site of scenario tiny`},
		{mode: "infeasible-site", want: `place names site "x-jn", which is not feasible for this workload (the candidates were jn-core, qd-core)`},
		{mode: "duplicate-site", want: `place names site "jn-core" twice`},
		{mode: "no-site", want: "place names no site"},
		{mode: "defer-late", want: "misses the deadline: until_s + transfer 0 s + duration 3600 s = 23400 s > deadline_s 21600"},
		{mode: "defer-past", want: "defer until_s 60 is not after the request's time_s 60"},
		{mode: "defer-no-deadline", late: true, want: "defer of work without a deadline"},
		{mode: "bad-type", want: `reply type "maybe"; want place, defer, reject or query`},
		{mode: "two-queries", want: "second query for the same request"},
		{mode: "bad-version", atStart: true, want: "speaks protocol version 2, this simulator speaks 1"},
		{mode: "refuse", atStart: true, want: "refused the run: option greed must be a number"},
		{mode: "no-ready", atStart: true, want: "waiting for ready: the process exited (exit status 0) without replying"},
		{mode: "silent-start", timeout: 300 * time.Millisecond, atStart: true, want: "no reply within"},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			t0w := time.Now()
			spec := helper(t, c.mode)
			if c.timeout > 0 {
				spec.Timeout = c.timeout
			}
			snap, cities := fixture(t)
			run := Run{Policy: Prefix + "test", Scenario: "tiny", Seed: 1, Start: t0, Cities: cities, Snapshot: snap}
			if c.mode == "silent-start" {
				// the handshake waits max(timeout, DefaultStartTimeout):
				// shorten it for the test through a tiny start timeout
				defer func(d time.Duration) { startTimeout = d }(startTimeout)
				startTimeout = 300 * time.Millisecond
			}
			p, err := Start(spec, run)
			if c.atStart {
				if err == nil {
					p.Close()
					t.Fatal("Start succeeded")
				}
				checkErr(t, err, c.want, false)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			w := batch(cities, t)
			w.Request.CPUMilli = 20000 // too big for x-jn: two candidates
			if c.late {
				w.Deadline = time.Time{}
			}
			d := p.Decide(snap, &w, t0.Add(time.Minute), nil, nil)
			if d.Outcome != scheduler.Reject || d.Reason != scheduler.FilterPolicy {
				t.Errorf("decision after a failure %+v, want reject for reason policy", d)
			}
			checkErr(t, p.Err(), c.want, true)
			// later decisions fail at once, with the first error
			if d := p.Decide(snap, &w, t0.Add(2*time.Minute), nil, nil); d.Outcome != scheduler.Reject {
				t.Errorf("decision after the failure: %+v", d)
			}
			if err := p.Close(); err != nil {
				t.Errorf("Close after a failure: %v", err)
			}
			if el := time.Since(t0w); el > 8*time.Second {
				t.Errorf("took %v", el)
			}
		})
	}
}

func checkErr(t *testing.T, err error, want string, workload bool) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "external policy external:test (") || !strings.Contains(msg, "-test.run=^TestHelperProcess$): ") {
		t.Errorf("error does not name the policy and its command first: %s", msg)
	}
	if workload && !strings.Contains(msg, "workload etl-0 (request 1, at 1m0s into the run): ") {
		t.Errorf("error does not name the workload, request and time: %s", msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("error %q\ndoes not say %q", msg, want)
	}
}

// TestCloseKillsAChildThatStays: a child that ignores the end of its
// input is killed, and Close says so; one that exits with a failure at
// the end of the run is reported.
func TestCloseKillsAChildThatStays(t *testing.T) {
	for mode, want := range map[string]string{
		"stay":        "did not exit within 2 s of the end of its input: killed",
		"exit-at-end": "exited with exit status 1 at the end of the run; its stderr ended: \"bye\"",
	} {
		t.Run(mode, func(t *testing.T) {
			p, snap, cities := start(t, helper(t, mode))
			w := batch(cities, t)
			if d := p.Decide(snap, &w, t0, nil, nil); d.Outcome != scheduler.Place || p.Err() != nil {
				t.Fatalf("%+v %v", d, p.Err())
			}
			err := p.Close()
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Close: %v, want %q", err, want)
			}
		})
	}
}

// TestPlaceFallsThroughAndDefers: a place at a site with no node left
// falls to the next site named; a reply naming only full sites makes
// the work wait (transient capacity); a deferral within the deadline is
// a Defer at that time and site; a reject is reason "policy"; with no
// feasible site the child is not asked.
func TestPlaceFallsThroughAndDefers(t *testing.T) {
	p, snap, cities := start(t, helper(t, "script"))
	w := batch(cities, t)
	// script: request 1 → place x-jn, then jn-core. x-jn passes the
	// filters (its largest free CPU and memory cover the request) but
	// they sit on different nodes: one has 2 cores free, the other 1 GiB.
	xjn := snap.State.SiteIndex("x-jn")
	xn := snap.State.SiteNodes(xjn)
	if err := snap.State.Allocate(int(xn[0]), nodes.Resources{CPUMilli: 14000}); err != nil {
		t.Fatal(err)
	}
	if err := snap.State.Allocate(int(xn[1]), nodes.Resources{MemoryMiB: 65536 - 1024}); err != nil {
		t.Fatal(err)
	}
	d := p.Decide(snap, &w, t0, nil, nil)
	if p.Err() != nil || d.Outcome != scheduler.Place || snap.State.Site(d.Site).ID != "jn-core" {
		t.Fatalf("request 1: %+v %v", d, p.Err())
	}
	// request 2 → defer to 2 h at qd-core
	d = p.Decide(snap, &w, t0, nil, nil)
	if p.Err() != nil || d.Outcome != scheduler.Defer || !d.NotBefore.Equal(t0.Add(2*time.Hour)) || snap.State.Site(d.Site).ID != "qd-core" {
		t.Fatalf("request 2: %+v %v", d, p.Err())
	}
	// request 3 → reject
	d = p.Decide(snap, &w, t0, nil, nil)
	if p.Err() != nil || d.Outcome != scheduler.Reject || d.Reason != scheduler.FilterPolicy {
		t.Fatalf("request 3: %+v %v", d, p.Err())
	}
	// nothing feasible: not asked (the script would fail on request 4
	// being anything but the 16-core job)
	huge := w
	huge.Request.CPUMilli = 1_000_000
	d = p.Decide(snap, &huge, t0, nil, nil)
	if p.Err() != nil || d.Outcome != scheduler.Reject || d.Reason != scheduler.FilterCapacity || p.Decisions() != 3 {
		t.Fatalf("infeasible: %+v %v after %d requests", d, p.Err(), p.Decisions())
	}
	// request 4 → place x-jn only: no node there has room, so the work
	// waits for capacity (a transient rejection), not an error
	w4 := w
	w4.ID = "etl-4"
	d = p.Decide(snap, &w4, t0, nil, nil)
	if p.Err() != nil || d.Outcome != scheduler.Reject || d.Reason != scheduler.FilterCapacity {
		t.Fatalf("request 4: %+v %v", d, p.Err())
	}
}

// TestExplain: with an explanation, the filters' counts, the candidates
// and the child's reason are recorded, and why-not answers name the
// chosen site.
func TestExplain(t *testing.T) {
	p, snap, cities := start(t, helper(t, "first"))
	w := batch(cities, t)
	w.Request.CPUMilli = 20000
	ex := &scheduler.Explanation{WhyNotSites: []int{snap.State.SiteIndex("qd-core"), snap.State.SiteIndex("x-jn")}}
	d := p.Decide(snap, &w, t0, nil, ex)
	if p.Err() != nil || d.Outcome != scheduler.Place {
		t.Fatalf("%+v %v", d, p.Err())
	}
	out := ex.String()
	for _, want := range []string{"policy external:test", "decision: place on node jn-core-", "capacity: removed 1 sites", "feasible: 2 sites",
		"note: the external policy's reply: place at the first of jn-core with room (first candidate)",
		"why not site qd-core: [none] feasible; policy external:test picks the site its own rule chose",
		"why not site x-jn: [capacity]"} {
		if !strings.Contains(out, want) {
			t.Errorf("explanation lacks %q:\n%s", want, out)
		}
	}
}

// TestHelperProcess is the child the tests start (not a test itself).
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("only run as a child process")
	}
	os.Exit(child(mode))
}

func child(mode string) int {
	in := bufio.NewReader(os.Stdin)
	out := os.Stdout
	readLine := func() []byte {
		l, err := in.ReadBytes('\n')
		if err != nil {
			return nil
		}
		return l
	}
	write := func(s string) { fmt.Fprintln(out, s) }
	switch mode {
	case "no-ready":
		return 0
	case "silent-start":
		readLine()
		time.Sleep(time.Minute)
		return 0
	case "bad-version":
		readLine()
		write(`{"type":"ready","protocol":2}`)
		readLine()
		return 0
	case "greedy-green":
		return serveWith(ServeOptions{}, HandlerFunc(GreedyGreen))
	case "forecast":
		// places only when every site's forecast arrived, rejects otherwise
		return serveWith(ServeOptions{Forecast: true}, HandlerFunc(func(s *Session, r *Request) Reply {
			for _, e := range s.Energy {
				if len(e.Forecast) != 2 || e.Forecast[1].Carbon != 0.45 || s.ForecastStartS != 0 {
					return s.Reject(r, fmt.Sprintf("forecast of %s: %+v from %v", e.Site, e.Forecast, s.ForecastStartS))
				}
			}
			return s.Place(r, r.Candidates[0].Site)
		}))
	case "refuse":
		return serveWith(ServeOptions{Start: func(*Hello) error { return fmt.Errorf("option greed must be a number") }}, nil)
	}
	// every other mode answers the hello properly
	if helloSeen = readLine(); helloSeen == nil {
		return 1
	}
	write(`{"type":"ready","protocol":1}`)
	for {
		line := readLine()
		if line == nil {
			switch mode {
			case "stay":
				time.Sleep(time.Minute)
			case "exit-at-end":
				fmt.Fprintln(os.Stderr, "bye")
				return 1
			}
			return 0
		}
		var r Request
		if err := json.Unmarshal(line, &r); err != nil {
			return 2
		}
		ok := func(rep Reply) string {
			rep.Seq, rep.ID = r.Seq, r.Workload.ID
			b, _ := json.Marshal(rep)
			return string(b)
		}
		first := r.Candidates[0].Site
		switch mode {
		case "first", "stay", "exit-at-end":
			write(ok(Reply{Type: TypePlace, Sites: []string{first}, Reason: "first candidate"}))
		case "crash":
			fmt.Fprintln(os.Stderr, "boom: the policy crashed")
			return 3
		case "hang":
			time.Sleep(time.Minute)
		case "garbage":
			write("hello world")
		case "unknown-field":
			write(`{"type":"place","seq":1,"id":"etl-0","sitez":["jn-core"]}`)
		case "two-values":
			write(ok(Reply{Type: TypePlace, Sites: []string{first}}) + " {}")
		case "wrong-id":
			write(`{"type":"place","seq":1,"id":"etl-9","sites":["jn-core"]}`)
		case "wrong-seq":
			write(`{"type":"place","seq":7,"id":"etl-0","sites":["jn-core"]}`)
		case "unknown-site":
			write(ok(Reply{Type: TypePlace, Sites: []string{first, "atlantis"}}))
		case "infeasible-site":
			write(ok(Reply{Type: TypePlace, Sites: []string{"x-jn"}}))
		case "duplicate-site":
			write(ok(Reply{Type: TypePlace, Sites: []string{"jn-core", "qd-core", "jn-core"}}))
		case "no-site":
			write(ok(Reply{Type: TypePlace}))
		case "defer-late", "defer-no-deadline":
			u := 21600 - r.Workload.DurationS + 1800
			if r.Workload.DeadlineS != nil {
				u = *r.Workload.DeadlineS - r.Workload.DurationS + 1800
			}
			write(ok(Reply{Type: TypeDefer, UntilS: &u}))
		case "defer-past":
			u := r.TimeS
			write(ok(Reply{Type: TypeDefer, UntilS: &u}))
		case "bad-type":
			write(ok(Reply{Type: "maybe"}))
		case "two-queries":
			write(ok(Reply{Type: TypeQuery, What: "sites"}))
			readLine()
			write(ok(Reply{Type: TypeQuery, What: "sites"}))
			readLine()
		case "query-record":
			rec := os.Getenv(recordEnv)
			f, err := os.OpenFile(rec, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return 4
			}
			// the hello was read above: ask the parent's test to compare
			// it through the record of this process (written first)
			f.Write(helloSeen)
			f.Write(line)
			write(ok(Reply{Type: TypeQuery, What: "sites"}))
			st := readLine()
			f.Write(st)
			f.Close()
			write(ok(Reply{Type: TypePlace, Sites: []string{"qd-core", "jn-core"}}))
		case "script":
			switch r.Seq {
			case 1:
				write(ok(Reply{Type: TypePlace, Sites: []string{"x-jn", "jn-core"}}))
			case 2:
				u := 7200.0
				write(ok(Reply{Type: TypeDefer, UntilS: &u, Site: "qd-core"}))
			case 3:
				write(ok(Reply{Type: TypeReject, Reason: "not today"}))
			case 4:
				write(ok(Reply{Type: TypePlace, Sites: []string{"x-jn"}}))
			default:
				return 5
			}
		default:
			fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
			return 9
		}
	}
}

// helloSeen is the hello line, kept for the record.
var helloSeen []byte

func serveWith(opt ServeOptions, h Handler) int {
	if err := Serve(os.Stdin, os.Stdout, opt, h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// BenchmarkExternalDecide measures a decision through a child: the core's
// filters, the request written to a pipe, a Go child (this test binary,
// Serve with GreedyGreen) decoding it, ranking the candidates and
// replying, the reply checked and the node chosen by best fit. The
// fixture's three sites keep the messages small; the energy changes every
// 16 decisions, as it changes every accounting interval in a run.
func BenchmarkExternalDecide(b *testing.B) {
	p, snap, cities := start(b, helper(b, "greedy-green"))
	w := batch(cities, b)
	w.Deadline = time.Time{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%16 == 0 {
			snap.Energy[i/16%3].Now.CarbonKgPerKWh += 1e-3
			snap.Refresh()
		}
		d := p.Decide(snap, &w, t0, nil, nil)
		if d.Outcome != scheduler.Place {
			b.Fatalf("%+v %v", d, p.Err())
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}
