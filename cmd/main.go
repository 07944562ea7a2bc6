// Command manager runs stagehand: the controllers that resolve references and
// write status (on the elected leader only), and the read API that answers
// authentik's stage endpoints from the cache (on every replica).
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/controllers"
	"github.com/stagehand-dev/stagehand/internal/apitls"
	"github.com/stagehand-dev/stagehand/internal/httpapi"
	"github.com/stagehand-dev/stagehand/internal/refs"
	"github.com/stagehand-dev/stagehand/internal/version"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(flowsv1alpha1.AddToScheme(scheme))
}

func main() {
	var o runOptions
	var apiAuth string
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", "0", "Address the metrics endpoint binds to, such as :8443 (HTTPS, with --metrics-secure) or :8080. 0 disables it.")
	flag.BoolVar(&o.metricsSecure, "metrics-secure", true, "Serve metrics over HTTPS, to callers the cluster authenticates and authorises (get on /metrics).")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to. 0 disables them.")
	flag.StringVar(&o.pprofAddr, "pprof-bind-address", "0", "Address Go's profiler (/debug/pprof/) binds to, such as 127.0.0.1:6060, unauthenticated: bind it to loopback and reach it with kubectl port-forward. 0 (the default) disables it.")
	flag.BoolVar(&o.enableHTTP2, "enable-http2", false, "Serve metrics over HTTP/2 as well as HTTP/1.1 (off by default: HTTP/2 Rapid Reset, CVE-2023-44487).")
	flag.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader (a Lease) so that one replica of several runs the controllers. Every replica serves the API.")
	flag.StringVar(&o.leaderElectionNS, "leader-election-namespace", "", "Namespace of the leader election Lease. Defaults to the namespace the manager runs in.")
	flag.StringVar(&o.apiAddr, "api-bind-address", ":9000", "Address the authentik-compatible read API binds to. 0 disables it.")
	flag.StringVar(&apiAuth, "api-auth", string(httpapi.AuthKubernetes), "How the API authenticates callers: kubernetes (bearer tokens checked with TokenReview, reads with SubjectAccessReview) or none (anyone reads everything: local development only).")
	flag.StringVar(&o.apiTokenAudiences, "api-token-audiences", httpapi.DefaultTokenAudience, "Audiences a caller's bearer token must be minted for, comma-separated (kubectl create token NAME --audience=..., or a projected serviceAccountToken volume with that audience). A token minted for kube-apiserver, or for any other audience, is refused.")
	flag.BoolVar(&o.apiAcceptKubeAPIServerTokens, "api-accept-kube-apiserver-tokens", false, "Also accept tokens minted for kube-apiserver (plain ServiceAccount tokens), reviewed again when the audience review refuses them. Only for callers that cannot mint tokens for --api-token-audiences yet: such tokens are credentials for the whole cluster.")
	flag.DurationVar(&o.apiAuthCacheTTL, "api-auth-cache-ttl", httpapi.DefaultAuthCacheTTL, "How long the API remembers who a bearer token belongs to and that a read is allowed (TokenReview and SubjectAccessReview results).")
	flag.DurationVar(&o.apiAuthNegTTL, "api-auth-negative-cache-ttl", 0, "How long the API remembers a bad token or a denied read. 0 means --api-auth-cache-ttl, at most 2s.")
	flag.DurationVar(&o.apiRequestTimeout, "api-request-timeout", httpapi.DefaultRequestTimeout, "Longest the API spends on one request.")
	o.apiMemoBytes = httpapi.DefaultMemoBytes
	flag.Func("api-memo-bytes", "Most bytes the API keeps rendered ahead beside the cache (complete bodies, the plans behind a stage's flow_set and a flow's stages, whole list answers), a quantity such as 32Mi (the default) or 256Mi; the least recently used go past it.", func(v string) (err error) {
		o.apiMemoBytes, err = parseBytes(v)
		return err
	})
	o.apiMaxResponseBytes = httpapi.DefaultMaxResponseBytes
	flag.Func("api-max-response-bytes", "Largest body the API answers, a quantity such as 16Mi (the default); a larger answer (a page of bindings of a stage bound to thousands of flows) is a 500 that says so, found before it is built whole.", func(v string) (err error) {
		o.apiMaxResponseBytes, err = parseBytes(v)
		return err
	})
	flag.Float64Var(&o.apiTokenReviewQPS, "api-token-review-qps", httpapi.DefaultTokenReviewQPS, "TokenReviews per second the API sends, on average, for bearer tokens not in its cache; a request over the limit is answered 503 with Retry-After. Negative: no limit.")
	flag.IntVar(&o.apiTokenReviewBurst, "api-token-review-burst", httpapi.DefaultTokenReviewBurst, "TokenReviews the API may send in a burst, above --api-token-review-qps.")
	flag.IntVar(&o.apiMaxAccessReviews, "api-max-access-reviews-per-request", httpapi.DefaultMaxAccessReviewsPerRequest, "SubjectAccessReviews one API request may send (those not in the cache): a caller who may not read a kind cluster-wide is asked about each namespace that holds a match; a request that needs more is answered 503 with Retry-After. Set it above the number of namespaces holding stagehand objects, or grant callers cluster-wide read. Negative: no limit.")
	flag.StringVar(&o.apiTLS, "api-tls", "", "How the API serves: self-signed (HTTPS with a certificate from the manager's own CA, kept in --api-tls-secret and published in --api-tls-ca-configmap; the default), files (HTTPS with --api-tls-cert-file and --api-tls-key-file; the default when they are set), or none (plain HTTP: callers' bearer tokens cross the network in clear text; for loopback or a mesh that encrypts).")
	flag.StringVar(&o.apiTLSSecret, "api-tls-secret", "stagehand-api-certs", "With --api-tls=self-signed: the Secret, in --api-tls-namespace, where the elected leader keeps the CA and the serving certificate, and from which every replica serves. It must exist (the deployment creates it empty): the manager may not create Secrets.")
	flag.StringVar(&o.apiTLSCAConfigMap, "api-tls-ca-configmap", "stagehand-api-ca", "With --api-tls=self-signed: the ConfigMap, in --api-tls-namespace, where the leader publishes the CA certificates clients trust (key ca.crt). It must exist (the deployment creates it empty).")
	flag.StringVar(&o.apiTLSService, "api-tls-service", "stagehand-api", "With --api-tls=self-signed: the API's Service, in --api-tls-namespace; the certificate is for its DNS names (<service>, <service>.<namespace>, <service>.<namespace>.svc, <service>.<namespace>.svc.cluster.local).")
	flag.StringVar(&o.apiTLSNamespace, "api-tls-namespace", "", "With --api-tls=self-signed: the namespace of --api-tls-secret, --api-tls-ca-configmap and --api-tls-service. Default: the namespace the manager runs in.")
	flag.StringVar(&o.apiTLSCertFile, "api-tls-cert-file", "", "Certificate (PEM) the API serves HTTPS with, reloaded when it changes (cert-manager's, mounted from a Secret), instead of one from the manager's own CA. With --api-tls-key-file.")
	flag.StringVar(&o.apiTLSKeyFile, "api-tls-key-file", "", "Private key (PEM) of --api-tls-cert-file.")
	flag.StringVar(&o.watchNamespaces, "watch-namespaces", "", "Namespaces to watch, comma-separated: the controllers reconcile, and the API serves, stagehand's objects in these only, and the manager needs a Role in each instead of a cluster-wide ClusterRole (config/components/namespaced; the Helm chart's watchNamespaces). Cluster-scoped kinds (WebAuthnDeviceType) are still read cluster-wide. Empty (the default): every namespace.")
	flag.IntVar(&o.concurrency, "concurrency", 4, "How many objects of one kind are reconciled at once (per controller).")
	flag.Float64Var(&o.qps, "kube-api-qps", -1, "Requests per second the manager's client sends the API server, on average. Negative (the default) sets no client-side limit: the API server's priority and fairness governs.")
	flag.IntVar(&o.burst, "kube-api-burst", 0, "Requests the manager's client may send the API server in a burst, above --kube-api-qps. With a negative --kube-api-qps it is unused.")
	printVersion := flag.Bool("version", false, "Print the manager's version and the commit it was built from, and exit.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *printVersion {
		fmt.Println("stagehand manager " + version.Get().String())
		return
	}
	o.apiAuth = httpapi.AuthMode(apiAuth)

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	if err := run(o); err != nil {
		ctrl.Log.WithName("setup").Error(err, "stagehand stopped")
		os.Exit(1)
	}
}

// runOptions are the manager's flags.
type runOptions struct {
	metricsAddr      string
	metricsSecure    bool
	probeAddr        string
	pprofAddr        string
	enableHTTP2      bool
	leaderElect      bool
	leaderElectionNS string
	apiAddr          string
	apiAuth          httpapi.AuthMode
	// apiTokenAudiences is --api-token-audiences, comma-separated.
	apiTokenAudiences            string
	apiAcceptKubeAPIServerTokens bool
	apiAuthCacheTTL              time.Duration
	apiAuthNegTTL                time.Duration
	apiRequestTimeout            time.Duration
	apiMemoBytes                 int64
	apiMaxResponseBytes          int64
	apiTokenReviewQPS            float64
	apiTokenReviewBurst          int
	apiMaxAccessReviews          int
	apiTLS                       string
	apiTLSSecret                 string
	apiTLSCAConfigMap            string
	apiTLSService                string
	apiTLSNamespace              string
	apiTLSCertFile               string
	apiTLSKeyFile                string
	// watchNamespaces is --watch-namespaces, comma-separated; empty:
	// every namespace.
	watchNamespaces string
	concurrency     int
	qps             float64
	burst           int
}

func run(o runOptions) error {
	log := ctrl.Log.WithName("setup")
	if err := o.apiAuth.Validate(); err != nil {
		return err
	}
	audiences, err := splitList(o.apiTokenAudiences)
	if err != nil {
		return fmt.Errorf("--api-token-audiences=%q: %w; to accept kube-apiserver's tokens as well, set --api-accept-kube-apiserver-tokens", o.apiTokenAudiences, err)
	}
	tlsMode, err := apiTLSMode(o)
	if err != nil {
		return err
	}
	namespaces, err := watchNamespaces(o.watchNamespaces)
	if err != nil {
		return err
	}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("finding the cluster (in-cluster config, --kubeconfig, $KUBECONFIG or ~/.kube/config): %w", err)
	}
	if o.concurrency < 1 {
		return fmt.Errorf("--concurrency=%d: at least 1", o.concurrency)
	}
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst

	var tlsOpts []func(*tls.Config)
	if !o.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{
		BindAddress:   o.metricsAddr,
		SecureServing: o.metricsSecure,
		TLSOpts:       tlsOpts,
	}
	if o.metricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	leaseDuration, renewDeadline, retryPeriod := 15*time.Second, 10*time.Second, 2*time.Second
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Cache:                         controllers.CacheOptions(namespaces...),
		Controller:                    config.Controller{MaxConcurrentReconciles: o.concurrency},
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        o.probeAddr,
		PprofBindAddress:              o.pprofAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              "stagehand.flows.stagehand.dev",
		LeaderElectionNamespace:       o.leaderElectionNS,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &leaseDuration,
		RenewDeadline:                 &renewDeadline,
		RetryPeriod:                   &retryPeriod,
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	ctx := ctrl.SetupSignalHandler()
	if err := refs.Register(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	if err := controllers.SetupWithManager(mgr); err != nil {
		return err
	}

	if o.apiAddr != "0" {
		var getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
		if tlsMode == tlsSelfSigned {
			certs, err := setupAPICertificates(mgr, o)
			if err != nil {
				return err
			}
			getCertificate = certs.GetCertificate
			if err := mgr.AddReadyzCheck("api-tls", certs.ReadyzCheck); err != nil {
				return err
			}
		}
		// The server logs a warning of its own at start with --api-auth=none.
		api, err := httpapi.New(httpapi.Options{
			Addr:                       o.apiAddr,
			Reader:                     mgr.GetCache(),
			Cache:                      mgr.GetCache(),
			Reviewer:                   mgr.GetClient(),
			Auth:                       o.apiAuth,
			TokenAudiences:             audiences,
			AcceptKubeAPIServerTokens:  o.apiAcceptKubeAPIServerTokens,
			AuthCacheTTL:               o.apiAuthCacheTTL,
			AuthNegativeCacheTTL:       o.apiAuthNegTTL,
			RequestTimeout:             o.apiRequestTimeout,
			MemoBytes:                  o.apiMemoBytes,
			MaxResponseBytes:           o.apiMaxResponseBytes,
			TokenReviewQPS:             o.apiTokenReviewQPS,
			TokenReviewBurst:           o.apiTokenReviewBurst,
			MaxAccessReviewsPerRequest: o.apiMaxAccessReviews,
			TLSCertFile:                o.apiTLSCertFile,
			TLSKeyFile:                 o.apiTLSKeyFile,
			GetCertificate:             getCertificate,
			Metrics:                    metrics.Registry,
			Log:                        ctrl.Log.WithName("api"),
		})
		if err != nil {
			return err
		}
		if err := mgr.Add(api); err != nil {
			return err
		}
		if err := mgr.AddReadyzCheck("api", api.ReadyzCheck); err != nil {
			return err
		}
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}

	watching := "every namespace"
	if len(namespaces) > 0 {
		watching = strings.Join(namespaces, ",")
	}
	log.Info("starting stagehand", "version", version.Get().Version, "commit", version.Get().Commit, "api", o.apiAddr, "apiAuth", o.apiAuth, "apiTLS", tlsMode, "leaderElection", o.leaderElect, "watchNamespaces", watching)
	if err := mgr.Start(ctx); err != nil && !errors.Is(err, ctx.Err()) {
		return err
	}
	return nil
}

// splitList splits a comma-separated flag value into its items, refusing an
// empty one.
func splitList(v string) ([]string, error) {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, errors.New("name at least one, and no empty one")
		}
		out = append(out, item)
	}
	return out, nil
}

// watchNamespaces parses --watch-namespaces: none (every namespace), or
// namespace names, each once.
func watchNamespaces(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	names, err := splitList(v)
	if err != nil {
		return nil, fmt.Errorf("--watch-namespaces=%q: %w", v, err)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
			return nil, fmt.Errorf("--watch-namespaces=%q: %q is not a namespace name: %s", v, n, strings.Join(errs, "; "))
		}
		if seen[n] {
			return nil, fmt.Errorf("--watch-namespaces=%q: %q is named twice", v, n)
		}
		seen[n] = true
	}
	return names, nil
}

// The API's TLS modes (--api-tls).
const (
	tlsSelfSigned = "self-signed"
	tlsFiles      = "files"
	tlsNone       = "none"
)

// apiTLSMode is --api-tls, or its default: files when a certificate file
// is given, else self-signed. A mode that contradicts the other flags is
// an error, never a silent choice.
func apiTLSMode(o runOptions) (string, error) {
	files := o.apiTLSCertFile != "" || o.apiTLSKeyFile != ""
	switch o.apiTLS {
	case "":
		if files {
			return tlsFiles, nil
		}
		return tlsSelfSigned, nil
	case tlsFiles:
		if o.apiTLSCertFile == "" || o.apiTLSKeyFile == "" {
			return "", errors.New("--api-tls=files needs --api-tls-cert-file and --api-tls-key-file")
		}
		return tlsFiles, nil
	case tlsSelfSigned, tlsNone:
		if files {
			return "", fmt.Errorf("--api-tls=%s with --api-tls-cert-file or --api-tls-key-file: serve those files (--api-tls=files, or leave --api-tls unset) or drop them", o.apiTLS)
		}
		return o.apiTLS, nil
	}
	return "", fmt.Errorf("--api-tls=%q: must be %s, %s or %s", o.apiTLS, tlsSelfSigned, tlsFiles, tlsNone)
}

// setupAPICertificates adds the manager's own CA (internal/apitls) for the
// API: the Secret and ConfigMap of --api-tls-secret and
// --api-tls-ca-configmap, a certificate for --api-tls-service's names.
func setupAPICertificates(mgr ctrl.Manager, o runOptions) (*apitls.Certificates, error) {
	ns := o.apiTLSNamespace
	if ns == "" {
		var err error
		if ns, err = apitls.PodNamespace(); err != nil {
			return nil, fmt.Errorf("--api-tls=self-signed keeps the API's CA in the manager's namespace: %w; set --api-tls-namespace, or serve plain HTTP with --api-tls=none", err)
		}
	}
	return apitls.Setup(mgr, apitls.Options{
		Namespace:     ns,
		SecretName:    o.apiTLSSecret,
		ConfigMapName: o.apiTLSCAConfigMap,
		DNSNames:      apitls.ServiceDNSNames(o.apiTLSService, ns),
		Log:           ctrl.Log.WithName("api-tls"),
	})
}

// parseBytes reads a positive quantity of bytes, as Kubernetes writes one:
// 67108864, 64Mi, 1Gi.
func parseBytes(v string) (int64, error) {
	q, err := resource.ParseQuantity(v)
	if err != nil || q.Sign() <= 0 {
		return 0, fmt.Errorf("%q: want a positive quantity of bytes, such as 64Mi", v)
	}
	return q.Value(), nil
}
