package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

// clockTick is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux
// whatever the kernel's HZ).
const clockTick = 10 * time.Millisecond

// procStat is what /proc/PID/stat says of a process.
type procStat struct {
	ppid int
	// ticks is its CPU (user and system) plus that of its children it
	// has waited for: a backend that ended counts with the postmaster, a
	// plugin that ended with the worker.
	ticks int64
	// own is its CPU alone.
	own int64
}

func readStat(pid int) (procStat, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(string(raw))
}

// parseStat reads the fields after the command (which may hold spaces
// and parentheses): state ppid ... utime(14) stime cutime cstime(17).
func parseStat(s string) (procStat, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("malformed stat %q", s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("malformed stat %q", s)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, fmt.Errorf("malformed stat %q", s)
	}
	var times [4]int64 // utime stime cutime cstime
	for i, v := range f[11:15] {
		if times[i], err = strconv.ParseInt(v, 10, 64); err != nil {
			return procStat{}, fmt.Errorf("malformed stat %q", s)
		}
	}
	own := times[0] + times[1]
	return procStat{ppid: ppid, ticks: own + times[2] + times[3], own: own}, nil
}

// readRSS is a process's VmRSS in KiB from /proc/PID/status; 0 when it is
// gone.
func readRSS(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib
		}
	}
	return 0
}

// processTable is every process's stat at one moment.
type processTable map[int]procStat

func readProcesses() (processTable, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	t := processTable{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil { // it may have ended meanwhile
			t[pid] = st
		}
	}
	return t, nil
}

// treeTicks is the CPU of root and every live descendant (each with the
// children it has reaped): the whole of a process tree since it began, as
// long as no descendant was reaped by anyone outside the tree.
func (t processTable) treeTicks(root int) int64 {
	var sum int64
	for _, pid := range t.tree(root) {
		sum += t[pid].ticks
	}
	return sum
}

// tree is root and its live descendants; none when root is gone or 0.
func (t processTable) tree(root int) []int {
	if _, ok := t[root]; !ok || root == 0 {
		return nil
	}
	children := map[int][]int{}
	for pid, st := range t {
		children[st.ppid] = append(children[st.ppid], pid)
	}
	var out []int
	stack := []int{root}
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, pid)
		stack = append(stack, children[pid]...)
	}
	return out
}

// readPSS is a process's proportional set size in KiB from
// /proc/PID/smaps_rollup: each page shared by n processes counts 1/n in
// each, so that PostgreSQL's shared buffers count once over its backends.
// It falls back to VmRSS where smaps_rollup cannot be read (a server run
// by another user).
func readPSS(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return readRSS(pid)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "Pss:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib
		}
	}
	return readRSS(pid)
}

// memory is each component's resident memory in KiB: the VmRSS of its own
// processes (not their plugins), or for a component whose work is done by
// its children (PostgreSQL's backends) the PSS of its whole tree.
func (s *stack) memory(t processTable) map[string]int64 {
	out := map[string]int64{}
	for _, c := range s.components {
		for _, pid := range c.pids() {
			if !c.memoryOfTree {
				out[c.name] += readRSS(pid)
				continue
			}
			for _, p := range t.tree(pid) {
				out[c.name] += readPSS(p)
			}
		}
	}
	return out
}

// peakWatch samples every component's memory once a second and keeps the
// largest sample of each: Go's heap grows between two snapshots and the
// end of a window need not be its high point.
type peakWatch struct {
	stop, done chan struct{}
	peak       map[string]int64
}

func (s *stack) watchPeaks() *peakWatch {
	w := &peakWatch{stop: make(chan struct{}), done: make(chan struct{}), peak: map[string]int64{}}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			if t, err := readProcesses(); err == nil {
				for name, kib := range s.memory(t) {
					w.peak[name] = max(w.peak[name], kib)
				}
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// end stops the sampling and returns the peaks in KiB.
func (w *peakWatch) end() map[string]int64 {
	close(w.stop)
	<-w.done
	return w.peak
}

// snapshot is the counters at one moment.
type snapshot struct {
	at time.Time
	// cpu is ticks by component, and "bench" for this program alone
	// (its own threads: the processes it started are components).
	cpu map[string]int64
	// xacts is pg_stat_database's commits and rollbacks over all
	// databases; sessions its sessions (PostgreSQL 14+): connections
	// opened.
	xacts, sessions int64
	pgOK            bool
	sessionsOK      bool
	// rssKiB is the resident memory of each component (stack.memory):
	// what one worker holds with the attempts it caches, say.
	rssKiB map[string]int64
	// pgCPU is the CPU ticks of the backends connected to each labelled
	// database (stack.pgDatabases) that are alive at the snapshot.
	pgCPU map[backend]int64
}

// backend is a PostgreSQL backend serving the database labelled label: a
// backend counts only for what it did between two snapshots.
type backend struct {
	label string
	pid   int
}

func (s *stack) snapshot(ctx context.Context) (snapshot, error) {
	snap := snapshot{at: time.Now(), cpu: map[string]int64{}}
	t, err := readProcesses()
	if err != nil {
		return snap, err
	}
	for _, c := range s.components {
		for _, pid := range c.pids() {
			snap.cpu[c.name] += t.treeTicks(pid)
		}
	}
	snap.rssKiB = s.memory(t)
	// Its own CPU only: the processes it started are components.
	snap.cpu["bench"] = t[os.Getpid()].own
	if s.pgAdmin != nil {
		sessions := "NULL"
		if s.pgSessions {
			sessions = "sum(sessions)::bigint"
		}
		var x, sess sql.NullInt64
		err := s.pgAdmin.QueryRowContext(ctx, `SELECT sum(xact_commit + xact_rollback)::bigint, `+sessions+` FROM pg_stat_database`).Scan(&x, &sess)
		if err != nil {
			return snap, fmt.Errorf("read pg_stat_database: %w", err)
		}
		snap.xacts, snap.pgOK = x.Int64, true
		snap.sessions, snap.sessionsOK = sess.Int64, sess.Valid
		if snap.pgCPU, err = s.backendTicks(ctx, t); err != nil {
			return snap, err
		}
	}
	return snap, nil
}

// backendTicks reads the CPU of the backends of each labelled database
// (see postgresByDatabase).
func (s *stack) backendTicks(ctx context.Context, t processTable) (map[backend]int64, error) {
	if len(s.pgDatabases) == 0 {
		return nil, nil
	}
	rows, err := s.pgAdmin.QueryContext(ctx, `SELECT pid, datname FROM pg_stat_activity WHERE datname IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_activity: %w", err)
	}
	defer rows.Close()
	out := map[backend]int64{}
	for rows.Next() {
		var pid int
		var db string
		if err := rows.Scan(&pid, &db); err != nil {
			return nil, fmt.Errorf("read pg_stat_activity: %w", err)
		}
		if label, ok := s.pgDatabases[db]; ok {
			out[backend{label, pid}] = t[pid].own
		}
	}
	return out, rows.Err()
}

// historyEvents counts the events in the workflow histories of attempts
// (closed by now) and returns the average and how many were counted.
func (s *stack) historyEvents(ctx context.Context, attempts []string) (float64, int, error) {
	if s.temporal == nil || len(attempts) == 0 {
		return 0, 0, nil
	}
	total, n := 0, 0
	for _, id := range attempts {
		var wid, rid string
		if err := s.flexauthDB.QueryRowContext(ctx, `SELECT workflow_id, run_id FROM attempts WHERE id = $1`, id).Scan(&wid, &rid); err != nil {
			return 0, n, fmt.Errorf("find the workflow of attempt %s: %w", id, err)
		}
		it := s.temporal.GetWorkflowHistory(ctx, wid, rid, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		count := 0
		for it.HasNext() {
			if _, err := it.Next(); err != nil {
				return 0, n, fmt.Errorf("read history of %s: %w", wid, err)
			}
			count++
		}
		total += count
		n++
	}
	return float64(total) / float64(n), n, nil
}
