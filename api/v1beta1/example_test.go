package v1beta1_test

import (
	"errors"
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

func ExampleDecode() {
	doc := []byte(`
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: webapp-config
  namespace: webapp-ns
spec:
  type: kv-v2
  mount: secret
  path: webapp/../admin
  vaultAuthRef: vault-auth-k8s
  destination:
    nmae: webapp-k8s-secret
`)
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		panic(err)
	}
	_, err = v1beta1.Decode(j)
	var de *v1beta1.DecodeError
	if errors.As(err, &de) {
		for _, fe := range de.Errs {
			fmt.Println(fe.Field, "-", fe.ErrorBody())
		}
	}
	// Output:
	// spec.destination.nmae - Forbidden: unknown field
	// spec.path - Invalid value: "webapp/../admin": must not contain a '..' segment
	// spec.destination.name - Required value
}

func ExampleParseRef() {
	fmt.Println(v1beta1.ParseRef("vault-auth-k8s", "webapp-ns"))
	fmt.Println(v1beta1.ParseRef("shared/vault-auth", "webapp-ns"))
	// Output:
	// webapp-ns vault-auth-k8s
	// shared vault-auth
}
