// ---------------------------------------------------------------------------
// The measurement harness. Everything below is the same in every program
// gmpsim generates: it calibrates the compute loops, measures the run, and
// prints one JSON object on stdout when main returns, in the shape of
// gmpsim's run summary (sim_core::metrics::Summary), so the model's figures
// and these are compared under the same runtime/metrics names.
// ---------------------------------------------------------------------------

// Nanoseconds per iteration of each compute loop on this machine, measured
// by calibrate before the scenario starts.
var (
	nsPerCallIteration   float64
	nsPerNoCallIteration float64
)

// sink receives every compute loop's result, so the compiler cannot delete a
// loop whose result nothing reads.
var sink atomic.Uint64

// step is one iteration of the loop with calls. go:noinline keeps it a real
// call, and every call's prologue is a cooperative preemption point.
//
//go:noinline
func step(x uint64) uint64 {
	return x*6364136223846793005 + 1442695040888963407
}

// computeWithCalls runs on the CPU for about d, calling step in a loop.
func computeWithCalls(d time.Duration) {
	loopWithCalls(iterations(d, nsPerCallIteration))
}

func loopWithCalls(n int64) {
	x := uint64(n)
	for i := int64(0); i < n; i++ {
		x = step(x)
	}
	sink.Add(x)
}

// computeNoCalls runs on the CPU for about d in a loop without function
// calls. Nothing in the loop is a preemption point: only asynchronous
// preemption (sysmon sends the thread a signal) can stop it, and with
// GODEBUG=asyncpreemptoff=1 nothing can.
func computeNoCalls(d time.Duration) {
	loopNoCalls(iterations(d, nsPerNoCallIteration))
}

func loopNoCalls(n int64) {
	x := uint64(n)
	for i := int64(0); i < n; i++ {
		x = x*31 + uint64(i)
	}
	sink.Add(x)
}

func iterations(d time.Duration, nsPerIteration float64) int64 {
	return int64(float64(d) / nsPerIteration)
}

// calibrate measures the cost of an iteration of each compute loop, so that
// "compute 50ms" takes about 50ms of CPU on this machine.
func calibrate() {
	nsPerCallIteration = nsPerIteration(loopWithCalls)
	nsPerNoCallIteration = nsPerIteration(loopNoCalls)
	stackFrameBytes = measureStackFrame()
}

// nsPerIteration doubles the iteration count until one batch takes 4ms,
// then times four batches of that size and keeps the fastest: a slower
// batch was interrupted (by the OS, or another process on this machine),
// not more work. Both loops together take about 50ms.
func nsPerIteration(loop func(n int64)) float64 {
	timed := func(n int64) time.Duration {
		start := time.Now()
		loop(n)
		return time.Since(start)
	}
	n := int64(1000)
	for timed(n) < 4*time.Millisecond {
		n *= 2
	}
	best := math.Inf(1)
	for range 4 {
		best = min(best, float64(timed(n))/float64(n))
	}
	return best
}

// blockingSyscall keeps this goroutine's thread in the kernel for d, in
// nanosleep(2). syscall.Nanosleep goes through syscall.Syscall, so the
// runtime sees a blocking system call (entersyscall/exitsyscall): the
// goroutine keeps its M, and sysmon hands the P to another M once the call
// has lasted a while. A read on a pipe from os.Pipe would not do: os sets
// its descriptors non-blocking, so the goroutine would park in the
// netpoller ("IO wait") and give its thread back. A raw syscall.Read on a
// blocking pipe would work, but needs another thread to write after d.
func blockingSyscall(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var left syscall.Timespec
		err := syscall.Nanosleep(&ts, &left)
		if err != syscall.EINTR {
			return
		}
		// A signal (the runtime's SIGURG, for one) cut the sleep short.
		ts = left
	}
}

// netWait parks this goroutine in the netpoller ("IO wait") until data
// arrives on a descriptor d from now, like a read on a network connection
// whose peer answers after d. The peer is the kernel: a timerfd becomes
// readable after d, so no other goroutine or thread has to run to send the
// data, and what wakes the reader is the runtime's network poll finding
// the descriptor ready (netpoll, from findRunnable or sysmon). os.NewFile
// registers a non-blocking descriptor with the netpoller, and Read parks
// until it is readable.
func netWait(d time.Duration) {
	const clockMonotonic = 1
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic,
		syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		panic(errno)
	}
	// struct itimerspec: no repeat interval, then the expiry. An expiry of
	// 0 would disarm the timer, so the shortest wait is 1ns.
	spec := struct{ interval, value syscall.Timespec }{
		value: syscall.NsecToTimespec(int64(max(d, 1))),
	}
	_, _, errno = syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, fd, 0,
		uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	if errno != 0 {
		panic(errno)
	}
	conn := os.NewFile(fd, "timerfd")
	var data [8]byte
	if _, err := conn.Read(data[:]); err != nil {
		panic(err)
	}
	conn.Close()
}

// allocSink takes each object of an alloc op that keeps none: an object
// that nothing outside its loop iteration refers to could live on the stack,
// or not at all, and an alloc op is there to allocate on the heap.
var allocSink any

// stackFrameArray is the size of the array in each of stackFrame's frames,
// and stackFrameBytes the size of the whole frame (the array, the return
// address, the saved frame pointer, spilled values), measured by calibrate.
const stackFrameArray = 1024

var stackFrameBytes int

// growStack runs a chain of calls that together use about used bytes of
// stack (at most one frame more), then returns. When a call does not fit in
// the goroutine's stack, its prologue calls into the runtime, which
// allocates a stack twice the size, copies the old one into it, and repeats
// until the call fits. The stack stays that size until a GC finds it mostly
// unused and shrinks it.
func growStack(used int) {
	depth := max(1, (used+stackFrameBytes-1)/stackFrameBytes)
	sink.Add(uint64(stackFrame(depth, nil)))
}

// stackFrame calls itself until depth frames are on the stack. Each frame
// holds an array the compiler must keep, since it is read after the call.
// With probe, the two innermost frames write down where their arrays are.
//
//go:noinline
func stackFrame(depth int, probe *[2]uintptr) byte {
	var frame [stackFrameArray]byte
	frame[depth%stackFrameArray] = byte(depth)
	if depth > 1 {
		frame[0] += stackFrame(depth-1, probe)
	}
	if probe != nil && depth <= 2 {
		probe[depth-1] = uintptr(unsafe.Pointer(&frame))
	}
	return frame[depth%stackFrameArray] + frame[0]
}

// measureStackFrame is the distance between two of stackFrame's frames. The
// addresses are written down after the inner call has returned: a stack
// moves when it grows, in a call, so by then it has stopped moving (a GC
// shrinking it in between would give a distance out of range: try again).
func measureStackFrame() int {
	for {
		var probe [2]uintptr
		sink.Add(uint64(stackFrame(2, &probe)))
		distance := int(probe[1] - probe[0])
		if distance >= stackFrameArray && distance < 2*stackFrameArray {
			return distance
		}
	}
}

// nilChannel is never made: a send or receive on it blocks forever, and
// closing it panics, as for any nil channel.
var nilChannel chan int

// latenessSample is how late one sleep woke up, in nanoseconds. The samples
// form a list that sleeping goroutines push onto without a lock, so that
// measuring adds no waiting on a mutex (which the runtime would count in
// /sync/mutex/wait/total:seconds).
type latenessSample struct {
	ns   int64
	next *latenessSample
}

var sleepLateness atomic.Pointer[latenessSample]

// sleep is time.Sleep(d), and records how much later than d it returned.
func sleep(d time.Duration) {
	start := time.Now()
	time.Sleep(d)
	sample := &latenessSample{ns: int64(max(time.Since(start)-d, 0))}
	for {
		sample.next = sleepLateness.Load()
		if sleepLateness.CompareAndSwap(sample.next, sample) {
			return
		}
	}
}

const schedLatencies = "/sched/latencies:seconds"

var (
	startTime        time.Time
	latenciesAtStart *metrics.Float64Histogram
)

// startMeasuring calibrates the compute loops, then starts the clock. The
// scheduling latencies recorded so far are kept, to subtract them at the end:
// the figures cover the scenario, not the calibration.
func startMeasuring() {
	calibrate()
	latenciesAtStart = readMetrics(schedLatencies)[0].Value.Float64Histogram()
	startTime = time.Now()
}

func readMetrics(names ...string) []metrics.Sample {
	samples := make([]metrics.Sample, len(names))
	for i, name := range names {
		samples[i].Name = name
	}
	metrics.Read(samples)
	return samples
}

// histogramSummary is how gmpsim summarises a distribution, in seconds.
type histogramSummary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// nearestRank is the 1-based rank of quantile permille/1000 among n samples
// (the nearest-rank method).
func nearestRank(permille, n uint64) uint64 {
	return min(max((permille*n+999)/1000, 1), n)
}

// summarizeExact summarises durations in nanoseconds exactly as gmpsim's
// model does (DurationHistogram::summarize in sim-core).
func summarizeExact(ns []int64) histogramSummary {
	sorted := slices.Clone(ns)
	slices.Sort(sorted)
	n := uint64(len(sorted))
	if n == 0 {
		return histogramSummary{}
	}
	var total uint64
	for _, v := range sorted {
		total += uint64(v)
	}
	seconds := func(v int64) float64 { return float64(v) / 1e9 }
	return histogramSummary{
		Count: n,
		P50:   seconds(sorted[nearestRank(500, n)-1]),
		P99:   seconds(sorted[nearestRank(990, n)-1]),
		Max:   seconds(sorted[n-1]),
		Mean:  float64(total) / float64(n) / 1e9,
	}
}

// summarizeBuckets summarises a runtime/metrics histogram of seconds,
// without the counts already in before (if not nil). The runtime keeps bucket counts,
// not samples: bucket i holds the samples in [Buckets[i], Buckets[i+1]).
// Each sample is taken to be at the midpoint of its bucket (the unbounded
// first and last buckets use their finite bound, and nothing is below 0).
// A time bucket spans a quarter of a power of two (timeHistSubBucketBits
// = 2 in runtime/histogram.go), so p50, p99, max and mean are within 12.5%.
// Note that the runtime records /sched/latencies:seconds for one in
// gTrackingPeriod (8) of a goroutine's transitions to running, so its count
// is about an eighth of the times goroutines were scheduled.
func summarizeBuckets(h, before *metrics.Float64Histogram) histogramSummary {
	counts := slices.Clone(h.Counts)
	var n uint64
	for i := range counts {
		if before != nil {
			counts[i] -= before.Counts[i]
		}
		n += counts[i]
	}
	if n == 0 {
		return histogramSummary{}
	}
	value := func(i int) float64 {
		lo, hi := max(h.Buckets[i], 0), h.Buckets[i+1]
		if math.IsInf(hi, 1) {
			return lo
		}
		return (lo + hi) / 2
	}
	atRank := func(rank uint64) float64 {
		var seen uint64
		for i, c := range counts {
			seen += c
			if seen >= rank {
				return value(i)
			}
		}
		return 0
	}
	var total float64
	for i, c := range counts {
		total += float64(c) * value(i)
	}
	return histogramSummary{
		Count: n,
		P50:   atRank(nearestRank(500, n)),
		P99:   atRank(nearestRank(990, n)),
		Max:   atRank(n),
		Mean:  total / float64(n),
	}
}

// gcMetrics are the garbage collector's figures the report includes when
// the scenario allocates, collects or grows stacks (reportGC). The runtime
// updates the /cpu/classes estimates only at the end of each GC cycle's
// mark phase, so they cover the run up to the last cycle.
var gcMetrics = []string{
	"/gc/cycles/total:gc-cycles", // MemStats.NumGC
	"/gc/cycles/forced:gc-cycles",
	"/gc/heap/goal:bytes",
	"/gc/heap/live:bytes",
	"/gc/heap/allocs:objects",  // MemStats.Mallocs without tiny allocations
	"/gc/heap/objects:objects", // MemStats.HeapObjects
	"/gc/limiter/last-enabled:gc-cycle",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/memory/classes/heap/released:bytes", // MemStats.HeapReleased
	"/memory/classes/heap/stacks:bytes",   // MemStats.StackInuse
}

const gcPauses = "/sched/pauses/total/gc:seconds"

// addMetrics reads runtime/metrics scalars into the report's metrics.
func addMetrics(m map[string]any, names ...string) {
	for _, s := range readMetrics(names...) {
		switch s.Value.Kind() {
		case metrics.KindUint64:
			m[s.Name] = s.Value.Uint64()
		case metrics.KindFloat64:
			m[s.Name] = s.Value.Float64()
		}
	}
}

// memStatsMetrics adds the runtime.MemStats figures that no runtime/metrics
// name above reports as such. ReadMemStats stops the world; that pause is
// counted in /sched/pauses/total/other:seconds, not in the GC's.
func memStatsMetrics(m map[string]any) {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m["/gmpsim/gc/cpu-fraction:ratio"] = s.GCCPUFraction
	m["/gmpsim/memstats/heap-alloc:bytes"] = s.HeapAlloc
	m["/gmpsim/memstats/heap-inuse:bytes"] = s.HeapInuse
	m["/gmpsim/memstats/heap-idle:bytes"] = s.HeapIdle
	m["/gmpsim/memstats/heap-sys:bytes"] = s.HeapSys
	m["/gmpsim/memstats/mallocs:objects"] = s.Mallocs
	m["/gmpsim/memstats/frees:objects"] = s.Frees
	m["/gmpsim/memstats/pause-total:seconds"] = float64(s.PauseTotalNs) / 1e9
}

// report is the JSON object printed when main returns.
type report struct {
	GoVersion string         `json:"go_version"`
	Outcome   outcome        `json:"outcome"`
	Metrics   map[string]any `json:"metrics"`
	// The CPU time this process used (getrusage RUSAGE_SELF), to tell its
	// own load apart from other processes' on the machine.
	ProcessCPUSeconds processCPU `json:"process_cpu_seconds"`
}

type outcome struct {
	ExitCode int    `json:"exit_code"`
	Reason   string `json:"reason"`
}

type processCPU struct {
	User   float64 `json:"user"`
	System float64 `json:"system"`
}

// reportMeasurements prints what the run measured, as one JSON object. The
// goroutine and thread gauges are read here, just before main returns.
func reportMeasurements() {
	elapsed := time.Since(startTime)
	out := report{
		GoVersion: runtime.Version(),
		Outcome:   outcome{ExitCode: 0, Reason: "main returned"},
		Metrics:   map[string]any{},
	}
	addMetrics(out.Metrics,
		"/sched/gomaxprocs:threads",
		"/sched/goroutines:goroutines",
		"/sched/goroutines-created:goroutines",
		"/sched/threads/total:threads",
		"/sync/mutex/wait/total:seconds",
	)
	if reportGC {
		addMetrics(out.Metrics, gcMetrics...)
		pauses := readMetrics(gcPauses)[0].Value.Float64Histogram()
		out.Metrics[gcPauses] = summarizeBuckets(pauses, nil)
		memStatsMetrics(out.Metrics)
	}
	latencies := readMetrics(schedLatencies)[0].Value.Float64Histogram()
	out.Metrics[schedLatencies] = summarizeBuckets(latencies, latenciesAtStart)
	var lateness []int64
	for s := sleepLateness.Load(); s != nil; s = s.next {
		lateness = append(lateness, s.ns)
	}
	if len(lateness) > 0 {
		out.Metrics["/gmpsim/sleep/lateness:seconds"] = summarizeExact(lateness)
	}
	out.Metrics["/gmpsim/process/elapsed:seconds"] = elapsed.Seconds()
	var usage syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &usage) == nil {
		out.ProcessCPUSeconds = processCPU{
			User:   float64(usage.Utime.Nano()) / 1e9,
			System: float64(usage.Stime.Nano()) / 1e9,
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
