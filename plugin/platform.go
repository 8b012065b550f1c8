package plugin

import (
	"github.com/spf13/cobra"

	"github.com/vaultcmp/vaultcmp/identity"
	"github.com/vaultcmp/vaultcmp/limits"
	"github.com/vaultcmp/vaultcmp/renderer"
)

// platformFlags name the operator's platform objects (VSO's YAML outside
// any app) and the operator's namespace, for render, generate and validate.
type platformFlags struct {
	dir       string
	namespace string
}

func (f *platformFlags) register(cmd *cobra.Command, env Env) {
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "platform-dir", env.get(renderer.EnvPlatformDir),
		"directory (or file) of VSO YAML kept by the platform team: VaultConnections, VaultAuths, VaultAuthGlobals, SecretTransformations outside any app, found by ref after the app's own objects [$"+renderer.EnvPlatformDir+"]")
	ns := env.get(renderer.EnvPlatformNamespace)
	if ns == "" {
		ns = identity.DefaultOperatorNamespace
	}
	fl.StringVar(&f.namespace, "platform-namespace", ns,
		"the operator's namespace: its VaultConnection and VaultAuth named \"default\" are every app's defaults (VSO's defaultVaultConnection, defaultAuthMethod) [$"+renderer.EnvPlatformNamespace+"]")
}

// load reads the platform objects once for the run.
func (f *platformFlags) load(lim limits.Limits) (*identity.Platform, error) {
	p, err := renderer.LoadPlatform(f.dir, f.namespace, lim)
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: err}
	}
	return p, nil
}
