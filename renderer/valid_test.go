package renderer

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckOutput(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	secret := func(data map[string]any) map[string]any {
		return map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"}, "data": data}
	}
	for _, tc := range []struct {
		name string
		obj  map[string]any
		want []string // in the problems; nil: valid
	}{
		{"valid", secret(map[string]any{"a.b-c_d": b64("v")}), nil},
		{"generateName", map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": map[string]any{"generateName": "j-"}}, nil},
		{"bad keys", secret(map[string]any{"bad key!": b64("SECRET1"), "../escape": b64("SECRET2"), "": b64("SECRET3")}),
			[]string{"invalid Secret key bad key!", "invalid Secret key ../escape", "invalid Secret key :"}},
		{"too big", secret(map[string]any{"a": b64(strings.Repeat("x", MaxSecretSize)), "b": b64("y")}), []string{"1048577 bytes of data, more than the kube-apiserver's limit"}},
		{"stringData counts", map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"},
			"data": map[string]any{"a": b64(strings.Repeat("x", MaxSecretSize/2+1))}, "stringData": map[string]any{"b": strings.Repeat("y", MaxSecretSize/2)}}, []string{"limit"}},
		{"not base64", secret(map[string]any{"a": "!!!"}), []string{"not base64"}},
		{"no apiVersion", map[string]any{"kind": "ConfigMap", "metadata": map[string]any{"name": "c"}}, []string{"missing apiVersion"}},
		{"no kind", map[string]any{"apiVersion": "v1", "metadata": map[string]any{"name": "c"}}, []string{"missing kind"}},
		{"no name", map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{}}, []string{"missing metadata.name"}},
		{"bad name", map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "../x"}}, []string{"invalid name ../x"}},
		{"bad namespace", map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "namespace": "Not OK"}}, []string{"invalid namespace"}},
		{"bad group", map[string]any{"apiVersion": "Not A Group/v1", "kind": "X", "metadata": map[string]any{"name": "c"}}, []string{"invalid apiVersion"}},
		{"control characters", map[string]any{"apiVersion": "v1", "kind": "Config\nMap", "metadata": map[string]any{"name": "c"}}, []string{`invalid kind "Config\nMap"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &Result{}
			res.add(tc.obj, nil, &Object{Source: "f.yaml", Data: tc.obj})
			probs := checkOutput(res)
			if tc.want == nil {
				require.Empty(t, probs)
				return
			}
			require.NotEmpty(t, probs)
			msg := probs.Error()
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
			assert.NotContains(t, msg, "SECRET")
			assert.Contains(t, msg, "f.yaml")
		})
	}
}

// secretValid (the check without sorting or decoding) says valid only when
// checkSecret's full pass finds nothing, and says it for what Render
// writes.
func TestSecretValidAgreesWithSecretProblems(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	fast := 0
	for i := range 5000 {
		obj := randomSecret(r)
		data := obj["data"].(map[string]any)
		mutation := r.IntN(8)
		switch mutation {
		case 0:
			data["bad key!"] = "YQ=="
		case 1:
			data["k"] = "not base64"
		case 2:
			data["k"] = "YWJj\nZGVm" // base64 with a line break: valid, left to the full pass
		case 3:
			data["k"] = 42
		case 4:
			data["big"] = base64.StdEncoding.EncodeToString(make([]byte, MaxSecretSize))
		case 5:
			obj["stringData"] = map[string]any{"s": strings.Repeat("x", r.IntN(10))}
		}
		valid, probs := secretValid(obj), secretProblems(obj)
		if valid {
			fast++
			require.Empty(t, probs, "secret %d: secretValid passed what the full check refuses: %#v", i, obj)
		}
		if len(probs) == 0 && mutation != 2 {
			require.True(t, valid, "secret %d: a valid Secret takes the full pass: %#v", i, obj)
		}
	}
	assert.Greater(t, fast, 500, "the fast check is taken often enough to be tested")
}
