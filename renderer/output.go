package renderer

import (
	"bytes"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// WriteYAML writes objs as a multi-document YAML stream. Keys are sorted, so
// the same objects always give the same bytes.
func WriteYAML(w io.Writer, objs []map[string]any) error {
	var buf bytes.Buffer
	for i, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			return fmt.Errorf("encoding object %d: %w", i, err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
