//go:build tools

// Package controlplane pins the modules whose commands `make envtest` builds.
package controlplane

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
