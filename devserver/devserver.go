// Package devserver runs a Temporal server (SQLite persistence) and the Temporal Web UI inside
// the current process, for laptops and end-to-end tests.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// DBFileName is the SQLite file the server keeps in Options.DataDir.
const DBFileName = "temporal.db"

// Options configures an embedded server. The zero value is an in-memory server on free
// loopback ports without UI.
type Options struct {
	// DataDir holds the SQLite database; empty keeps everything in memory.
	DataDir string
	// Host is the address every service binds to; loopback by default.
	Host string
	// FrontendPort is the gRPC port clients dial; 0 picks a free one.
	FrontendPort int
	// UIPort is the Web UI's HTTP port; 0 picks a free one; negative disables the UI.
	UIPort int
	// Namespace is created on start (default "default").
	Namespace string
	// SearchAttributes are registered on every start, including on an existing database.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's own logs (warnings and errors by default).
	Logger zerolog.Logger
	// HistoryCacheSize is the number of mutable states the history service keeps in memory.
	HistoryCacheSize int
	// CodecEndpoint, when set, is the codec server the UI asks to decode payloads.
	CodecEndpoint string
	// TaskQueuePartitions, when positive, is the number of partitions of every task queue;
	// 0 keeps the server's defaults (4 for a user's queue). Partitions spread a queue over
	// matching hosts; this server has one, so one partition loses nothing and makes a routing
	// change reach all of a queue at once. Lowering it on an existing database would strand
	// tasks already written to the dropped partitions, so the worker leaves it at 0.
	TaskQueuePartitions int
}

// Server is a running embedded Temporal server.
type Server struct {
	opts     Options
	server   temporal.Server
	ui       *uiserver.Server
	stopping *atomic.Bool
	frontend string
	uiAddr   string
}

// Start creates the schema and namespace when needed, starts all four Temporal services and
// the UI, and registers the search attributes. It returns once the frontend answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.HistoryCacheSize == 0 {
		opts.HistoryCacheSize = 8192
	}
	ports, err := freePorts(opts.Host, 11)
	if err != nil {
		return nil, err
	}
	if opts.FrontendPort == 0 {
		opts.FrontendPort = ports[0]
	}
	if err := portFree(opts.Host, opts.FrontendPort); err != nil {
		return nil, fmt.Errorf("temporal frontend port: %w", err)
	}
	if opts.UIPort == 0 {
		opts.UIPort = ports[1]
	}
	if opts.UIPort > 0 {
		// The UI server exits the process when it cannot bind, so check first.
		if err := portFree(opts.Host, opts.UIPort); err != nil {
			return nil, fmt.Errorf("temporal UI port: %w", err)
		}
	}

	sqlCfg := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{},
	}
	if opts.DataDir == "" {
		sqlCfg.DatabaseName = "mem" + strconv.FormatInt(time.Now().UnixNano(), 36)
		sqlCfg.ConnectAttributes["mode"] = "memory"
		sqlCfg.ConnectAttributes["cache"] = "shared"
	} else {
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		sqlCfg.DatabaseName = filepath.Join(opts.DataDir, DBFileName)
		sqlCfg.ConnectAttributes["mode"] = "rwc"
		// Keys other than mode/cache become PRAGMAs. WAL with synchronous=NORMAL is durable
		// across process crashes and several times faster than the rollback journal.
		sqlCfg.ConnectAttributes["journal_mode"] = "wal"
		sqlCfg.ConnectAttributes["synchronous"] = "1"
	}

	newFile := opts.DataDir == ""
	if !newFile {
		if _, err := os.Stat(sqlCfg.DatabaseName); errors.Is(err, os.ErrNotExist) {
			newFile = true
		}
	}
	if newFile {
		if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
			return nil, fmt.Errorf("temporal schema: %w", err)
		}
	}
	const clusterName = "active"
	nsCfg, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace config: %w", err)
	}
	if err := sqliteschema.CreateNamespaces(sqlCfg, nsCfg); err != nil {
		return nil, fmt.Errorf("create namespace: %w", err)
	}

	frontend := net.JoinHostPort(opts.Host, strconv.Itoa(opts.FrontendPort))
	service := func(grpcPort, membershipPort int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpcPort, MembershipPort: membershipPort, BindOnIP: opts.Host}}
	}
	cfg := &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: opts.Host},
			Metrics:    &metrics.Config{Prometheus: &metrics.PrometheusConfig{ListenAddress: net.JoinHostPort(opts.Host, strconv.Itoa(ports[2])), HandlerPath: "/metrics"}},
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": withHTTP(service(opts.FrontendPort, ports[6]), ports[10]),
			"history":  service(ports[3], ports[7]),
			"matching": service(ports[4], ports[8]),
			"worker":   service(ports[5], ports[9]),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		PublicClient: config.PublicClient{HostPort: frontend},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
	}
	dc := dynamicconfig.StaticClient{
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key():     []dynamicconfig.ConstrainedValue{{Value: true}},
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                []dynamicconfig.ConstrainedValue{{Value: opts.HistoryCacheSize}},
		dynamicconfig.FrontendRPS.Key():                                 []dynamicconfig.ConstrainedValue{{Value: 100000}},
		dynamicconfig.FrontendNamespaceReplicationInducingAPIsRPS.Key(): []dynamicconfig.ConstrainedValue{{Value: 10000}},
	}
	if n := opts.TaskQueuePartitions; n > 0 {
		dc[dynamicconfig.MatchingNumTaskqueueReadPartitions.Key()] = []dynamicconfig.ConstrainedValue{{Value: n}}
		dc[dynamicconfig.MatchingNumTaskqueueWritePartitions.Key()] = []dynamicconfig.ConstrainedValue{{Value: n}}
	}
	// Static hosts instead of ringpop: a restarted server must not wait for the membership
	// entries of its previous incarnation (other ports) to expire before routing tasks.
	stopping := new(atomic.Bool)
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, svc := range cfg.Services {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(net.JoinHostPort(opts.Host, strconv.Itoa(svc.RPC.GRPCPort)))
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(newServerLogger(opts.Logger, stopping)),
		temporal.WithDynamicConfigClient(dc),
	)
	if err != nil {
		return nil, fmt.Errorf("temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	s := &Server{opts: opts, server: srv, frontend: frontend, stopping: stopping}

	if err := s.waitReady(ctx); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	if err := s.registerSearchAttributes(ctx); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	if opts.UIPort > 0 {
		s.uiAddr = net.JoinHostPort(opts.Host, strconv.Itoa(opts.UIPort))
		s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
			Host:                opts.Host,
			Port:                opts.UIPort,
			TemporalGRPCAddress: frontend,
			EnableUI:            true,
			DefaultNamespace:    opts.Namespace,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
			DisableNewsFetch:    true,
			// The dev UI has no login: no access token to pass, no cookies to send.
			Codec: uiconfig.Codec{Endpoint: opts.CodecEndpoint},
		}))
		go func() { _ = s.ui.Start() }()
	}
	return s, nil
}

// withHTTP also serves the frontend's HTTP API (and Nexus endpoints) on port.
func withHTTP(svc config.Service, port int) config.Service {
	svc.RPC.HTTPPort = port
	return svc
}

// FrontendAddress is the host:port Temporal clients dial.
func (s *Server) FrontendAddress() string { return s.frontend }

// UIURL is the Web UI's address, or "" when the UI is disabled.
func (s *Server) UIURL() string {
	if s.uiAddr == "" {
		return ""
	}
	return "http://" + s.uiAddr
}

// Namespace is the namespace the server was started with.
func (s *Server) Namespace() string { return s.opts.Namespace }

// Stop shuts the UI and the server down; open workflows resume on the next start.
func (s *Server) Stop() error {
	s.stopping.Store(true)
	if s.ui != nil {
		s.ui.Stop()
	}
	return s.server.Stop()
}

func (s *Server) dial(ctx context.Context) (client.Client, error) {
	return client.DialContext(ctx, client.Options{HostPort: s.frontend, Namespace: s.opts.Namespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))}) // its readiness checks are ours to report
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		c, err := s.dial(ctx)
		if err == nil {
			_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.opts.Namespace})
			c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal server not ready: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// registerSearchAttributes adds any attribute the namespace lacks: an existing database keeps the
// attributes it was created with, so registration at creation alone misses new ones.
func (s *Server) registerSearchAttributes(ctx context.Context) error {
	if len(s.opts.SearchAttributes) == 0 {
		return nil
	}
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	ops := c.OperatorService()
	list, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.opts.Namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range s.opts.SearchAttributes {
		if _, ok := list.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: s.opts.Namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

func portFree(host string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// freePorts reserves n distinct free ports by holding all listeners open until every one is
// chosen. They are taken below the kernel's ephemeral range: the servers bind them a moment
// later, and a port of that range can meanwhile become the local port of any outgoing
// connection on the machine (the UI server exits the process when it cannot bind).
func freePorts(host string, n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	low, high := 10000, ephemeralLow()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("find free port: none free in %d-%d", low, high)
		}
		port := low + rand.IntN(high-low)
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			continue // taken: another
		}
		ls = append(ls, l)
		ports = append(ports, port)
	}
	return ports, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's default when unknown).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				return n
			}
		}
	}
	return 32768
}
