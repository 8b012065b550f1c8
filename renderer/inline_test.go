package renderer

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// randomJob is an inline job with random names, labels, annotations, type,
// create and data: mostly what Render sees, sometimes what the map path
// quotes, refuses or reports.
func randomJob(r *rand.Rand) *job {
	pick := func() string { // mostly strings yaml.v3 writes plain
		if r.IntN(30) == 0 {
			return scalarPool[r.IntN(len(scalarPool))]
		}
		return scalarPool[r.IntN(plainPool)]
	}
	name := func() string { // mostly valid DNS names
		switch r.IntN(12) {
		case 0:
			return pick()
		case 1:
			return ""
		case 2:
			return strings.Repeat("n", 40+r.IntN(30)) // a long owner annotation
		}
		return fmt.Sprintf("s%05d", r.IntN(100000))
	}
	strMap := func() map[string]string {
		if r.IntN(2) == 0 {
			return nil
		}
		m := map[string]string{}
		for range r.IntN(4) {
			m[pick()] = pick()
		}
		if r.IntN(6) == 0 { // a key of ours
			m[[]string{contract.LabelManagedBy, contract.LabelDelivery, contract.AnnotationOwner, argoSyncOptions}[r.IntN(4)]] = pick()
		}
		if r.IntN(6) == 0 { // Argo CD's tracking: dropped by both paths
			m[[]string{contract.ArgoInstanceLabel, contract.ArgoTrackingID, contract.ArgoInstallationID, contract.LastApplied}[r.IntN(4)]] = pick()
		}
		return m
	}
	vss := &v1beta1.VaultStaticSecret{ObjectMeta: metav1.ObjectMeta{Name: name()}}
	if r.IntN(3) > 0 {
		vss.Namespace = []string{"apps", "team-a", "", "Bad_NS"}[r.IntN(4)]
	}
	d := &vss.Spec.Destination
	d.Name, d.Create = name(), r.IntN(4) > 0
	d.Labels, d.Annotations = strMap(), strMap()
	switch r.IntN(4) {
	case 0:
		d.Type = corev1.SecretType(pick())
	case 1:
		d.Type = corev1.SecretTypeTLS
	}
	data := map[string][]byte{}
	for range r.IntN(5) {
		v := make([]byte, r.IntN(24))
		for i := range v {
			v[i] = byte(r.IntN(256))
		}
		data[pick()] = v
	}
	if r.IntN(200) == 0 {
		data["big"] = make([]byte, MaxSecretSize) // over the limit with any other key
	}
	return &job{vss: vss, data: data}
}

// The fast path writes the map path's bytes, takes a Secret only when the
// map path finds no problem in it, and declines only what the map path does
// not write plain.
func TestInlineSecretIsTheMapPath(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	fast := 0
	for i := range 10000 {
		j := randomJob(r)
		obj := staticSecret(j)
		want, err := encodeObject(obj)
		require.NoError(t, err)
		probs := checkObject(obj)
		got, ok := newInlineSecret(j).encode()
		if !ok {
			// Declined: only what the map path does not write plain or
			// finds a problem in.
			var b bytes.Buffer
			data, isData := secretData(obj)
			require.False(t, isData && len(probs) == 0 && writePlainSecret(&b, obj, data), "job %d: declined a plain Secret: %#v", i, obj)
			continue
		}
		fast++
		require.Empty(t, probs, "job %d: the fast path took a Secret with problems: %#v", i, obj)
		require.Equal(t, string(want), string(got), "job %d: %#v", i, obj)
	}
	assert.Greater(t, fast, 1500, "the fast path is taken often enough to be tested")

	// benchApp's Secrets take it.
	j := &job{vss: &v1beta1.VaultStaticSecret{ObjectMeta: metav1.ObjectMeta{Name: "s0001", Namespace: "apps"},
		Spec: v1beta1.VaultStaticSecretSpec{Destination: v1beta1.Destination{Name: "s0001", Create: true}}},
		data: map[string][]byte{"user": []byte("u"), "password": []byte("p"), "port": []byte("5432")}}
	got, ok := newInlineSecret(j).encode()
	require.True(t, ok)
	want, err := encodeObject(staticSecret(j))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}
