package v1beta1

import "testing"

// Every kind validation allows has a resource (the companion patches it, the
// renderer finds it), and the resources are the ones VSO rolls.
func TestRolloutResources(t *testing.T) {
	want := map[string]RolloutResource{
		"Deployment":   {Group: "apps", Version: "v1", Kind: "Deployment", Resource: "deployments"},
		"DaemonSet":    {Group: "apps", Version: "v1", Kind: "DaemonSet", Resource: "daemonsets"},
		"StatefulSet":  {Group: "apps", Version: "v1", Kind: "StatefulSet", Resource: "statefulsets"},
		"argo.Rollout": {Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Resource: "rollouts"},
	}
	for _, k := range rolloutKinds {
		got, ok := RolloutResourceOf(k)
		if !ok || got != want[k] {
			t.Errorf("RolloutResourceOf(%q) = %+v, %v; want %+v", k, got, ok, want[k])
		}
		if !IsRolloutResourceKind(got.Kind) {
			t.Errorf("IsRolloutResourceKind(%q) = false", got.Kind)
		}
	}
	if len(rolloutKinds) != len(want) {
		t.Errorf("%d rollout kinds, want %d", len(rolloutKinds), len(want))
	}
	for _, k := range []string{"", "Pod", "Job", "argo.Rollout", "deployments"} {
		if IsRolloutResourceKind(k) {
			t.Errorf("IsRolloutResourceKind(%q) = true", k)
		}
	}
	if _, ok := RolloutResourceOf("Rollout"); ok {
		t.Error(`RolloutResourceOf("Rollout"): VSO's kind is argo.Rollout`)
	}
}
