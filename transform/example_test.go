package transform_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/transform"
)

// The seed's VaultStaticSecret "webapp-config" (kv-v2): two templates, no
// _raw, and internal_key left out.
func Example() {
	fields := map[string]any{
		"db_user":      "app",
		"db_pass":      "s3cr3t",
		"db_host":      "db.internal",
		"redis_pass":   "r3d1s",
		"internal_key": "k",
	}
	in := transform.Input{
		Namespace: "webapp-ns",
		Name:      "webapp-config",
		Fields:    fields,
		Response: map[string]any{
			"data":     fields,
			"metadata": map[string]any{"version": json.Number("3")},
		},
	}
	r := transform.Resolved{Spec: v1beta1.Transformation{
		ExcludeRaw: true,
		Excludes:   []string{"internal_key"},
		Templates: map[string]v1beta1.Template{
			"DATABASE_URL": {Text: `postgresql://{{ get .Secrets "db_user" }}:{{ get .Secrets "db_pass" }}@{{ get .Secrets "db_host" }}:5432/appdb` + "\n"},
			"REDIS_URL":    {Text: `redis://:{{ get .Secrets "redis_pass" }}@redis:6379/0` + "\n"},
			"VERSION":      {Text: `{{ .Metadata.version }}`},
		},
	}}
	if err := transform.Check(r); err != nil {
		fmt.Println(err)
		return
	}
	data, err := transform.Build(r, in)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fmt.Printf("%s=%q\n", k, data[k])
	}
	// Output:
	// DATABASE_URL="postgresql://app:s3cr3t@db.internal:5432/appdb\n"
	// REDIS_URL="redis://:r3d1s@redis:6379/0\n"
	// VERSION="3"
	// db_host="db.internal"
	// db_pass="s3cr3t"
	// db_user="app"
	// redis_pass="r3d1s"
}

// A VaultPKISecret with destination type kubernetes.io/tls: Build, then
// NormalizePKI, then TLSLayout.
func ExampleTLSLayout() {
	resp := map[string]any{
		"certificate": "CERT",
		"issuing_ca":  "INT",
		"ca_chain":    []any{"INT", "ROOT"},
		"private_key": "KEY",
	}
	r := transform.Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true}}
	data, err := transform.Build(r, transform.Input{Namespace: "ns", Name: "cert", Fields: resp, Response: resp})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := transform.NormalizePKI(data, resp); err != nil {
		fmt.Println(err)
		return
	}
	transform.TLSLayout(data, transform.SecretTypeTLS, transform.HasTemplates(r))
	fmt.Printf("%q\n%q\n%q\n", data["ca_chain"], data["tls.crt"], data["tls.key"])
	// Output:
	// "INT\nROOT"
	// "CERT\nINT\nROOT"
	// "KEY"
}
