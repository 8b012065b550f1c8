package companion

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/vaultcmp/vaultcmp/contract"
)

// Row 13 of issue 15: /metrics is HTTPS behind the apiserver's authn/authz
// unless the operator says otherwise.
func TestMetricsOptions(t *testing.T) {
	certDir := t.TempDir()
	for _, n := range []string{MetricsCertName, MetricsKeyName} {
		require.NoError(t, os.WriteFile(filepath.Join(certDir, n), []byte("x"), 0o600))
	}
	for _, tc := range []struct {
		name    string
		opts    Options
		secure  bool
		certDir string
		err     string
	}{
		{name: "default: secure, self-signed", opts: Options{MetricsAddress: ":8443"}, secure: true},
		{name: "secure with a certificate", opts: Options{MetricsAddress: ":8443", MetricsCertDir: certDir}, secure: true, certDir: certDir},
		{name: "a certificate directory without the files", opts: Options{MetricsCertDir: t.TempDir()}, err: "reading the metrics certificate"},
		{name: "insecure, for local use", opts: Options{MetricsAddress: ":8080", MetricsInsecure: true}},
		{name: "insecure with a certificate: contradictory", opts: Options{MetricsInsecure: true, MetricsCertDir: certDir}, err: "without TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := metricsOptions(tc.opts)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.opts.MetricsAddress, o.BindAddress)
			assert.Equal(t, tc.secure, o.SecureServing)
			assert.Equal(t, tc.secure, o.FilterProvider != nil, "authentication and authorization exactly when secure")
			assert.Equal(t, tc.certDir, o.CertDir)
			if tc.secure {
				c := &tls.Config{NextProtos: []string{"h2"}}
				for _, f := range o.TLSOpts {
					f(c)
				}
				assert.Equal(t, []string{"http/1.1"}, c.NextProtos, "no HTTP/2")
			}
		})
	}
}

// Row 7 of issue 15: only carrier-type Secrets are cached, without data.
func TestCarrierCache(t *testing.T) {
	by, err := carrierCache()
	require.NoError(t, err)
	for _, tc := range []struct {
		typ    corev1.SecretType
		labels map[string]string
		want   bool
	}{
		{typ: contract.SecretType, labels: map[string]string{contract.LabelContract: "v1"}, want: true},
		{typ: corev1.SecretTypeOpaque, labels: map[string]string{contract.LabelContract: "v1"}},
		{typ: "vaultcmp.io/contract-v2", labels: map[string]string{contract.LabelContract: "v2"}},
		{typ: contract.SecretType},
	} {
		got := by.Label.Matches(labels.Set(tc.labels)) && by.Field.Matches(fields.Set{"type": string(tc.typ)})
		assert.Equal(t, tc.want, got, "type %s, labels %v", tc.typ, tc.labels)
	}
	assert.Equal(t, "type="+contract.SecretType, by.Field.String(), "the apiserver filters by type")

	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "c", Annotations: map[string]string{contract.AnnotationContract: "{}"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}}},
		Type: contract.SecretType, Data: map[string][]byte{"blob": make([]byte, 1<<10)}, StringData: map[string]string{"k": "v"},
	}
	out, err := by.Transform(s)
	require.NoError(t, err)
	got := out.(*corev1.Secret)
	assert.True(t, got.Data == nil, "data dropped (%d keys left)", len(got.Data))
	assert.Nil(t, got.StringData)
	assert.Nil(t, got.ManagedFields)
	assert.Equal(t, "{}", got.Annotations[contract.AnnotationContract], "the metadata stays")
	other, err := by.Transform("tombstone")
	require.NoError(t, err)
	assert.Equal(t, "tombstone", other)
}
