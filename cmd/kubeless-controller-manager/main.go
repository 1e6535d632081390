// Command kubeless-controller-manager is the Kubernetes engine's controller:
// it reconciles Functions, HTTPTriggers and CronJobTriggers (see
// internal/controller). It runs in the cluster from kubeless.yaml, or on
// any machine with a kubeconfig (--kubeconfig or $KUBECONFIG).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kubeless/kubeless/internal/backend"
	"github.com/kubeless/kubeless/internal/controller"
	"github.com/kubeless/kubeless/internal/events"
	"github.com/kubeless/kubeless/internal/kubescheme"
	"github.com/kubeless/kubeless/internal/render"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "Error: "+err.Error())
		os.Exit(1)
	}
}

// imageOverrides is a repeatable RUNTIME=IMAGE flag.
type imageOverrides map[string]string

func (m imageOverrides) String() string { return fmt.Sprint(map[string]string(m)) }
func (m imageOverrides) Set(v string) error {
	rt, img, ok := strings.Cut(v, "=")
	if !ok || rt == "" || img == "" {
		return fmt.Errorf("want RUNTIME=IMAGE, for example python3.12=localhost/python:3.12")
	}
	m[rt] = img
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(args []string) error {
	fs := flag.NewFlagSet("kubeless-controller-manager", flag.ContinueOnError)
	ctrlconfig.RegisterFlags(fs)
	var (
		metricsAddr  = fs.String("metrics-bind-address", ":8080", "Address of the controller's /metrics (0 turns it off)")
		probeAddr    = fs.String("health-probe-bind-address", ":8081", "Address of /healthz and /readyz")
		leaderElect  = fs.Bool("leader-elect", false, "Elect a leader, so that only one of several replicas works")
		configNS     = fs.String("config-namespace", envOr("KUBELESS_NAMESPACE", controller.DefaultConfig.Namespace), "Namespace of the kubeless-config ConfigMap ($KUBELESS_NAMESPACE)")
		configName   = fs.String("config-name", envOr("KUBELESS_CONFIG", controller.DefaultConfig.Name), "Name of the runtime catalog ConfigMap ($KUBELESS_CONFIG)")
		provision    = fs.String("provision-image", render.DefaultProvisionImage, "Image of the prepare init container and of cron trigger jobs (kubeless-config provision-image wins)")
		pullPolicy   = fs.String("image-pull-policy", string(corev1.PullIfNotPresent), "Pull policy of the generated containers: Always, IfNotPresent or Never (kubeless-config image-pull-policy wins)")
		logJSON      = fs.Bool("log-json", false, "Log JSON lines instead of text")
		idleWindow   = fs.String("idle-window", envOr("KUBELESS_IDLE_WINDOW", "60s"), "How long a function that scales to zero may go without a call before its last pod stops ($KUBELESS_IDLE_WINDOW; a function's annotation kubeless.io/idle-window wins)")
		kafkaBrokers = fs.String("kafka-brokers", os.Getenv("KAFKA_BROKERS"), "Kafka brokers (host:port,...) of the Kafka triggers that name none ($KAFKA_BROKERS)")
		natsURL      = fs.String("nats-url", os.Getenv("NATS_URL"), "NATS server (nats://host:port) of the NATS triggers that name none ($NATS_URL)")
		activatorNS  = fs.String("activator-namespace", "", "Namespace of the kubeless-activator pods (default: --config-namespace)")
		overrides    = imageOverrides{}
	)
	fs.Var(overrides, "runtime-image", "RUNTIME=IMAGE: run that runtime's functions in IMAGE instead of the catalog's (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pp, err := controller.ParsePullPolicy(*pullPolicy)
	if err != nil {
		return fmt.Errorf("--image-pull-policy: %w", err)
	}
	idle, err := backend.ParseIdleWindow("--idle-window", *idleWindow)
	if err != nil {
		return err
	}
	kafkaSec := kafkaSecurity()
	if _, err := kafkaSec.Opts(); err != nil {
		return fmt.Errorf("Kafka settings of the environment (KAFKA_ENABLE_TLS, KAFKA_CACERTS, KAFKA_CERT, KAFKA_KEY, KAFKA_ENABLE_SASL, KAFKA_USERNAME, KAFKA_PASSWORD): %w", err)
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, nil)
	if *logJSON {
		h = slog.NewJSONHandler(os.Stderr, nil)
	}
	ctrl.SetLogger(logr.FromSlogHandler(h))
	log := ctrl.Log.WithName("setup")
	log.Info("Running Kubeless controller manager version: " + version)

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("no Kubernetes API server: %w (give --kubeconfig or run in a cluster)", err)
	}
	scheme := kubescheme.New()
	cmKey := types.NamespacedName{Namespace: *configNS, Name: *configName}

	// functions-namespace decides what the cache watches, so it is read
	// once here; a change needs a restart.
	ctx := ctrl.SetupSignalHandler()
	watchNS, err := functionsNamespace(ctx, cfg, cmKey)
	if err != nil {
		return err
	}
	if watchNS != "" {
		log.Info("watching one namespace (functions-namespace)", "namespace", watchNS)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   controller.CacheOptions(watchNS, cmKey),
		Metrics:                 metricsserver.Options{BindAddress: *metricsAddr},
		HealthProbeBindAddress:  *probeAddr,
		LeaderElection:          *leaderElect,
		LeaderElectionID:        "kubeless-controller.kubeless.io",
		LeaderElectionNamespace: *configNS,
		// The leader empties its Lease when it stops, so that another
		// replica takes over at once rather than after the lease duration
		// (15 s). Safe here: run returns, and the process ends, as soon
		// as the manager has stopped.
		LeaderElectionReleaseOnCancel: true,
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
	opts := controller.Options{Config: cmKey, Render: render.Config{
		ProvisionImage: *provision, ImagePullPolicy: pp, RuntimeImageOverride: overrides,
	}, Zero: controller.ZeroOptions{IdleWindow: idle, ActivatorNamespace: *activatorNS},
		Events: controller.EventOptions{KafkaBrokers: *kafkaBrokers, NATSURL: *natsURL, Kafka: kafkaSec}}
	if err := controller.Setup(ctx, mgr, opts); err != nil {
		return err
	}
	log.Info("Starting Function controller")
	go func() {
		if mgr.GetCache().WaitForCacheSync(ctx) {
			log.Info("Function controller synced and ready")
		}
	}()
	return mgr.Start(ctx)
}

// functionsNamespace reads the functions-namespace key of kubeless-config
// ("" when the ConfigMap or the key is missing: all namespaces), and warns
// about keys of the original that have no effect.
func functionsNamespace(ctx context.Context, cfg *rest.Config, key types.NamespacedName) (string, error) {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return "", err
	}
	var cm corev1.ConfigMap
	if err := c.Get(ctx, key, &cm); err != nil {
		if apierrors.IsNotFound(err) {
			ctrl.Log.Info("no ConfigMap "+key.String()+": using the built-in runtime catalog", "configmap", key.String())
			return "", nil
		}
		return "", fmt.Errorf("read ConfigMap %s: %w", key, err)
	}
	if cm.Data["enable-build-step"] == "true" {
		ctrl.Log.Info("enable-build-step is not supported: functions are built by init containers in their pods", "configmap", key.String())
	}
	return strings.TrimSpace(cm.Data[controller.KeyFunctionsNamespace]), nil
}

// kafkaSecurity reads the TLS and SASL of the Kafka brokers from the
// environment, which a Secret can fill (envFrom or secretKeyRef):
// KAFKA_ENABLE_TLS, KAFKA_CACERTS, KAFKA_CERT, KAFKA_KEY (PEM file paths,
// for example of a mounted Secret), KAFKA_INSECURE, KAFKA_ENABLE_SASL,
// KAFKA_USERNAME, KAFKA_PASSWORD.
func kafkaSecurity() events.KafkaSecurity {
	on := func(k string) bool { b, _ := strconv.ParseBool(os.Getenv(k)); return b }
	return events.KafkaSecurity{
		TLS: on("KAFKA_ENABLE_TLS"), CACertFile: os.Getenv("KAFKA_CACERTS"),
		CertFile: os.Getenv("KAFKA_CERT"), KeyFile: os.Getenv("KAFKA_KEY"), Insecure: on("KAFKA_INSECURE"),
		SASL: on("KAFKA_ENABLE_SASL"), User: os.Getenv("KAFKA_USERNAME"), Password: os.Getenv("KAFKA_PASSWORD"),
	}
}
