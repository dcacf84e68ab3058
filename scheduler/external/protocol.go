package external

// Version is the protocol version this package speaks. A child answers
// the hello with the version it speaks; any other is an error.
const Version = 1

// Message types ("type" of every line).
const (
	TypeHello  = "hello"  // simulator → child, first line
	TypeReady  = "ready"  // child → simulator, answers hello
	TypeDecide = "decide" // simulator → child, one per decision
	TypePlace  = "place"  // child → simulator
	TypeDefer  = "defer"  // child → simulator
	TypeReject = "reject" // child → simulator
	TypeQuery  = "query"  // child → simulator, before its answer to a decide
	TypeState  = "state"  // simulator → child, answers query
)

// Resources is a request, a capacity or free room: CPU in thousandths of
// a core, memory in MiB, GPU in thousandths of a GPU.
type Resources struct {
	CPUMilli  int64 `json:"cpu_milli"`
	MemoryMiB int64 `json:"memory_mib"`
	GPUMilli  int64 `json:"gpu_milli"`
}

// Hello is the first line the simulator writes: the run and its sites,
// sent once (requests name sites by ID and never resend the topology).
type Hello struct {
	Type     string `json:"type"`
	Protocol int    `json:"protocol"`
	// Policy is the policy's name as the run knows it ("external:NAME").
	Policy   string `json:"policy"`
	Scenario string `json:"scenario"`
	// Seed is the run's seed: a child that draws random numbers seeds
	// from it, so the run stays reproducible.
	Seed uint64 `json:"seed"`
	// Start is time 0 of the run (RFC 3339); every *_s time in requests
	// is seconds after it.
	Start string `json:"start"`
	// ForecastStepS is the step of the forecasts in seconds.
	ForecastStepS float64 `json:"forecast_step_s"`
	// Cities are the origin cities, in the order workloads' origins
	// index them (a workload names its origin by code).
	Cities []string   `json:"cities"`
	Sites  []SiteInfo `json:"sites"`
	// Options are the policy's own options as configured (--external-options
	// or Spec.Options); {} when none.
	Options map[string]any `json:"options"`
}

// SiteInfo is a site as the hello describes it.
type SiteInfo struct {
	ID   string  `json:"id"`
	Tier string  `json:"tier"`
	City string  `json:"city"`
	PUE  float64 `json:"pue"`
	// Nodes is how many nodes the site has; Capacity their sum.
	Nodes    int       `json:"nodes"`
	Capacity Resources `json:"capacity"`
	// MarginalWPerCore and MarginalWPerGPU are the IT watts one allocated
	// core or whole GPU adds there: a request's facility kW is
	// (cores·W/core + GPUs·W/GPU)·PUE/1000.
	MarginalWPerCore float64 `json:"marginal_w_per_core"`
	MarginalWPerGPU  float64 `json:"marginal_w_per_gpu"`
}

// Ready is the child's answer to the hello.
type Ready struct {
	Type     string `json:"type"`
	Protocol int    `json:"protocol"`
	// Forecast asks for each site's forecast with its energy signals.
	Forecast bool `json:"forecast,omitempty"`
	// Error, when set, refuses the run (bad options, say): the policy
	// fails with it.
	Error string `json:"error,omitempty"`
}

// Request asks for one decision.
type Request struct {
	Type string `json:"type"`
	// Seq numbers the requests from 1; the reply echoes it.
	Seq   int64   `json:"seq"`
	TimeS float64 `json:"time_s"`
	// Workload is the work to decide; its ID is echoed in the reply. The
	// same workload may be decided again (deferred, waiting for
	// capacity, interrupted), each time with a new Seq.
	Workload Workload `json:"workload"`
	// Energy lists the sites whose energy signals (or forecast, if asked
	// for) changed since the previous request, every site in the first
	// one: the child keeps the latest per site. They change once per
	// accounting interval (15 minutes by default).
	Energy []SiteEnergy `json:"energy,omitempty"`
	// ForecastStartS is when the forecasts' first step starts (with
	// Energy, when the child asked for forecasts).
	ForecastStartS *float64 `json:"forecast_start_s,omitempty"`
	// Candidates are the sites the core's filters left, nearest first;
	// never empty (with no feasible site the core rejects the work without
	// asking).
	Candidates []Candidate `json:"candidates"`
}

// Workload is the work a request asks about.
type Workload struct {
	ID    string `json:"id"`
	Class string `json:"class"`
	// Origin is the city code the work comes from.
	Origin    string  `json:"origin"`
	CPUMilli  int64   `json:"cpu_milli"`
	MemoryMiB int64   `json:"memory_mib"`
	GPUMilli  int64   `json:"gpu_milli,omitempty"`
	DurationS float64 `json:"duration_s"`
	// DeadlineS is the latest completion (absent: none).
	DeadlineS *float64 `json:"deadline_s,omitempty"`
	// DeferSlackS is the slack the built-in window policies keep before
	// the latest start (deadline − transfer − duration) when they defer
	// (with a deadline only); a hint, the protocol checks only the
	// deadline itself.
	DeferSlackS    float64 `json:"defer_slack_s,omitempty"`
	LatencyBoundMs float64 `json:"latency_bound_ms,omitempty"`
	Priority       int     `json:"priority,omitempty"`
	InputMB        float64 `json:"input_mb,omitempty"`
	CheckpointS    float64 `json:"checkpoint_s,omitempty"`
	// Tiers and Sites are the allowed tiers and sites (absent: any); the
	// candidates already respect them.
	Tiers []string `json:"tiers,omitempty"`
	Sites []string `json:"sites,omitempty"`
}

// Signal is a site's energy situation at one time.
type Signal struct {
	// Price is the grid price in CNY/kWh; Carbon the grid intensity in
	// kg CO2/kWh.
	Price  float64 `json:"price"`
	Carbon float64 `json:"carbon"`
	// HeadroomKW is how much more facility load renewables, storage and
	// green-power contracts could cover; ContractKW the part of it the
	// contracts supply (carbon-free, paid at ContractPrice).
	HeadroomKW    float64 `json:"headroom_kw"`
	ContractKW    float64 `json:"contract_kw,omitempty"`
	ContractPrice float64 `json:"contract_price,omitempty"`
}

// SiteEnergy is a site's energy signals now (and forecast, if asked).
type SiteEnergy struct {
	Site string `json:"site"`
	Signal
	PUE float64 `json:"pue"`
	// Forecast holds the expected signals of the steps from the request's
	// ForecastStartS, ForecastStepS apart.
	Forecast []Signal `json:"forecast,omitempty"`
}

// Candidate is a feasible site.
type Candidate struct {
	Site  string  `json:"site"`
	RTTMs float64 `json:"rtt_ms"`
	// Late is set when the work cannot finish there by its deadline
	// (placing it there is allowed; the decision is then late).
	Late bool `json:"late,omitempty"`
	// TransferS is how long the input takes to get there (with a
	// deadline only).
	TransferS float64 `json:"transfer_s,omitempty"`
	// Free is the free room of the site's up nodes together;
	// NodeMaxFree the largest free room of any one of them, per
	// dimension (a request that fits it may still fit no single node).
	Free        Resources `json:"free"`
	NodeMaxFree Resources `json:"node_max_free"`
}

// Reply is the child's answer to a request: place, defer or reject, or
// first a query for the full state of the sites.
type Reply struct {
	Type string `json:"type"`
	Seq  int64  `json:"seq"`
	// ID is the workload's ID, echoed.
	ID string `json:"id"`
	// Sites (place) are the sites to try in order: the work runs at the
	// first where one node has room for it, on the node the core's
	// best-fit rule picks. Each must be a candidate.
	Sites []string `json:"sites,omitempty"`
	// UntilS (defer) is when to decide the work again; it must be after
	// the request's time and leave the work time to finish by its
	// deadline (UntilS + transfer to Site, if named, + duration ≤
	// deadline).
	UntilS *float64 `json:"until_s,omitempty"`
	// Site (defer, optional) is where the child expects to run the work.
	Site string `json:"site,omitempty"`
	// Reason says why (reject: recorded in explanations; optional for the
	// others).
	Reason string `json:"reason,omitempty"`
	// What (query) is what to send: "sites".
	What string `json:"what,omitempty"`
}

// State answers a query: every site's state now.
type State struct {
	Type  string      `json:"type"`
	Seq   int64       `json:"seq"`
	Sites []SiteState `json:"sites"`
}

// SiteState is a site's full state: its up nodes' capacity and use.
type SiteState struct {
	Site        string    `json:"site"`
	UpNodes     int       `json:"up_nodes"`
	Capacity    Resources `json:"capacity"`
	Used        Resources `json:"used"`
	NodeMaxFree Resources `json:"node_max_free"`
}
