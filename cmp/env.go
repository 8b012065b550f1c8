package cmp

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Parameter names announced in plugin.yaml.
const (
	ParamDelivery        = "delivery"
	ParamHelmReleaseName = "helm-release-name"
	ParamHelmValuesFiles = "helm-values-files"
	ParamHelmParameters  = "helm-parameters"
)

// BuildEnv is what the repo-server tells the plugin about the app.
type BuildEnv struct {
	AppName       string
	Namespace     string // destination namespace
	Project       string // Argo CD 3 only
	Revision      string
	SourceRepoURL string
	SourcePath    string
	KubeVersion   string
	APIVersions   []string
	// Env holds spec.source.plugin.env, without the ARGOCD_ENV_ prefix.
	Env    map[string]string
	Params Params
}

// Params are the plugin parameters of plugin.yaml.
type Params struct {
	// Delivery is the app's delivery of static secrets: "" or "in-cluster"
	// (the default: the companion writes the values, none passes through
	// Argo CD), or "inline" (the values rendered into the manifests, so
	// they reach the repo-server's answers and Argo CD's Redis).
	Delivery        string
	HelmReleaseName string
	HelmValuesFiles []string
	HelmParameters  map[string]string
}

// parameter is one entry of ARGOCD_APP_PARAMETERS.
type parameter struct {
	Name   string            `json:"name"`
	String *string           `json:"string,omitempty"`
	Array  []string          `json:"array,omitempty"`
	Map    map[string]string `json:"map,omitempty"`
}

// FromEnviron reads the build environment. Unknown parameters are an error:
// a typo must not silently change how secrets are delivered.
func FromEnviron(lookup func(string) (string, bool)) (*BuildEnv, error) {
	get := func(k string) string { v, _ := lookup(k); return v }
	e := &BuildEnv{
		AppName:       get("ARGOCD_APP_NAME"),
		Namespace:     get("ARGOCD_APP_NAMESPACE"),
		Project:       get("ARGOCD_APP_PROJECT_NAME"),
		Revision:      get("ARGOCD_APP_REVISION"),
		SourceRepoURL: get("ARGOCD_APP_SOURCE_REPO_URL"),
		SourcePath:    get("ARGOCD_APP_SOURCE_PATH"),
		KubeVersion:   get("KUBE_VERSION"),
		Env:           map[string]string{},
	}
	if v := get("KUBE_API_VERSIONS"); v != "" {
		e.APIVersions = strings.Split(v, ",")
	}
	if raw := get("ARGOCD_APP_PARAMETERS"); raw != "" {
		var ps []parameter
		if err := json.Unmarshal([]byte(raw), &ps); err != nil {
			return nil, fmt.Errorf("reading ARGOCD_APP_PARAMETERS: %w", err)
		}
		for _, p := range ps {
			if err := e.Params.set(p); err != nil {
				return nil, err
			}
		}
	}
	switch e.Params.Delivery {
	case "", "in-cluster", "inline":
	default:
		return nil, fmt.Errorf("parameter %s: %q is not in-cluster (the default) or inline", ParamDelivery, e.Params.Delivery)
	}
	return e, nil
}

// FromEnvironList is FromEnviron over KEY=VALUE pairs; it also collects the
// ARGOCD_ENV_ variables.
func FromEnvironList(environ []string) (*BuildEnv, error) {
	m := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	e, err := FromEnviron(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
	if err != nil {
		return nil, err
	}
	for k, v := range m {
		if name, ok := strings.CutPrefix(k, "ARGOCD_ENV_"); ok {
			e.Env[name] = v
		}
	}
	return e, nil
}

func (p *Params) set(in parameter) error {
	str := func() (string, error) {
		if in.String == nil {
			return "", fmt.Errorf("parameter %s must be a string", in.Name)
		}
		return *in.String, nil
	}
	var err error
	switch in.Name {
	case ParamDelivery:
		p.Delivery, err = str()
	case ParamHelmReleaseName:
		p.HelmReleaseName, err = str()
	case ParamHelmValuesFiles:
		p.HelmValuesFiles = in.Array
	case ParamHelmParameters:
		p.HelmParameters = in.Map
	default:
		known := []string{ParamDelivery, ParamHelmReleaseName, ParamHelmValuesFiles, ParamHelmParameters}
		sort.Strings(known)
		return fmt.Errorf("unknown plugin parameter %q (vaultcmp knows %s)", in.Name, strings.Join(known, ", "))
	}
	return err
}
