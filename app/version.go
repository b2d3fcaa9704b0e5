package app

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// Worker Versioning settings (docs/deploy.md "Worker Versioning").
const (
	// EnvWorkerVersioning turns Worker Versioning on: the worker joins a Worker Deployment and
	// polls only for the builds the deployment routes to it. Off by default, since an
	// unversioned worker is what a dev server (or a namespace without deployments) expects.
	EnvWorkerVersioning = "PROSPECT_SYNC_WORKER_VERSIONING"
	// EnvDeploymentName names the Worker Deployment the worker joins.
	EnvDeploymentName = "PROSPECT_SYNC_DEPLOYMENT_NAME"
	// EnvBuildID overrides the build id the binary derives from its own version.
	EnvBuildID = "PROSPECT_SYNC_BUILD_ID"
	// DefaultDeploymentName is the Worker Deployment's name unless EnvDeploymentName says otherwise.
	DefaultDeploymentName = "prospect-sync"
)

// stampedBuildID is set by the linker only (-ldflags "-X ...app.stampedBuildID=ID"): the
// Dockerfile stamps the id of the sources it built, which carry no VCS metadata there.
var stampedBuildID string

// DefaultBuildID is the build id this binary reports when EnvBuildID is unset: the id the
// linker stamped, else the VCS revision go build recorded (with "-dirty" for uncommitted
// changes), else the module version; "" when none is known (go run, go test), since a made-up
// id would let two different builds share one Worker Deployment Version.
func DefaultBuildID() string {
	if stampedBuildID != "" {
		return stampedBuildID
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	return buildIDFrom(info)
}

// buildIDFrom derives a build id from recorded build information.
func buildIDFrom(info *debug.BuildInfo) string {
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "-dirty"
		}
		return rev
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	return ""
}

// deploymentOptions are the worker's Worker Versioning options: none unless cfg.Versioning.
func (c Config) deploymentOptions() worker.DeploymentOptions {
	if !c.Versioning {
		return worker.DeploymentOptions{}
	}
	return worker.DeploymentOptions{
		UseVersioning: true,
		Version:       worker.WorkerDeploymentVersion{DeploymentName: c.DeploymentName, BuildID: c.BuildID},
	}
}

// reportRouting says at start whether this build receives tasks: a version that is neither
// current nor ramping polls but gets nothing until someone promotes it, and nothing else would
// tell the operator why the syncs stand still.
func reportRouting(ctx context.Context, c client.Client, cfg Config, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	promote := fmt.Sprintf("temporal worker deployment set-current-version --deployment-name %s --build-id %s", cfg.DeploymentName, cfg.BuildID)
	ev := log.Info()
	var current, ramping string
	desc, err := c.WorkerDeploymentClient().GetHandle(cfg.DeploymentName).Describe(ctx, client.WorkerDeploymentDescribeOptions{})
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		// The server creates the deployment on the first poll; none current yet either way.
	case err != nil:
		log.Warn().Err(err).Str("deployment", cfg.DeploymentName).Str("buildId", cfg.BuildID).Msg("could not read the Worker Deployment's routing")
		return
	default:
		if v := desc.Info.RoutingConfig.CurrentVersion; v != nil {
			current = v.BuildID
		}
		if v := desc.Info.RoutingConfig.RampingVersion; v != nil {
			ramping = v.BuildID
		}
	}
	switch {
	case current == cfg.BuildID:
		log.Info().Str("deployment", cfg.DeploymentName).Str("buildId", cfg.BuildID).Msg("this build is the Worker Deployment's current version")
		return
	case ramping == cfg.BuildID:
		log.Info().Str("deployment", cfg.DeploymentName).Str("buildId", cfg.BuildID).Str("current", current).Msg("this build is the Worker Deployment's ramping version")
		return
	case current == "":
		ev = log.Warn()
	}
	ev.Str("deployment", cfg.DeploymentName).Str("buildId", cfg.BuildID).Str("current", current).Str("promote", promote).
		Msg("this build is not the Worker Deployment's current version: it runs no workflow task until promoted")
}
