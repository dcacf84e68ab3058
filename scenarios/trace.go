package scenarios

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/suanli/suanli/nodes"
)

// TraceRecord is one job of a trace. As returned by ParseSWF and
// ParseAlibabaPods, Submit is the job's trace time; in
// Workload.Records it is the offset from the scenario start, with the
// workload's Trace scaling applied.
type TraceRecord struct {
	// Line is the record's line in the trace file; ID its job id or name.
	Line     int
	ID       string
	Submit   time.Duration
	Duration time.Duration
	// CPUMilli, MemoryMiB and GPUMilli are what one instance requests;
	// CPUMilli is at least 1 (a record asking for less than half a
	// millicore asks for one).
	CPUMilli  int64
	MemoryMiB int64
	GPUMilli  int64
}

// TraceError is a problem on one line of a trace file.
type TraceError struct {
	Line int
	Msg  string
}

func (e *TraceError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// maxTraceErrors bounds the line errors one parse reports.
const maxTraceErrors = 10

// maxTraceLine bounds the length of one trace line.
const maxTraceLine = 64 << 10

// ParseSWF reads a trace in the Standard Workload Format (Parallel
// Workloads Archive): 18 whitespace-separated fields per job, ';' comment
// lines, -1 for unknown. A job's processors are its allocated processors
// (field 5), or the requested ones (field 8) when unknown; each becomes
// coresPerProc cores. Its memory is the requested memory (field 10, KB
// per processor), else the used memory (field 7), else memGiBPerProc.
// Jobs without a known positive run time (field 4) or processor count are
// skipped and counted in skipped.
func ParseSWF(r io.Reader, coresPerProc, memGiBPerProc float64) (recs []TraceRecord, skipped int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxTraceLine)
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, &TraceError{Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, ";") {
			continue
		}
		if len(errs) >= maxTraceErrors {
			errs = append(errs, errors.New("too many errors; stopped"))
			break
		}
		f := strings.Fields(text)
		if len(f) != 18 {
			fail(line, "want 18 whitespace-separated fields (SWF), got %d", len(f))
			continue
		}
		var v [18]float64
		ok := true
		for i, s := range f {
			x, perr := strconv.ParseFloat(s, 64)
			if perr != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				fail(line, "field %d (%s): %q is not a number", i+1, swfFieldNames[i], s)
				ok = false
				break
			}
			v[i] = x
		}
		if !ok {
			continue
		}
		if v[1] < 0 {
			fail(line, "field 2 (submit time) %g must be >= 0", v[1])
			continue
		}
		procs := v[4]
		if procs <= 0 {
			procs = v[7]
		}
		run := v[3]
		if procs <= 0 || run <= 0 {
			skipped++
			continue
		}
		memKB := v[9]
		if memKB <= 0 {
			memKB = v[6]
		}
		memMiB := procs * memGiBPerProc * 1024
		if memKB > 0 {
			memMiB = procs * memKB / 1024
		}
		recs = append(recs, TraceRecord{
			Line:      line,
			ID:        f[0],
			Submit:    secondsToDuration(v[1]),
			Duration:  secondsToDuration(run),
			CPUMilli:  max(1, milli(procs*coresPerProc)), // at least a millicore
			MemoryMiB: int64(math.Ceil(memMiB)),
		})
	}
	if serr := sc.Err(); serr != nil {
		errs = append(errs, &TraceError{Line: line + 1, Msg: serr.Error()})
	}
	return recs, skipped, errors.Join(errs...)
}

var swfFieldNames = [18]string{"job number", "submit time", "wait time", "run time", "allocated processors",
	"average CPU time", "used memory", "requested processors", "requested time", "requested memory",
	"status", "user", "group", "executable", "queue", "partition", "preceding job", "think time"}

// alibabaColumns are the columns ParseAlibabaPods needs.
var alibabaColumns = []string{"name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli", "creation_time", "deletion_time", "scheduled_time"}

// ParseAlibabaPods reads the pods CSV of Alibaba's cluster-trace-gpu-v2023
// (columns by header name: name, cpu_milli, memory_mib, num_gpu,
// gpu_milli, creation_time, deletion_time, scheduled_time; times in
// seconds). A pod arrives at creation_time and runs from scheduled_time
// (creation_time when empty) to deletion_time; it requests num_gpu ×
// gpu_milli milli-GPUs. Pods without a deletion time or with a
// non-positive run time are skipped.
func ParseAlibabaPods(r io.Reader) (recs []TraceRecord, skipped int, err error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, 0, &TraceError{Line: 1, Msg: "empty file; want a header " + strings.Join(alibabaColumns, ",")}
		}
		return nil, 0, csvTraceErr(err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	var missing []string
	for _, c := range alibabaColumns {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		line, _ := cr.FieldPos(0)
		return nil, 0, &TraceError{Line: line, Msg: fmt.Sprintf("header lacks column(s) %s (have: %s)", strings.Join(missing, ", "), strings.Join(header, ","))}
	}
	var errs []error
	for {
		rec, rerr := cr.Read()
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			errs = append(errs, csvTraceErr(rerr))
			var pe *csv.ParseError
			if !errors.As(rerr, &pe) || len(errs) >= maxTraceErrors {
				break
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(errs) >= maxTraceErrors {
			errs = append(errs, errors.New("too many errors; stopped"))
			break
		}
		num := func(name string, empty float64) (float64, bool) {
			s := strings.TrimSpace(rec[col[name]])
			if s == "" {
				return empty, true
			}
			x, perr := strconv.ParseFloat(s, 64)
			if perr != nil || math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				errs = append(errs, &TraceError{Line: line, Msg: fmt.Sprintf("column %s: %q is not a non-negative number", name, s)})
				return 0, false
			}
			return x, true
		}
		cpu, ok1 := num("cpu_milli", 0)
		mem, ok2 := num("memory_mib", 0)
		ngpu, ok3 := num("num_gpu", 0)
		gmilli, ok4 := num("gpu_milli", 0)
		created, ok5 := num("creation_time", -1)
		deleted, ok6 := num("deletion_time", -1)
		sched, ok7 := num("scheduled_time", -1)
		if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) {
			continue
		}
		if created < 0 {
			errs = append(errs, &TraceError{Line: line, Msg: "column creation_time is empty"})
			continue
		}
		start := sched
		if start < 0 {
			start = created
		}
		if deleted < 0 || deleted <= start || cpu <= 0 {
			skipped++
			continue
		}
		recs = append(recs, TraceRecord{
			Line:      line,
			ID:        rec[col["name"]],
			Submit:    secondsToDuration(created),
			Duration:  secondsToDuration(deleted - start),
			CPUMilli:  max(1, int64(math.Round(cpu))), // cpu > 0: at least a millicore
			MemoryMiB: int64(math.Round(mem)),
			GPUMilli:  int64(math.Round(ngpu * gmilli)),
		})
	}
	return recs, skipped, errors.Join(errs...)
}

func csvTraceErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &TraceError{Line: pe.Line, Msg: pe.Err.Error()}
	}
	return err
}

// ReadTrace parses a trace of the given format (TraceFormats).
func ReadTrace(r io.Reader, t *Trace) (recs []TraceRecord, skipped int, err error) {
	switch t.Format {
	case "swf":
		return ParseSWF(r, t.CoresPerProc, t.MemoryGiBPerProc)
	case "alibaba-gpu-pods":
		return ParseAlibabaPods(r)
	}
	return nil, 0, fmt.Errorf("unknown trace format %q (allowed: %s)", t.Format, strings.Join(TraceFormats, ", "))
}

// ScheduleTrace turns parsed records into the instances a workload
// replays: it sorts them by submit time (stable), drops records before
// t.Skip or shorter than t.MinDuration, shifts and scales the submit
// times (TimeScale) and run times (DurationScale), keeps those arriving
// before horizon (at most t.Limit), and handles records larger than
// maxNode per t.Wide (split: into ceil(max share) instances arriving
// together, each requesting an equal part; clamp; drop). It returns the
// instances and the number of records dropped as too wide.
func ScheduleTrace(recs []TraceRecord, t *Trace, horizon time.Duration, maxNode nodes.Resources) (out []TraceRecord, tooWide int) {
	sorted := append([]TraceRecord(nil), recs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Submit < sorted[j].Submit })
	kept := 0
	for _, r := range sorted {
		if r.Submit < t.Skip.D() || r.Duration < t.MinDuration.D() {
			continue
		}
		at := time.Duration(float64(r.Submit-t.Skip.D()) * t.TimeScale)
		if at >= horizon {
			break
		}
		if t.Limit > 0 && kept >= t.Limit {
			break
		}
		kept++
		r.Submit = at
		r.Duration = time.Duration(float64(r.Duration) * t.DurationScale)
		if r.Duration <= 0 {
			r.Duration = time.Millisecond
		}
		parts := wideParts(r, maxNode)
		switch {
		case parts <= 1:
			out = append(out, r)
		case t.Wide == "clamp":
			r.CPUMilli = min(r.CPUMilli, maxNode.CPUMilli)
			r.MemoryMiB = min(r.MemoryMiB, maxNode.MemoryMiB)
			r.GPUMilli = min(r.GPUMilli, maxNode.GPUMilli)
			out = append(out, r)
		case t.Wide == "drop" || parts > maxSplit:
			tooWide++
		default: // split
			p := int64(parts)
			part := TraceRecord{Line: r.Line, Submit: r.Submit, Duration: r.Duration,
				CPUMilli: ceilDiv(r.CPUMilli, p), MemoryMiB: ceilDiv(r.MemoryMiB, p), GPUMilli: ceilDiv(r.GPUMilli, p)}
			for i := range parts {
				part.ID = fmt.Sprintf("%s/%d", r.ID, i)
				out = append(out, part)
			}
		}
	}
	return out, tooWide
}

// wideParts is how many nodes of size maxNode a record needs (in the
// dimension it needs most), at least 1.
func wideParts(r TraceRecord, maxNode nodes.Resources) int {
	parts := int64(1)
	for _, d := range [][2]int64{{r.CPUMilli, maxNode.CPUMilli}, {r.MemoryMiB, maxNode.MemoryMiB}, {r.GPUMilli, maxNode.GPUMilli}} {
		if d[0] <= 0 {
			continue
		}
		if d[1] <= 0 {
			return math.MaxInt32
		}
		parts = max(parts, ceilDiv(d[0], d[1]))
	}
	if parts > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(parts)
}

// maxSplit bounds the instances one record splits into; a record that
// needs more (or a resource no node has) is dropped as too wide.
const maxSplit = 1024

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// milli converts units (cores, GPUs) to milli-units, rounding.
func milli(v float64) int64 { return int64(math.Round(v * 1000)) }

// mib converts GiB to MiB, rounding.
func mib(gib float64) int64 { return int64(math.Round(gib * 1024)) }
