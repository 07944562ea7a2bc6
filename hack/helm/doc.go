// Package helm holds the tests of stagehand's Helm chart (dist/chart) and of
// its one-file install manifest (dist/install.yaml), both generated from
// config/ by `make release` (hack/chart).
//
// The chart is rendered with Helm's own Go library, as `helm template` and
// `helm install` render it, with its default values and with others, and
// compared with config/default rendered by kustomize; then what it renders,
// and dist/install.yaml, are applied to a real kube-apiserver (envtest),
// whose Pod Security admission and RBAC authorizer have the last word.
//
// It is a Go module of its own (hack/helm/go.mod), so that Helm's large
// dependency tree stays out of the manager's go.mod; `make test` runs it.
package helm
