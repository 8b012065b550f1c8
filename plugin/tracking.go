package plugin

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/vaultcmp/vaultcmp/contract"
)

// instanceLabel is the installation's custom Argo CD instance label key:
// the flag, else contract.EnvInstanceLabelKey ("" when neither is set: the
// default app.kubernetes.io/instance only). A key that cannot be a label
// key is a usage error.
func instanceLabel(env Env, flag string) (string, error) {
	k := strings.TrimSpace(flag)
	if k == "" {
		k = strings.TrimSpace(env.get(contract.EnvInstanceLabelKey))
	}
	if k == "" {
		return "", nil
	}
	if errs := validation.IsQualifiedName(k); len(errs) > 0 {
		return "", fmt.Errorf("--argocd-instance-label-key / %s %q is not a label key: %s", contract.EnvInstanceLabelKey, k, strings.Join(errs, "; "))
	}
	return k, nil
}
