package cmp

import (
	"errors"
	"fmt"
	"strings"
)

// Argo CD's Source Hydrator renders an Application's
// spec.sourceHydrator.drySource through the repo-server (and so through
// vaultcmp) and has its commit-server push what the plugin printed to a git
// branch, Secrets as they are. Nothing in the build environment says that a
// request is a hydration run (Argo CD 3.6's ManifestRequest for it differs
// only in carrying no cluster version: KUBE_VERSION is empty), so generate
// reads the Application itself, and only when the output would hold a value
// (an inline object).

// AppRef is the Application a render is for, as the cluster names it.
type AppRef struct {
	Namespace string
	Name      string
}

func (r AppRef) String() string { return r.Namespace + "/" + r.Name }

// ParseAppName turns ARGOCD_APP_NAME into the Application's namespace and
// name. The repo-server passes Argo CD's instance name: the name alone for
// an Application in Argo CD's own namespace (controlNamespace), and
// "<namespace>_<name>" for one elsewhere (apps in any namespace;
// Application.InstanceName). "<namespace>/<name>" (the qualified name) is
// read too. Neither a namespace nor a name has '_' or '/' in it, so the
// split is unambiguous.
func ParseAppName(appName, controlNamespace string) (AppRef, error) {
	if appName == "" {
		return AppRef{}, errors.New("ARGOCD_APP_NAME is not set")
	}
	for _, sep := range []string{"/", "_"} {
		if ns, name, ok := strings.Cut(appName, sep); ok {
			if ns == "" || name == "" || strings.ContainsAny(name, "/_") {
				return AppRef{}, fmt.Errorf("ARGOCD_APP_NAME %q is not <name>, <namespace>_<name> or <namespace>/<name>", appName)
			}
			return AppRef{Namespace: ns, Name: name}, nil
		}
	}
	if controlNamespace == "" {
		return AppRef{}, fmt.Errorf("Application %q: Argo CD's namespace is unknown (set VAULTCMP_ARGOCD_NAMESPACE)", appName)
	}
	return AppRef{Namespace: controlNamespace, Name: appName}, nil
}

// AppState is what reading the Application found.
type AppState int

const (
	// AppUnreadable: the Application could not be read (RBAC, the
	// apiserver, no cluster); the read's error says why.
	AppUnreadable AppState = iota
	// AppNotFound: the cluster has no such Application.
	AppNotFound
	// AppPlain: found, without spec.sourceHydrator.
	AppPlain
	// AppHydrated: found, with spec.sourceHydrator: Argo CD commits what
	// the plugin prints for its dry source to git.
	AppHydrated
)

// AppLookup is the outcome of reading the Application a render is for.
type AppLookup struct {
	App   AppRef
	State AppState
	Err   error // why the Application could not be named or read (AppUnreadable)
}

// inlineChoice says how to choose the in-cluster delivery.
const inlineChoice = "the plugin parameter `delivery: in-cluster` (the default: drop `delivery: inline`), " +
	"or the annotation `vaultcmp.io/delivery: in-cluster` on the object"

// CheckInline decides whether a render for Argo CD may print the values of
// the inline objects (VaultStaticSecrets delivered inline, as "kind
// namespace/name"). It fails closed: inline values are printed only for an
// Application that the cluster shows without spec.sourceHydrator, or —
// the one case of an Application not found — for a request that carries
// the cluster's version (kubeVersion, KUBE_VERSION): Argo CD checks a new
// Application's source before the Application exists, with the cluster's
// version, while a hydration run is always for an existing Application and,
// in Argo CD 3.x, carries no version. Pure: the read is the caller's.
func CheckInline(inline []string, app AppLookup, kubeVersion string) error {
	if len(inline) == 0 {
		return nil
	}
	objs := strings.Join(inline, ", ")
	switch app.State {
	case AppPlain:
		return nil
	case AppHydrated:
		return fmt.Errorf("Application %s uses Argo CD's Source Hydrator (spec.sourceHydrator): Argo CD commits what vaultcmp prints "+
			"for it to git, so vaultcmp refuses to print Secret values for it, whatever delivery is asked; inline objects: %s. "+
			"Deliver them in-cluster (%s): the hydrated branch then holds carriers without values, and the vaultcmp companion "+
			"writes the Secrets in the destination cluster", app.App, objs, inlineChoice)
	case AppNotFound:
		if kubeVersion != "" {
			return nil
		}
		return fmt.Errorf("Application %s was not found, so vaultcmp cannot tell whether Argo CD's Source Hydrator commits "+
			"this render to git, and it refuses to print Secret values; inline objects: %s. Check ARGOCD_APP_NAME and Argo CD's "+
			"namespace (VAULTCMP_ARGOCD_NAMESPACE), or deliver them in-cluster (%s)", app.App, objs, inlineChoice)
	default:
		cause := app.Err
		if cause == nil {
			cause = errors.New("no reason given")
		}
		what := "the Application"
		if app.App.Name != "" {
			what = "Application " + app.App.String()
		}
		return fmt.Errorf("vaultcmp could not read %s to check that Argo CD's Source Hydrator does not commit this render to "+
			"git (%w), so it refuses to print Secret values; inline objects: %s. Grant the sidecar's service account `get` on "+
			"applications.argoproj.io in the Application's namespace (the shipped Role vaultcmp-repo-server does in Argo CD's "+
			"namespace; Applications in other namespaces need a Role there too), or deliver them in-cluster (%s)",
			what, cause, objs, inlineChoice)
	}
}
