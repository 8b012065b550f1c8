package renderer_test

import (
	"context"
	"fmt"
	"os"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/renderer"
)

// Render without Vault (offline), inline: the Secret holds placeholders
// that name their source, the VaultAuth disappears, the ConfigMap passes
// through. (The default delivery, in-cluster, would print a carrier and no
// Secret: see Options.Delivery.)
func ExampleRender() {
	objs, err := renderer.Decode([]byte(`
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: default}
spec: {method: kubernetes, mount: kubernetes, kubernetes: {role: app, serviceAccount: app}}
---
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata: {name: app}
spec:
  type: kv-v2
  mount: secret
  path: app/config
  destination:
    name: app-secret
    create: true
    transformation:
      excludeRaw: true
      templates:
        url: {text: 'postgres://{{ get .Secrets "user" }}@db/app'}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: fast}
`), "app.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := renderer.Render(context.Background(), objs, renderer.Options{Namespace: "apps", Offline: true, Delivery: contract.DeliveryInline})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = res.WriteYAML(os.Stdout)
	// Output:
	// ---
	// apiVersion: v1
	// kind: Secret
	// metadata:
	//   annotations:
	//     vaultcmp.io/offline: placeholders for kv-v2 secret/app/config (latest); fields of the secret itself are unknown offline
	//     vaultcmp.io/owner: VaultStaticSecret/app
	//   labels:
	//     app.kubernetes.io/managed-by: vaultcmp
	//     vaultcmp.io/delivery: inline
	//   name: app-secret
	// stringData:
	//   url: '<vault: kv-v2 secret/app/config, template url>'
	// type: Opaque
	// ---
	// apiVersion: v1
	// data:
	//   mode: fast
	// kind: ConfigMap
	// metadata:
	//   name: settings
}
