package reliability

import (
	"testing"
	"time"
)

// settleWithin bounds a scenario's wait: generous for a shared 2-core machine.
func settleWithin(n int) time.Duration { return 5*time.Minute + time.Duration(n)*300*time.Millisecond }

// A worker killed with SIGKILL several times mid-run while the server and the emulator keep
// running in another process (a pod restart, the common production case): every prospect
// settles, exactly one record each.
func TestWorkerCrash(t *testing.T) {
	crashes(t, "worker crash", "server and emulator kept running", func(c *cluster) {
		c.startServices()
		c.startWorker()
	}, (*cluster).killWorker)
}

// Worker, server and emulator killed together and restarted on the same data directory,
// several times mid-run.
func TestServerCrash(t *testing.T) {
	crashes(t, "server crash", "all in one process, same data directory", (*cluster).startAllInOne, (*cluster).killAll)
}

// crashes seeds a run, starts its syncs, kills (and restarts) what kill kills at even steps
// of progress, and checks every prospect once all settle.
func crashes(t *testing.T, name, how string, start, kill func(*cluster)) {
	sz := runSize()
	c := newCluster(t)
	start(c)
	ps := c.seed(sz.prospects)
	began := time.Now()
	c.startSyncs(ps)
	synced := expected(ps)[syncedState]
	for k := 1; k <= sz.kills; k++ {
		c.waitSynced(k*synced/(sz.kills+1), settleWithin(sz.prospects))
		kill(c)
	}
	c.waitSettled(ps, settleWithin(sz.prospects))
	c.report(name, c.verify(ps), sz.kills, time.Since(began), how)
}
