// Command parts builds (or finds in the cache) the real parts the
// end-to-end tests run, one after another, and prints their paths.
//
//	parts            # all of them
//	parts vault      # only the named ones: vault, etcd, kube-apiserver, kube-controller-manager, argocd3 (3.6), argocd34 (3.4), helm
package main

import (
	"fmt"
	"os"

	"github.com/vaultcmp/vaultcmp/test/e2e"
)

var builders = map[string][]func() (string, error){
	"vault":                   {e2e.VaultBinary},
	"etcd":                    {e2e.EtcdBinary},
	"kube-apiserver":          {e2e.KubeAPIServerBinary},
	"kube-controller-manager": {e2e.KubeControllerManagerBinary},
	"argocd3":                 {e2e.Argo36.Binary},
	"argocd34":                {e2e.Argo34.Binary},
	"helm":                    {e2e.HelmBinary},
}

func main() {
	if len(os.Args) == 1 {
		bins, err := e2e.AllParts()
		report(bins, err)
		return
	}
	for _, name := range os.Args[1:] {
		fs, ok := builders[name]
		if !ok {
			report(nil, fmt.Errorf("unknown part %q (vault, etcd, kube-apiserver, kube-controller-manager, argocd3, argocd34, helm)", name))
		}
		for _, f := range fs {
			bin, err := f()
			report([]string{bin}, err)
		}
	}
}

func report(bins []string, err error) {
	for _, b := range bins {
		fmt.Println(b)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
