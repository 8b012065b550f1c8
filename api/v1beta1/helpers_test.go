package v1beta1

import (
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// decodeYAML converts y to JSON and decodes it, after checking that
// DecodeValue decodes it the same (so every decodeYAML test is differential).
func decodeYAML(t *testing.T, y string) (Object, error) {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	require.NoError(t, err)
	checkDecodeValue(t, j)
	return Decode(j)
}

// errorFields returns the field paths of a *DecodeError.
func errorFields(t *testing.T, err error) []string {
	t.Helper()
	require.Error(t, err)
	var de *DecodeError
	require.ErrorAs(t, err, &de)
	fields := make([]string, 0, len(de.Errs))
	for _, fe := range de.Errs {
		fields = append(fields, fe.Field)
	}
	return fields
}

func ptrTo[T any](v T) *T { return &v }
