package contract

// Argo CD's tracking metadata (Argo CD 3.6: util/argo/resource_tracking.go,
// common.AnnotationKeyAppInstance, common.AnnotationInstallationID): what
// makes Argo CD count an object among an Application's resources.
const (
	// ArgoInstanceLabel is Argo CD's default tracking label
	// (application.instanceLabelKey in argocd-cm changes it).
	ArgoInstanceLabel = "app.kubernetes.io/instance"
	// ArgoTrackingID is the annotation of annotation tracking (3.x default):
	// <app>:<group>/<kind>:<namespace>/<name>.
	ArgoTrackingID = "argocd.argoproj.io/tracking-id"
	// ArgoInstallationID names the Argo CD installation that tracks an
	// object (installationID in argocd-cm).
	ArgoInstallationID = "argocd.argoproj.io/installation-id"
	// LastApplied is kubectl's client-side apply record, which Argo CD
	// writes and diffs against.
	LastApplied = "kubectl.kubernetes.io/last-applied-configuration"
	// EnvInstanceLabelKey is the environment variable (companion flag
	// --argocd-instance-label-key) naming the installation's
	// application.instanceLabelKey when it is not the default.
	EnvInstanceLabelKey = "VAULTCMP_ARGOCD_INSTANCE_LABEL_KEY"
)

// ArgoTracking reports whether a label or annotation key is Argo CD's
// tracking metadata: the instance label (the default key, and
// instanceLabelKey, the installation's custom key, when not ""), the
// tracking-id and installation-id annotations, and the last-applied
// configuration. A destination Secret never takes one from a VSO object's
// destination.labels/annotations: on a Secret Argo CD does not render,
// label tracking would count it as an app resource missing from git (prune,
// then the companion recreates it: a loop); on one it renders, Argo CD sets
// its own.
func ArgoTracking(key, instanceLabelKey string) bool {
	switch key {
	case ArgoInstanceLabel, ArgoTrackingID, ArgoInstallationID, LastApplied:
		return true
	}
	return instanceLabelKey != "" && key == instanceLabelKey
}

// WithoutArgoTracking is m without Argo CD's tracking keys (ArgoTracking);
// nil when m is empty.
func WithoutArgoTracking(m map[string]string, instanceLabelKey string) map[string]string {
	var out map[string]string
	for k, v := range m {
		if ArgoTracking(k, instanceLabelKey) {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(m))
		}
		out[k] = v
	}
	return out
}
