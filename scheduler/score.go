package scheduler

import (
	"fmt"
	"math"

	"github.com/suanli/suanli/nodes"
)

// Scorer identifies a scoring term. Every term is normalised to [0,1],
// higher is better, and weighted by the policy.
type Scorer uint8

const (
	// ScoreLatency prefers sites close to the origin: 1 − RTT/reference,
	// where the reference is the latency bound or the largest RTT.
	ScoreLatency Scorer = iota
	// ScoreCost prefers cheap energy now: 1 − price·PUE·(1−covered)/max,
	// where covered is the share of the work's power that renewable
	// headroom supplies.
	ScoreCost
	// ScoreCarbon prefers low-carbon energy now, like ScoreCost with the
	// grid carbon intensity in place of the price.
	ScoreCarbon
	// ScoreBinPack prefers fuller sites (utilisation after placing).
	ScoreBinPack
	// ScoreSpread prefers emptier sites (1 − utilisation after placing).
	ScoreSpread
	// NumScorers is the number of scoring terms.
	NumScorers
)

// Decide sums the five weighted terms without a loop; these fail to
// compile if the number of scorers changes.
var (
	_ [NumScorers - 5]struct{}
	_ [5 - NumScorers]struct{}
)

var scorerNames = [NumScorers]string{"latency", "cost", "carbon", "binpack", "spread"}

func (s Scorer) String() string {
	if s < NumScorers {
		return scorerNames[s]
	}
	return fmt.Sprintf("scorer(%d)", uint8(s))
}

// ScorerNames lists the scorer names in order.
func ScorerNames() []string { return append([]string(nil), scorerNames[:]...) }

// Weights weight each scorer; a zero weight turns the scorer off.
type Weights [NumScorers]float64

// termCtx holds the per-decision constants of the scoring terms, computed
// once so the per-site work is a handful of multiplications.
type termCtx struct {
	snap        *Snapshot
	req         nodes.Resources
	latRefInv   float64 // 1 / latency reference (bound, or the largest RTT)
	cores, gpus float64 // request in cores and whole GPUs
	useMem      bool
	useGPU      bool
	invDims     float64
}

// invDimsOf[n] is 1/n: the utilisation average over the n dimensions a
// request uses (CPU, plus memory and GPU when requested).
var invDimsOf = [4]float64{0, 1, 1.0 / 2, 1.0 / 3}

func (s *Snapshot) newTermCtx(w *Workload) termCtx {
	c := termCtx{snap: s, req: w.Request,
		cores: float64(w.Request.CPUMilli) / 1000, gpus: float64(w.Request.GPUMilli) / 1000,
		useMem: w.Request.MemoryMiB > 0, useGPU: w.Request.GPUMilli > 0}
	ref := w.LatencyBoundMs
	if ref <= 0 {
		ref = s.maxRTTMs
	}
	if ref > 0 {
		c.latRefInv = 1 / ref
	}
	dims := 1
	if c.useMem {
		dims++
	}
	if c.useGPU {
		dims++
	}
	c.invDims = invDimsOf[dims]
	return c
}

// terms computes every (unweighted) scoring term for placing the work at
// site, whose RTT from the origin is rttMs.
func (c *termCtx) terms(site int, rttMs float64, t *[NumScorers]float64) {
	lat, cost, carbon, u := c.parts(site, rttMs)
	t[ScoreLatency], t[ScoreCost], t[ScoreCarbon], t[ScoreBinPack], t[ScoreSpread] = lat, cost, carbon, u, 1-u
}

// parts computes the latency, cost and carbon terms and the utilisation
// after placing (the bin-pack term; spread is 1 minus it).
func (c *termCtx) parts(site int, rttMs float64) (lat, cost, carbon, u float64) {
	// Branch-free where the outcome varies from site to site (min and max
	// compile to conditional moves): a mispredicted branch per site cost
	// more than the arithmetic.
	lat = max(1-rttMs*c.latRefInv, 0)

	// cost and carbon of the work's facility power: free headroom (on-site
	// renewables, storage) covers what it can, then green-power contracts
	// (paid, carbon-free), then the grid
	ec := &c.snap.eco[site]
	ctr, grid := shares(c.cores*ec.kwPerCore+c.gpus*ec.kwPerGPU, ec.headroomKW, ec.freeKW)
	cost = 1 - ec.costN*grid - ec.ctrCostN*ctr
	carbon = 1 - ec.carbonN*grid

	// utilisation after placing, averaged over the dimensions the work uses
	sr := &c.snap.State.sites[site]
	u = float64(sr.upUsed.CPUMilli+c.req.CPUMilli) * sr.invUpCPU
	if c.useMem {
		u += float64(sr.upUsed.MemoryMiB+c.req.MemoryMiB) * sr.invUpMem
	}
	if c.useGPU {
		u += float64(sr.upUsed.GPUMilli+c.req.GPUMilli) * sr.invUpGPU
	}
	u = min(u*c.invDims, 1)
	return lat, cost, carbon, u
}

// siteTerms computes every (unweighted) scoring term for placing w at site.
// Decide uses the same code through a termCtx built once per decision.
func (s *Snapshot) siteTerms(w *Workload, site int, rttMs float64, t *[NumScorers]float64) {
	c := s.newTermCtx(w)
	c.terms(site, rttMs, t)
}

// nodeFitScore is Nomad-style best-fit ("BestFit v3" from Google's work) on
// one node after placing req: 20 − (10^freeCPU + 10^freeMem) clamped to
// [0,18] and scaled to [0,1], where free* are the free fractions left. CPU
// work on a GPU node is halved so GPU servers stay free for GPU work.
func nodeFitScore(n *nodeRec, req nodes.Resources) float64 {
	fc, fm := freeAfter(n, req)
	v := 20 - (pow10frac(fc) + pow10frac(fm))
	if v < 0 {
		v = 0
	} else if v > 18 {
		v = 18
	}
	v /= 18
	if req.GPUMilli == 0 && n.capacity.gpu > 0 {
		v *= 0.5
	}
	return v
}

// freeAfter is the free CPU and memory fractions left on n after placing
// req (0 for a dimension the node does not have).
func freeAfter(n *nodeRec, req nodes.Resources) (fc, fm float64) {
	if c := int64(n.capacity.cpu); c > 0 {
		fc = float64(c-int64(n.used.cpu)-req.CPUMilli) / float64(c)
	}
	if m := int64(n.capacity.mem); m > 0 {
		fm = float64(m-int64(n.used.mem)-req.MemoryMiB) / float64(m)
	}
	return fc, fm
}

// pow10Table holds 10^(i/pow10Steps) for i in [0, pow10Steps].
const pow10Steps = 512

var pow10Table = func() (t [pow10Steps + 2]float64) {
	for i := range t {
		t[i] = math.Pow(10, float64(i)/pow10Steps)
	}
	return t
}()

// pow10frac returns 10^x for x in [0,1] by linear interpolation in a table
// (relative error below 1e-5; exact at the ends), clamping x to [0,1].
func pow10frac(x float64) float64 {
	if x <= 0 {
		return 1
	}
	if x >= 1 {
		return 10
	}
	f := x * pow10Steps
	i := int(f)
	return pow10Table[i] + (pow10Table[i+1]-pow10Table[i])*(f-float64(i))
}

// nodeSpreadScore is the free fraction left on the node after placing req
// (worst fit), averaged over CPU and memory, halved for CPU work on GPU
// nodes.
func nodeSpreadScore(n *nodeRec, req nodes.Resources) float64 {
	fc, fm := freeAfter(n, req)
	v := (fc + fm) / 2
	if req.GPUMilli == 0 && n.capacity.gpu > 0 {
		v *= 0.5
	}
	return v
}
