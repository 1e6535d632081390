// Command kubeless-activator answers the calls of Kubernetes functions at
// zero replicas (docs/scale-to-zero.md): while a function that scales to
// zero has no ready pod, the controller points its Service's EndpointSlice
// at the activator's pods, on a port of the function's own; the activator
// holds the calls, scales the function's Deployment to one replica, and
// forwards them to the first ready pod.
//
// It runs as its own Deployment (kubeless.yaml), without leader election:
// every replica serves calls.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kubeless/kubeless/internal/activator"
	"github.com/kubeless/kubeless/internal/kubescheme"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "Error: "+err.Error())
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("kubeless-activator", flag.ContinueOnError)
	ctrlconfig.RegisterFlags(fs)
	var (
		metricsAddr = fs.String("metrics-bind-address", ":8080", "Address of the activator's /metrics (0 turns it off)")
		probeAddr   = fs.String("health-probe-bind-address", ":8081", "Address of /healthz and /readyz")
		maxHeld     = fs.Int("max-held", activator.DefaultMaxHeld, "Calls of one function held at once while it starts; more are answered 503")
		holdTimeout = fs.Duration("hold-timeout", activator.DefaultHoldTimeout, "How long a call waits for its function to start before a 504")
		logJSON     = fs.Bool("log-json", false, "Log JSON lines instead of text")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *maxHeld < 1 {
		return fmt.Errorf("invalid --max-held %d: want 1 or more", *maxHeld)
	}
	if *holdTimeout <= 0 {
		return fmt.Errorf("invalid --hold-timeout %s: want a positive duration such as 60s", *holdTimeout)
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, nil)
	if *logJSON {
		h = slog.NewJSONHandler(os.Stderr, nil)
	}
	log := slog.New(h)
	ctrl.SetLogger(logr.FromSlogHandler(h))
	log.Info("Running Kubeless activator version: " + version)

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("no Kubernetes API server: %w (give --kubeconfig or run in a cluster)", err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 kubescheme.New(),
		Cache:                  activator.CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: *metricsAddr},
		HealthProbeBindAddress: *probeAddr,
	})
	if err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	ctx := ctrl.SetupSignalHandler()
	_, err = activator.Setup(ctx, mgr, activator.Options{
		MaxHeld: *maxHeld, HoldTimeout: *holdTimeout, Registry: metrics.Registry, Log: log,
	}, nil)
	if err != nil {
		return err
	}
	// Every replica serves calls: no leader election.
	start := time.Now()
	go func() {
		if mgr.GetCache().WaitForCacheSync(ctx) {
			log.Info("activator synced and ready", "duration_ms", time.Since(start).Milliseconds())
		}
	}()
	return mgr.Start(ctx)
}
