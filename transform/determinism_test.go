package transform

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

func TestBuildDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	nested := map[string]any{"k": "v"}
	in := kvV2(map[string]any{"a": "1", "nested": nested, "list": []any{"x"}}, 2)
	before := mustJSON(t, in.Response)
	r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
		"t": tmpl(`{{ $_ := set .Secrets "added" "x" }}{{ $_ := set (get .Secrets "nested") "k" "changed" }}` +
			`{{ $_ := set .Metadata "version" 99 }}{{ $_ := unset .Secrets "a" }}`),
	}}}
	got, err := Build(r, in)
	require.NoError(t, err)
	assert.Equal(t, before, mustJSON(t, in.Response))
	assert.Equal(t, "v", nested["k"])
	assert.Equal(t, []byte("x"), got["added"])
	assert.NotContains(t, got, "a")
	assert.Equal(t, `{"k":"changed"}`, string(got["nested"]))
}

func TestBuildDeterministic(t *testing.T) {
	t.Parallel()
	fields := map[string]any{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		fields[k] = map[string]any{"x": k, "y": json.Number("1"), "z": []any{k, true}}
	}
	in := kvV2(fields, 4)
	in.Annotations = map[string]string{"a1": "1", "a2": "2", "a3": "3"}
	in.Labels = map[string]string{"l1": "1", "l2": "2"}
	r := Resolved{Spec: v1beta1.Transformation{
		Excludes: []string{"^j$"},
		Templates: map[string]v1beta1.Template{
			"all":    tmpl(`{{ . }}`),
			"json":   tmpl(`{{ toJson . }}`),
			"keys":   tmpl(`{{ keys .Secrets }} {{ values .Annotations }}`),
			"range":  tmpl(`{{ range $k, $v := .Secrets }}{{ $k }}={{ $v }};{{ end }}`),
			"pretty": tmpl(`{{ mustToPrettyJson .Secrets }}`),
			"dict":   tmpl(`{{ pick .Secrets "a" "b" "c" }}{{ omit .Labels "l1" }}`),
		},
	}}
	first, err := Build(r, in)
	require.NoError(t, err)
	want := mustJSON(t, first)
	for range 50 {
		got, err := Build(r, in)
		require.NoError(t, err)
		require.Equal(t, string(want), string(mustJSON(t, got)))
	}
}

func TestDeepCopyValue(t *testing.T) {
	t.Parallel()
	ss := map[string]string{"a": "1"}
	sl := []string{"x"}
	in := map[string]any{"ss": ss, "sl": sl, "nilList": []any(nil), "n": json.Number("1"), "nil": nil}
	out := deepCopyMap(in)
	assert.Equal(t, in, out)
	ss["a"] = "2"
	sl[0] = "y"
	assert.Equal(t, map[string]string{"a": "1"}, out["ss"])
	assert.Equal(t, []string{"x"}, out["sl"])
	assert.Nil(t, deepCopyMap(nil))
}
