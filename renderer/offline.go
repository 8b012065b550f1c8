package renderer

import (
	"fmt"
	"sort"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/transform"
)

// AnnotationOffline marks a Secret rendered offline: its data are placeholders.
const AnnotationOffline = "vaultcmp.io/offline"

// placeholderData is what an offline render puts in a Secret: the keys that
// are known without Vault (template outputs, `_raw`), each holding a
// placeholder that names its source. Keys that come from the Vault secret's
// own fields cannot be known offline.
func placeholderData(vss *v1beta1.VaultStaticSecret, refs []*v1beta1.SecretTransformation) map[string][]byte {
	s := vss.Spec
	src := fmt.Sprintf("%s %s/%s", s.Type, s.Mount, s.Path)
	data := map[string][]byte{}
	for _, k := range templateKeys(s.Destination.Transformation, refs) {
		data[k] = []byte(fmt.Sprintf("<vault: %s, template %s>", src, k))
	}
	if !s.Destination.Transformation.ExcludeRaw {
		data[transform.KeyRaw] = []byte(fmt.Sprintf("<vault: %s, raw>", src))
	}
	return data
}

// templateKeys lists the output keys of a transformation's templates.
func templateKeys(t v1beta1.Transformation, refs []*v1beta1.SecretTransformation) []string {
	keys := map[string]bool{}
	for k := range t.Templates {
		keys[k] = true
	}
	for i, ref := range t.TransformationRefs {
		if i >= len(refs) || refs[i] == nil {
			continue
		}
		if len(ref.TemplateRefs) == 0 {
			for k := range refs[i].Spec.Templates {
				keys[k] = true
			}
			continue
		}
		for _, tr := range ref.TemplateRefs {
			k := tr.KeyOverride
			if k == "" {
				k = tr.Name
			}
			keys[k] = true
		}
	}
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func offlineNote(vss *v1beta1.VaultStaticSecret) string {
	s := vss.Spec
	v := "latest"
	if s.Version > 0 {
		v = fmt.Sprintf("version %d", s.Version)
	}
	return fmt.Sprintf("placeholders for %s %s/%s (%s); fields of the secret itself are unknown offline", s.Type, s.Mount, s.Path, v)
}
