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
	sz := runSize()
	c := newCluster(t)
	c.startServices()
	ps := c.seed(sz.prospects)
	c.startWorker()
	start := time.Now()
	c.startSyncs(ps)
	synced := expected(ps)[syncedState]
	for k := 1; k <= sz.kills; k++ {
		c.waitSynced(k*synced/(sz.kills+1), settleWithin(sz.prospects))
		c.killWorker()
	}
	c.waitSettled(ps, settleWithin(sz.prospects))
	c.report("worker crash", c.verify(ps), sz.kills, time.Since(start), "server and emulator kept running")
}

// Worker, server and emulator killed together and restarted on the same data directory,
// several times mid-run.
func TestServerCrash(t *testing.T) {
	sz := runSize()
	c := newCluster(t)
	c.startAllInOne()
	ps := c.seed(sz.prospects)
	start := time.Now()
	c.startSyncs(ps)
	synced := expected(ps)[syncedState]
	for k := 1; k <= sz.kills; k++ {
		c.waitSynced(k*synced/(sz.kills+1), settleWithin(sz.prospects))
		c.killAll()
	}
	c.waitSettled(ps, settleWithin(sz.prospects))
	c.report("server crash", c.verify(ps), sz.kills, time.Since(start), "all in one process, same data directory")
}
