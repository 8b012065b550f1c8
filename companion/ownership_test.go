package companion

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// Row 11 of issue 15: a carrier never takes over a Secret that belongs to
// something else; overwrite adopts only a Secret nothing owns.
func TestDecideDestination(t *testing.T) {
	carrier := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "vaultcmp-vds.db", Namespace: "app", UID: "carrier-uid",
			Labels:      map[string]string{labelArgoInstance: "webapp"},
			Annotations: map[string]string{annotationArgoTracking: "webapp:/Secret:app/vaultcmp-vds.db"}},
		Type: contract.SecretType,
	}
	secret := func(typ corev1.SecretType, mod func(*corev1.Secret)) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "app", UID: "victim-uid"}, Type: typ}
		if mod != nil {
			mod(s)
		}
		return s
	}
	owner := func(kind, name string, uid types.UID) func(*corev1.Secret) {
		return func(s *corev1.Secret) {
			s.OwnerReferences = append(s.OwnerReferences, metav1.OwnerReference{APIVersion: "v1", Kind: kind, Name: name, UID: uid})
		}
	}
	mine := owner("Secret", "vaultcmp-vds.db", "carrier-uid")
	label := func(k, v string) func(*corev1.Secret) {
		return func(s *corev1.Secret) { s.Labels = map[string]string{k: v} }
	}
	annotate := func(k, v string) func(*corev1.Secret) {
		return func(s *corev1.Secret) { s.Annotations = map[string]string{k: v} }
	}
	create := v1beta1.Destination{Name: "db", Create: true}
	overwrite := v1beta1.Destination{Name: "db", Create: true, Overwrite: true}
	dataOnly := v1beta1.Destination{Name: "db"}
	withType := func(d v1beta1.Destination, typ corev1.SecretType) v1beta1.Destination { d.Type = typ; return d }
	withName := func(d v1beta1.Destination, n string) v1beta1.Destination { d.Name = n; return d }

	for _, tc := range []struct {
		name    string
		d       v1beta1.Destination
		cur     *corev1.Secret
		want    destAction
		refused string // the owner the refusal names ("" if any error but a refusal)
		err     string
	}{
		{name: "absent: create", d: create, want: destCreate},
		{name: "absent, create false: error", d: dataOnly, err: "does not exist"},
		{name: "created by this carrier", d: create, cur: secret(corev1.SecretTypeOpaque, mine), want: destUpdate},
		{name: "created by this carrier, overwrite", d: overwrite, cur: secret(corev1.SecretTypeOpaque, mine), want: destUpdate},
		{name: "created by this carrier, new type: recreate", d: withType(create, corev1.SecretTypeTLS), cur: secret(corev1.SecretTypeOpaque, mine), want: destUpdate},
		{name: "created by this carrier, now create false", d: dataOnly, cur: secret(corev1.SecretTypeOpaque, mine), want: destWriteData},
		{name: "unowned, no overwrite", d: create, cur: secret(corev1.SecretTypeOpaque, nil), refused: "someone else"},
		{name: "unowned, overwrite: adopt", d: overwrite, cur: secret(corev1.SecretTypeOpaque, nil), want: destAdopt},
		{name: "same app (label), overwrite: adopt", d: overwrite, cur: secret(corev1.SecretTypeOpaque, label(labelArgoInstance, "webapp")), want: destAdopt},
		{name: "same app (annotation), overwrite: adopt", d: overwrite, cur: secret(corev1.SecretTypeOpaque, annotate(annotationArgoTracking, "webapp:/Secret:app/db")), want: destAdopt},
		// The Secret the app ships next to a create: false object (VSO's samples):
		// Argo CD applied it for the carrier's own Application.
		{name: "shipped by the same app (label), create false: data only", d: dataOnly, cur: secret(corev1.SecretTypeOpaque, label(labelArgoInstance, "webapp")), want: destWriteData},
		{name: "shipped by the same app (annotation), create false: data only", d: dataOnly, cur: secret(corev1.SecretTypeOpaque, annotate(annotationArgoTracking, "webapp:/Secret:app/db")), want: destWriteData},
		{name: "shipped by the same app as kubernetes.io/tls, create false: data only", d: dataOnly, cur: secret(corev1.SecretTypeTLS, label(labelArgoInstance, "webapp")), want: destWriteData},
		{name: "another app's label", d: overwrite, cur: secret(corev1.SecretTypeOpaque, label(labelArgoInstance, "billing")), refused: "Argo CD Application billing"},
		{name: "another app's annotation", d: overwrite, cur: secret(corev1.SecretTypeOpaque, annotate(annotationArgoTracking, "billing:/Secret:app/db")), refused: "Argo CD Application billing"},
		{name: "another app's annotation, create false", d: dataOnly, cur: secret(corev1.SecretTypeOpaque, annotate(annotationArgoTracking, "billing:/Secret:app/db")), refused: "Argo CD Application billing"},
		{name: "another app in another namespace's", d: overwrite, cur: secret(corev1.SecretTypeOpaque, label(labelArgoInstance, "team_webapp")), refused: "Argo CD Application team_webapp"},
		{name: "owned by a Deployment", d: overwrite, cur: secret(corev1.SecretTypeOpaque, owner("Deployment", "billing", "d-uid")), refused: "Deployment billing"},
		{name: "owned by a Deployment, create false", d: dataOnly, cur: secret(corev1.SecretTypeOpaque, owner("Deployment", "billing", "d-uid")), refused: "Deployment billing"},
		{name: "owned by another carrier", d: overwrite, cur: secret(corev1.SecretTypeOpaque, owner("Secret", "vaultcmp-vds.other", "other-uid")), refused: "Secret vaultcmp-vds.other"},
		{name: "owned by this carrier and another", d: overwrite, cur: secret(corev1.SecretTypeOpaque, func(s *corev1.Secret) { mine(s); owner("Deployment", "x", "x-uid")(s) }), refused: "Deployment x"},
		{name: "vaultcmp's, owner gone", d: overwrite, cur: secret(corev1.SecretTypeOpaque, label(contract.LabelManagedBy, contract.ManagedBy)), refused: "vaultcmp"},
		{name: "VSO's", d: overwrite, cur: secret(corev1.SecretTypeOpaque, label(contract.LabelManagedBy, managedByVSO)), refused: "Vault Secrets Operator"},
		{name: "service-account token, overwrite", d: overwrite, cur: secret(corev1.SecretTypeServiceAccountToken, annotate(corev1.ServiceAccountNameKey, "deployer")), refused: "service account deployer"},
		{name: "service-account token, create false", d: dataOnly, cur: secret(corev1.SecretTypeServiceAccountToken, annotate(corev1.ServiceAccountNameKey, "deployer")), refused: "service account deployer"},
		{name: "service-account token, destination says so", d: withType(overwrite, corev1.SecretTypeServiceAccountToken), cur: secret(corev1.SecretTypeServiceAccountToken, nil), refused: "Kubernetes"},
		{name: "destination of the carrier type", d: withType(create, contract.SecretType), refused: "vaultcmp"},
		{name: "another type, overwrite", d: overwrite, cur: secret(corev1.SecretTypeTLS, nil), refused: "someone else"},
		{name: "the destination's type, overwrite", d: withType(overwrite, corev1.SecretTypeTLS), cur: secret(corev1.SecretTypeTLS, nil), want: destAdopt},
		{name: "the carrier itself", d: withName(overwrite, "vaultcmp-vds.db"), cur: carrier, refused: "the carrier itself"},
		{name: "the carrier itself, create false", d: withName(dataOnly, "vaultcmp-vds.db"), cur: carrier, refused: "the carrier itself"},
		{name: "another carrier", d: overwrite, cur: secret(contract.SecretType, nil), refused: "a vaultcmp carrier"},
		{name: "another carrier, create false", d: dataOnly, cur: secret(contract.SecretType, nil), refused: "a vaultcmp carrier"},
		{name: "unowned, create false: data", d: dataOnly, cur: secret(corev1.SecretTypeOpaque, nil), want: destWriteData},
		{name: "same app, create false: data", d: dataOnly, cur: secret(corev1.SecretTypeTLS, label(labelArgoInstance, "webapp")), want: destWriteData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decideDestination(carrier, tc.d, tc.cur, "")
			switch {
			case tc.refused != "":
				var r *refusedError
				require.ErrorAs(t, err, &r)
				assert.Equal(t, tc.refused, r.Owner)
				assert.Equal(t, "app", r.Namespace)
				assert.Equal(t, tc.d.Name, r.Name)
				assert.Contains(t, err.Error(), tc.refused, "the message names the owner")
				assert.Equal(t, "DestinationRefused", errorReason(fmt.Errorf("writing: %w", err)))
			case tc.err != "":
				require.ErrorContains(t, err, tc.err)
				assert.Equal(t, "SyncError", errorReason(err))
			default:
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
			}
		})
	}
}

// A carrier without Argo CD tracking (applied by hand) adopts no tracked
// Secret.
func TestDecideDestinationUntrackedCarrier(t *testing.T) {
	carrier := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vaultcmp-vds.db", Namespace: "app", UID: "c"}, Type: contract.SecretType}
	cur := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "app", Labels: map[string]string{labelArgoInstance: "webapp"}}, Type: corev1.SecretTypeOpaque}
	_, err := decideDestination(carrier, v1beta1.Destination{Name: "db", Create: true, Overwrite: true}, cur, "")
	var r *refusedError
	require.ErrorAs(t, err, &r)
	assert.Equal(t, "Argo CD Application webapp", r.Owner)
}
