package renderer

import (
	"bytes"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// WriteYAML writes objs as a multi-document YAML stream. Keys are sorted, so
// the same objects always give the same bytes. Objects are encoded
// concurrently.
func WriteYAML(w io.Writer, objs []map[string]any) error {
	bufs := make([]bytes.Buffer, len(objs))
	errs := make([]error, len(objs))
	parallel(len(objs), func(i int) {
		bufs[i].WriteString("---\n")
		enc := yaml.NewEncoder(&bufs[i])
		enc.SetIndent(2)
		enc.CompactSeqIndent()
		if err := enc.Encode(objs[i]); err != nil {
			errs[i] = fmt.Errorf("encoding object %d: %w", i, err)
			return
		}
		errs[i] = enc.Close()
	})
	var all bytes.Buffer
	for i := range bufs {
		if errs[i] != nil {
			return errs[i]
		}
		all.Write(bufs[i].Bytes())
	}
	_, err := w.Write(all.Bytes())
	return err
}
