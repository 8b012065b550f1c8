package renderer

import (
	"fmt"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/transform"
)

// AnnotationOffline marks a Secret rendered offline: its data are placeholders.
const AnnotationOffline = "vaultcmp.io/offline"

// placeholderData is what an offline render puts in a Secret: the keys that
// are known without Vault (template outputs by transform.TemplateKeys,
// `_raw`), each holding a placeholder that names its source. Keys that come
// from the Vault secret's own fields cannot be known offline.
func placeholderData(vss *v1beta1.VaultStaticSecret, ns string, refs []*v1beta1.SecretTransformation) (map[string][]byte, error) {
	s := vss.Spec
	src := fmt.Sprintf("%s %s/%s", s.Type, s.Mount, s.Path)
	keys, err := transform.TemplateKeys(transform.Resolved{Spec: s.Destination.Transformation, Refs: refs}, ns, vss.Name)
	if err != nil {
		return nil, err
	}
	data := map[string][]byte{}
	for _, k := range keys {
		data[k] = []byte(fmt.Sprintf("<vault: %s, template %s>", src, k))
	}
	if !s.Destination.Transformation.ExcludeRaw {
		data[transform.KeyRaw] = []byte(fmt.Sprintf("<vault: %s, raw>", src))
	}
	return data, nil
}

func offlineNote(vss *v1beta1.VaultStaticSecret) string {
	s := vss.Spec
	v := "latest"
	if s.Version > 0 {
		v = fmt.Sprintf("version %d", s.Version)
	}
	return fmt.Sprintf("placeholders for %s %s/%s (%s); fields of the secret itself are unknown offline", s.Type, s.Mount, s.Path, v)
}
