// Command etcd is etcd's server, built from its Go module so that the
// end-to-end tests can run a real etcd for kube-apiserver on loopback.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
