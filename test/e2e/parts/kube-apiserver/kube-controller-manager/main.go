// Command kube-controller-manager is Kubernetes' controller manager, built
// from the same module as the kube-apiserver part (one build cache), so the
// end-to-end tests see Deployments make ReplicaSets: a rollout restart
// makes a new one.
package main

import (
	"os"

	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() { os.Exit(cli.Run(app.NewControllerManagerCommand())) }
