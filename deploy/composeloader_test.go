package deploy_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"

	"github.com/prospect-sync/prospect-sync/connect"
)

// workerStopTimeout is how long the worker lets its activities finish when stopped.
const workerStopTimeout = connect.WorkerStopTimeout

// The compose file loads and validates with the Compose specification's own loader (the one
// docker compose uses), interpolated with .env.example, every profile on: no docker engine
// needed, so CI runs it instead of skipping it.
func TestComposeFileLoadsWithComposeSpecLoader(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, envFile := range []string{".env.example", ""} { // a .env as the example has it, and none at all
		var files []string
		if envFile != "" {
			files = []string{filepath.Join(root, envFile)}
		}
		opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
			cli.WithName("prospect-sync"), cli.WithWorkingDirectory(root),
			cli.WithEnvFiles(files...), cli.WithDotEnv, cli.WithProfiles([]string{"*"}))
		if err != nil {
			t.Fatal(err)
		}
		p, err := opts.LoadProject(ctx)
		if err != nil {
			t.Fatalf("with %s: %v", envFile, err)
		}
		worker, err := p.GetService("worker")
		if err != nil {
			t.Fatalf("with %s: %v", envFile, err)
		}
		if worker.StopGracePeriod == nil || time.Duration(*worker.StopGracePeriod) <= workerStopTimeout {
			t.Errorf("with %s: the worker's stop_grace_period is %v, want more than the %s the worker takes to finish its activities (else docker kills it mid-write)",
				envFile, worker.StopGracePeriod, workerStopTimeout)
		}
		if _, err := p.GetService("starter"); err != nil {
			t.Errorf("with %s: %v", envFile, err)
		}
	}
}
