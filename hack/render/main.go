// Command render prints a kustomization's objects as `kubectl kustomize`
// does, optionally with the manager's image replaced, without needing a
// kustomize binary: `make deploy` pipes it into `kubectl apply`.
//
//	go run ./hack/render [--image=registry.example/stagehand:v1] config/default
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/stagehand-dev/stagehand/hack/manifests"
)

func main() {
	image := flag.String("image", "", "Image to run the manager from, in place of "+manifests.Image+".")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: render [--image=IMAGE] DIR\n\nPrints the objects of the kustomization in DIR.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	b, err := manifests.Render(flag.Arg(0), *image)
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
	_, _ = os.Stdout.Write(b)
}
