package apitls

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// The permissions, in the manager's namespace only, on the two objects by
// name: config/rbac/api_tls_role.yaml, a Role kept by hand (not
// +kubebuilder:rbac markers, which make the cluster-wide ClusterRole and
// cannot name objects). The manager never creates either object (RBAC
// cannot limit create to a name): config/default creates both, empty.
//
//	secrets/<Secret>:       get, list, watch (every replica); update (the leader)
//	configmaps/<ConfigMap>: get, list, watch, update (the leader)

// Options say where the certificates are kept and published, and for which
// names.
type Options struct {
	// Namespace holds the Secret and the ConfigMap: the manager's own.
	Namespace string
	// SecretName is the Secret (which must exist) where the leader keeps
	// the CA and the serving certificate, and from which every replica
	// serves.
	SecretName string
	// ConfigMapName is the ConfigMap (which must exist) where the leader
	// publishes the CA bundle, under BundleKey.
	ConfigMapName string
	// DNSNames are the serving certificate's names (ServiceDNSNames).
	DNSNames []string
	// Policy says how long certificates live. Zero fields: the defaults.
	Policy Policy
	// Now is the clock (tests move it). Default time.Now.
	Now func() time.Time
	// Log is where what happens is logged (never a key).
	Log logr.Logger
}

// maxRequeue bounds the leader's sleep between two looks at the Secret, so
// that a clock that jumps or a missed event costs at most this long.
const maxRequeue = time.Hour

// ServiceDNSNames are the names a Service is reached by in the cluster:
// <service>, <service>.<namespace>, <service>.<namespace>.svc and
// <service>.<namespace>.svc.cluster.local (the default cluster domain).
func ServiceDNSNames(service, namespace string) []string {
	return []string{
		service,
		service + "." + namespace,
		service + "." + namespace + ".svc",
		service + "." + namespace + ".svc.cluster.local",
	}
}

// PodNamespace is the namespace the manager runs in, as its ServiceAccount's
// mounted token says, or an error outside a pod.
func PodNamespace() (string, error) {
	b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if err != nil {
		return "", fmt.Errorf("reading the manager's namespace (not in a pod?): %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Certificates is the serving certificate every replica serves from: the
// Secret's, read through an informer that watches that one Secret, and
// reloaded whenever it changes.
type Certificates struct {
	opts    Options
	log     logr.Logger
	current atomic.Pointer[tls.Certificate]
}

// Setup adds to the manager what serves the API's certificate: a cache of
// the Secret and the ConfigMap alone (list and watch with a name field
// selector, in Namespace: never any other Secret's data), the Certificates
// every replica serves from, and the authority that issues and rotates them,
// which runs on the elected leader only.
func Setup(mgr manager.Manager, o Options) (*Certificates, error) {
	if o.Namespace == "" || o.SecretName == "" || o.ConfigMapName == "" {
		return nil, errors.New("apitls: Namespace, SecretName and ConfigMapName are required")
	}
	if len(o.DNSNames) == 0 {
		return nil, errors.New("apitls: the serving certificate needs at least one DNS name")
	}
	o.Policy = o.Policy.withDefaults()
	if err := o.Policy.validate(); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	byName := func(name string) fields.Selector { return fields.OneTermEqualSelector("metadata.name", name) }
	cl, err := cluster.New(mgr.GetConfig(), func(co *cluster.Options) {
		co.Scheme = mgr.GetScheme()
		co.HTTPClient = mgr.GetHTTPClient()
		co.MapperProvider = func(*rest.Config, *http.Client) (meta.RESTMapper, error) { return mgr.GetRESTMapper(), nil }
		co.Logger = o.Log
		co.Cache = cache.Options{
			DefaultNamespaces: map[string]cache.Config{o.Namespace: {}},
			ByObject: map[client.Object]cache.ByObject{
				&corev1.Secret{}:    {Field: byName(o.SecretName)},
				&corev1.ConfigMap{}: {Field: byName(o.ConfigMapName)},
			},
			// Nothing else is read through it: a read of another kind is
			// an error, not a new informer.
			ReaderFailOnMissingInformer: true,
			DefaultTransform:            cache.TransformStripManagedFields(),
		}
	})
	if err != nil {
		return nil, fmt.Errorf("apitls: %w", err)
	}
	if err := mgr.Add(cl); err != nil {
		return nil, err
	}

	c := &Certificates{opts: o, log: o.Log}
	secrets, err := cl.GetCache().GetInformer(context.Background(), &corev1.Secret{})
	if err != nil {
		return nil, fmt.Errorf("apitls: %w", err)
	}
	if _, err := secrets.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.load(obj) },
		UpdateFunc: func(_, obj any) { c.load(obj) },
		DeleteFunc: func(any) {
			c.log.Error(nil, "the API's certificate Secret was deleted: serving the certificate already loaded; re-create it (kubectl apply config/default, helm upgrade, or kubectl create secret generic) for the leader to fill it",
				"secret", o.Namespace+"/"+o.SecretName)
		},
	}); err != nil {
		return nil, fmt.Errorf("apitls: %w", err)
	}
	// The ConfigMap's informer is the leader's, but started on every
	// replica with the cache, so that the cache syncs before anything
	// reads it.
	if _, err := cl.GetCache().GetInformer(context.Background(), &corev1.ConfigMap{}); err != nil {
		return nil, fmt.Errorf("apitls: %w", err)
	}

	a := &authority{reader: cl.GetCache(), writer: cl.GetClient(), opts: o, log: o.Log}
	key := types.NamespacedName{Namespace: o.Namespace, Name: o.SecretName}
	one := func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: key}}
	}
	err = builder.ControllerManagedBy(mgr).
		Named("api-tls").
		// One worker: there is one Secret.
		WithOptions(controller.Options{MaxConcurrentReconciles: 1, NeedLeaderElection: ptr.To(true)}).
		WatchesRawSource(source.Kind(cl.GetCache(), client.Object(&corev1.Secret{}), handler.EnqueueRequestsFromMapFunc(one))).
		WatchesRawSource(source.Kind(cl.GetCache(), client.Object(&corev1.ConfigMap{}), handler.EnqueueRequestsFromMapFunc(one))).
		// A first look at start, whether or not the objects exist.
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			q.Add(reconcile.Request{NamespacedName: key})
			return nil
		})).
		Complete(a)
	if err != nil {
		return nil, fmt.Errorf("apitls: %w", err)
	}
	return c, nil
}

// load reads the serving certificate of the Secret, and serves it from now
// on if it is whole; otherwise it keeps serving the one it has.
func (c *Certificates) load(obj any) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	certPEM, keyPEM := s.Data[KeyServingCert], s.Data[KeyServingKey]
	if len(certPEM) == 0 && len(keyPEM) == 0 {
		c.log.Info("waiting for the elected leader to issue the API's certificate", "secret", s.Namespace+"/"+s.Name)
		return
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		c.log.Error(err, "the API's certificate in the Secret is unusable: serving the one already loaded", "secret", s.Namespace+"/"+s.Name)
		return
	}
	old := c.current.Load()
	if old != nil && old.Leaf.SerialNumber.Cmp(pair.Leaf.SerialNumber) == 0 {
		return
	}
	c.current.Store(&pair)
	c.log.Info("serving the API's certificate", "secret", s.Namespace+"/"+s.Name, "dnsNames", pair.Leaf.DNSNames,
		"issuer", pair.Leaf.Issuer.CommonName, "notAfter", pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
}

// GetCertificate is tls.Config.GetCertificate: the serving certificate,
// or an error until the Secret holds one.
func (c *Certificates) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if cert := c.current.Load(); cert != nil {
		return cert, nil
	}
	return nil, fmt.Errorf("the API has no certificate yet: the elected leader issues it into the Secret %s/%s", c.opts.Namespace, c.opts.SecretName)
}

// ReadyzCheck fails until a certificate is loaded: a replica that cannot
// complete a TLS handshake is not ready.
func (c *Certificates) ReadyzCheck(*http.Request) error {
	_, err := c.GetCertificate(nil)
	return err
}

// authority keeps the Secret's CA and serving certificate valid and the
// ConfigMap's bundle current. It runs on the elected leader.
type authority struct {
	reader client.Reader
	writer client.Writer
	opts   Options
	log    logr.Logger
}

// Reconcile implements reconcile.Reconciler: it reads the Secret, plans,
// writes what changed, publishes the bundle, and comes back when the plan
// next has something to do.
func (a *authority) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	now := a.opts.Now()
	var secret corev1.Secret
	if err := a.reader.Get(ctx, client.ObjectKey{Namespace: a.opts.Namespace, Name: a.opts.SecretName}, &secret); err != nil {
		return reconcile.Result{}, a.missing("Secret", a.opts.SecretName, err)
	}
	st, problems := readState(secret.Data)
	for _, p := range problems {
		a.log.Info("replacing what the Secret holds", "secret", a.opts.Namespace+"/"+a.opts.SecretName, "problem", p)
	}
	out, changes, next, err := plan(now, st, a.opts.Policy, a.opts.DNSNames)
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("issuing the API's certificates: %w", err)
	}
	if data := out.data(); !maps.EqualFunc(data, secret.Data, func(x, y []byte) bool { return string(x) == string(y) }) {
		secret.Data = data
		if err := a.writer.Update(ctx, &secret); err != nil {
			return reconcile.Result{}, fmt.Errorf("writing the API's certificates to the Secret %s/%s: %w", a.opts.Namespace, a.opts.SecretName, err)
		}
		a.log.Info("the API's certificates changed", "secret", a.opts.Namespace+"/"+a.opts.SecretName, "changes", changes,
			"caNotAfter", out.ca.cert.NotAfter.UTC().Format(time.RFC3339), "servingNotAfter", out.serving.cert.NotAfter.UTC().Format(time.RFC3339))
	}

	var cm corev1.ConfigMap
	if err := a.reader.Get(ctx, client.ObjectKey{Namespace: a.opts.Namespace, Name: a.opts.ConfigMapName}, &cm); err != nil {
		return reconcile.Result{}, a.missing("ConfigMap", a.opts.ConfigMapName, err)
	}
	if bundle := out.bundle(); cm.Data[BundleKey] != bundle {
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[BundleKey] = bundle
		if err := a.writer.Update(ctx, &cm); err != nil {
			return reconcile.Result{}, fmt.Errorf("publishing the API's CA in the ConfigMap %s/%s: %w", a.opts.Namespace, a.opts.ConfigMapName, err)
		}
		a.log.Info("published the API's CA bundle", "configMap", a.opts.Namespace+"/"+a.opts.ConfigMapName, "key", BundleKey, "certificates", strings.Count(bundle, "BEGIN CERTIFICATE"))
	}
	return reconcile.Result{RequeueAfter: min(max(next.Sub(now), time.Second), maxRequeue)}, nil
}

// missing explains a failure to read one of the two objects.
func (a *authority) missing(kind, name string, err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("the %s %s/%s does not exist: config/default (and the Helm chart) create it empty, and the manager, which may not create it, fills it; re-apply them, or create it (kubectl -n %s create %s %s)",
			kind, a.opts.Namespace, name, a.opts.Namespace, map[string]string{"Secret": "secret generic", "ConfigMap": "configmap"}[kind], name)
	}
	return fmt.Errorf("reading the %s %s/%s: %w", kind, a.opts.Namespace, name, err)
}
