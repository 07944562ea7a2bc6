// Command etcd is etcd's server, built from go.etcd.io/etcd/server/v3 so that
// envtest and `make dev` need nothing but the Go module proxy.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
