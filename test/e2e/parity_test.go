package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Issue 17, items 3–5: VSO apps from the field. The deliveries are stated
// on every object (vaultcmp.io/delivery), whatever the default.

// parityVSS is a VaultStaticSecret of secret/companion/<path> in webapp-ns
// with the given delivery, destination and extra spec lines.
func parityVSS(name, delivery, path, dest string, create bool, extra string) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: %s
  namespace: webapp-ns
  annotations: {vaultcmp.io/delivery: %s}
spec:
  type: kv-v2
  mount: secret
  path: companion/%s
  vaultAuthRef: vault-auth-k8s
  destination: {name: %s, create: %t}
%s`, name, delivery, path, dest, create, extra)
}

// shippedSecret is the empty Secret VSO's samples ship next to a create:
// false object, with metadata of its own.
func shippedSecret(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata:
  name: %s
  namespace: webapp-ns
  labels: {team: blue}
  annotations: {note: shipped by the app}
type: Opaque
`, name)
}

// named is the output object of kind and name (nil: none); n counts them.
func named(objs []map[string]any, kind, name string) (obj map[string]any, n int) {
	for _, o := range objs {
		md, _ := o["metadata"].(map[string]any)
		if o["kind"] == kind && md["name"] == name {
			obj = o
			n++
		}
	}
	return obj, n
}

// Row "create: false with the shipped Secret", inline and in-cluster,
// rendered against the real Vault, applied to the real kube-apiserver
// (server-side apply as Argo CD's sync), filled by the real companion.
func TestParityCreateFalseShippedSecret(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	_, err := vaultSrv.Client.KVv2("secret").Put(ctx, "companion/parity-shipped", map[string]any{"user": "alice"})
	require.NoError(t, err)

	t.Run("inline: one Secret, the shipped metadata, Vault's data", func(t *testing.T) {
		objs := cw.render(t, vaultSrv.Addr, map[string]string{
			"secret.yaml": shippedSecret("parity-inline"),
			"vss.yaml":    parityVSS("parity-inline", "inline", "parity-shipped", "parity-inline", false, ""),
		})
		s, n := named(objs, "Secret", "parity-inline")
		require.Equal(t, 1, n, "one Secret, not two writers")
		md := s["metadata"].(map[string]any)
		assert.Equal(t, map[string]any{"team": "blue"}, md["labels"])
		assert.Equal(t, map[string]any{"note": "shipped by the app"}, md["annotations"])
		applyObjects(t, objs, "webapp-ns", false)
		live := cw.secret(t, "parity-inline")
		require.NotNil(t, live)
		assert.Equal(t, "alice", string(live.Data["user"]))
		assert.Equal(t, "blue", live.Labels["team"])
	})

	t.Run("in-cluster: the shipped Secret as it is, the companion fills its data", func(t *testing.T) {
		objs := cw.render(t, vaultSrv.Addr, map[string]string{
			"secret.yaml": shippedSecret("parity-cluster"),
			"vss.yaml":    parityVSS("parity-cluster", "in-cluster", "parity-shipped", "parity-cluster", false, ""),
		})
		s, n := named(objs, "Secret", "parity-cluster")
		require.Equal(t, 1, n)
		assert.Nil(t, s["data"], "shipped without data")
		_, carriers := named(objs, "Secret", "vaultcmp-vss.parity-cluster")
		require.Equal(t, 1, carriers)
		applyObjects(t, objs, "webapp-ns", false)
		live := cw.waitData(t, "parity-cluster", "user", 30*time.Second)
		assert.Equal(t, "alice", string(live.Data["user"]))
		assert.Equal(t, "blue", live.Labels["team"], "the shipped metadata kept")
		assert.Equal(t, "shipped by the app", live.Annotations["note"])
		assert.Empty(t, live.OwnerReferences, "create: false: the companion takes no ownership")
		assert.NotContains(t, live.Labels, "app.kubernetes.io/managed-by")

		// Argo CD syncs again: its apply leaves the data alone, and its
		// server-side diff (a dry-run apply of git's object) finds none.
		applyObjects(t, objs, "webapp-ns", false)
		time.Sleep(time.Second)
		assert.Equal(t, "alice", string(cw.secret(t, "parity-cluster").Data["user"]), "a sync does not wipe the companion's data")
		dry := dryRunApply(t, cw, s)
		got, _, _ := unstructured.NestedStringMap(dry, "data")
		assert.Equal(t, map[string]string{"user": "YWxpY2U=", "_raw": got["_raw"]}, got, "the dry-run apply keeps the live data: no diff")
		assert.NotEmpty(t, got["_raw"])
		assert.Equal(t, 0, strings.Count(cw.events(t, "vaultcmp-vss.parity-cluster"), "DestinationRefused"))
	})

	t.Run("in-cluster: a shipped Secret with data is refused", func(t *testing.T) {
		files := map[string]string{
			"secret.yaml": shippedSecret("parity-data") + "data: {user: Ym9i}\n",
			"vss.yaml":    parityVSS("parity-data", "in-cluster", "parity-shipped", "parity-data", false, ""),
		}
		withWebappAccess(t, vaultSrv.Addr, files)
		r := run(t, append(rootEnv(), "VAULTCMP_HMAC_KEY="+companionHMACKey), "render", "-n", "webapp-ns", writeApp(t, files))
		assert.Equal(t, 1, r.code, r.stderr)
		assert.Contains(t, r.stderr, "Argo CD would write this data back")
		assert.Empty(t, r.stdout)
	})
}

// dryRunApply is Argo CD's server-side diff of obj: a dry-run server-side
// apply by Argo CD's field manager, as the apiserver would store it.
func dryRunApply(t *testing.T, cw *companionWorld, obj map[string]any) map[string]any {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cw.cluster.RestConfig(AdminToken))
	require.NoError(t, err)
	body, err := json.Marshal(obj)
	require.NoError(t, err)
	force := true
	u, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}).Namespace("webapp-ns").Patch(t.Context(),
		obj["metadata"].(map[string]any)["name"].(string), types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: "argocd-controller", Force: &force, DryRun: []string{metav1.DryRunAll}})
	require.NoError(t, err)
	return u.Object
}

var rolloutGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}

// installRolloutCRD installs a minimal CRD of Argo Rollouts' Rollout (its
// group, version and names; no schema): what the companion patches.
func installRolloutCRD(ctx context.Context, t *testing.T, cw *companionWorld) dynamic.Interface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cw.cluster.RestConfig(AdminToken))
	require.NoError(t, err)
	crd := []byte(`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
"metadata":{"name":"rollouts.argoproj.io"},
"spec":{"group":"argoproj.io","scope":"Namespaced",
"names":{"kind":"Rollout","plural":"rollouts","singular":"rollout","listKind":"RolloutList"},
"versions":[{"name":"v1alpha1","served":true,"storage":true,
"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`)
	force := true
	_, err = dyn.Resource(crdGVR).Patch(ctx, "rollouts.argoproj.io", types.ApplyPatchType, crd, metav1.PatchOptions{FieldManager: "e2e", Force: &force})
	require.NoError(t, err)
	eventually(t, 30*time.Second, func() (bool, string) {
		_, err := dyn.Resource(rolloutGVR).Namespace("webapp-ns").List(ctx, metav1.ListOptions{})
		return err == nil, "the Rollout CRD served"
	}, cw.companion)
	return dyn
}

const parityRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: parity-canary
  namespace: webapp-ns
spec:
  replicas: 0
  selector: {matchLabels: {app: parity-canary}}
  template:
    metadata: {labels: {app: parity-canary}}
    spec:
      containers: [{name: app, image: app:latest}]
`

// Row "Argo Rollout targets" and "targets outside the app": an inline
// Secret's argo.Rollout is restarted by spec.restartAt (no new template), a
// Deployment outside the app by VSO's pod-template annotation, each once
// per change of the data Argo CD applied; a Deployment of the app rolls with
// the sync (checksum) and is not restarted again; nothing restarts at the
// first sight, on a sync without change, or on a companion restart.
func TestParityInlineRollouts(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	dyn := installRolloutCRD(ctx, t, cw)
	kv := vaultSrv.Client.KVv2("secret")
	_, err := kv.Put(ctx, "companion/parity-roll", map[string]any{"k": "v1"})
	require.NoError(t, err)
	outside := deployment("parity-outside")
	applyObjects(t, docs(t, outside), "webapp-ns", false) // another app's workload
	files := func() map[string]string {
		return map[string]string{
			"vss.yaml": parityVSS("parity-roll", "inline", "parity-roll", "parity-roll", true, `  rolloutRestartTargets:
  - {kind: argo.Rollout, name: parity-canary}
  - {kind: Deployment, name: parity-inside}
  - {kind: Deployment, name: parity-outside}
`),
			"rollout.yaml": parityRollout,
			"deploy.yaml":  deployment("parity-inside"),
		}
	}
	objs := cw.render(t, vaultSrv.Addr, files())
	ro, _ := named(objs, "Rollout", "parity-canary")
	require.NotNil(t, ro)
	_, found, _ := unstructured.NestedMap(ro, "spec", "template", "metadata", "annotations")
	assert.False(t, found, "an argo.Rollout gets no new template")
	_, carriers := named(objs, "Secret", "vaultcmp-vss.parity-roll")
	require.Equal(t, 1, carriers, "an inline carrier for the companion's targets, without refreshAfter")
	applyObjects(t, objs, "webapp-ns", false)

	restartAt := func() string {
		u, err := dyn.Resource(rolloutGVR).Namespace("webapp-ns").Get(ctx, "parity-canary", metav1.GetOptions{})
		require.NoError(t, err)
		s, _, _ := unstructured.NestedString(u.Object, "spec", "restartAt")
		return s
	}
	restartedAt := func(name string) string {
		d, err := cw.cluster.Admin.AppsV1().Deployments("webapp-ns").Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		return d.Spec.Template.Annotations["vso.secrets.hashicorp.com/restartedAt"]
	}
	eventually(t, 20*time.Second, func() (bool, string) {
		return carrierAnnotations(t, cw, "vaultcmp-vss.parity-roll")["vaultcmp.io/status"] == "Synced", "the inline carrier Synced"
	}, cw.companion)
	time.Sleep(2 * time.Second)
	assert.Empty(t, restartAt(), "the first sight restarts nothing")
	assert.Empty(t, restartedAt("parity-outside"))
	genOutside := cw.generation(t, "parity-outside")

	// A real change: Vault, then Argo CD's sync of the new render.
	_, err = kv.Put(ctx, "companion/parity-roll", map[string]any{"k": "v2"})
	require.NoError(t, err)
	applyObjects(t, cw.render(t, vaultSrv.Addr, files()), "webapp-ns", false)
	eventually(t, 25*time.Second, func() (bool, string) {
		return restartAt() != "" && restartedAt("parity-outside") != "", "the Rollout's spec.restartAt and the outside Deployment's restartedAt"
	}, cw.companion)
	assert.Empty(t, restartedAt("parity-inside"), "the app's own Deployment rolls with the sync (checksum), not again")
	assert.Equal(t, genOutside+1, cw.generation(t, "parity-outside"), "one restart")
	at, genOutside := restartAt(), cw.generation(t, "parity-outside")
	eventually(t, 10*time.Second, func() (bool, string) { // the recorder sends Events asynchronously
		ev := cw.events(t, "vaultcmp-vss.parity-roll")
		return strings.Count(ev, "RolloutRestart:") == 2, "two RolloutRestart Events (the Rollout, the outside Deployment):\n" + ev
	}, cw.companion)

	// No change: a sync of the same render, a companion restart.
	applyObjects(t, cw.render(t, vaultSrv.Addr, files()), "webapp-ns", false)
	cw.restart(t)
	time.Sleep(25 * time.Second) // two looks (every 10 s) and rolloutMinInterval's 30 s from the restart's start
	assert.Equal(t, at, restartAt(), "no restart without a change")
	assert.Equal(t, genOutside, cw.generation(t, "parity-outside"), "no restart without a change")
	assert.Equal(t, 2, strings.Count(cw.events(t, "vaultcmp-vss.parity-roll"), "RolloutRestart:"), "still the two Events of the one change")
	require.NoError(t, cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Delete(ctx, "vaultcmp-vss.parity-roll", metav1.DeleteOptions{}))
}

// Row "refused kinds, warnings": HCPVaultSecretsApp, HCPAuth and
// CSISecrets fail with one error naming the kind and the way out, in
// render, validate (-o json) and generate; fields without effect are
// warnings on stderr (render) and in validate -o json.
func TestParityRefusedKindsAndWarnings(t *testing.T) {
	for _, kind := range []string{"HCPVaultSecretsApp", "HCPAuth", "CSISecrets"} {
		t.Run(kind, func(t *testing.T) {
			dir := writeApp(t, map[string]string{"hcp.yaml": "apiVersion: secrets.hashicorp.com/v1beta1\nkind: " + kind +
				"\nmetadata: {name: x, namespace: webapp-ns}\nspec: {appName: demo, hcpAuthRef: default, destination: {name: d, create: true}}\n"})
			r := run(t, rootEnv(), "render", "-n", "webapp-ns", dir)
			assert.Equal(t, 1, r.code)
			assert.Empty(t, r.stdout)
			assert.Contains(t, r.stderr, "kind: Forbidden: "+kind)
			assert.Contains(t, r.stderr, "docs/migrate.md")
			assert.Equal(t, 1, strings.Count(r.stderr, "\n  - "), "one error for the object:\n%s", r.stderr)

			v := run(t, rootEnv(), "validate", "-o", "json", "-n", "webapp-ns", dir)
			assert.Equal(t, 1, v.code)
			var rep struct {
				Problems []struct{ Field, Message string }
			}
			require.NoError(t, json.Unmarshal([]byte(v.stdout), &rep), v.stdout)
			require.Len(t, rep.Problems, 1)
			assert.Equal(t, "kind", rep.Problems[0].Field)
			assert.Contains(t, rep.Problems[0].Message, kind)

			g := generateIn(t, dir)
			assert.Equal(t, 1, g.Code, "%s", g)
			assert.Contains(t, g.Stderr, kind)
		})
	}

	t.Run("fields without effect", func(t *testing.T) {
		_, err := vaultSrv.Client.KVv2("secret").Put(t.Context(), "companion/parity-warn", map[string]any{"k": "v"})
		require.NoError(t, err)
		dir := writeApp(t, map[string]string{"vss.yaml": parityVSS("parity-warn", "inline", "parity-warn", "parity-warn", false,
			"  hmacSecretData: false\n  syncConfig: {instantUpdates: true}\n") +
			"---\napiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultAuth\nmetadata: {name: vault-auth-k8s, namespace: webapp-ns}\n" +
			"spec: {method: kubernetes, mount: kubernetes, storageEncryption: {mount: transit, keyName: k}, kubernetes: {role: r, serviceAccount: webapp-sa}}\n"})
		want := []string{"spec.syncConfig.instantUpdates has no effect", "spec.hmacSecretData has no effect", "spec.storageEncryption has no effect"}
		r := run(t, rootEnv(), "render", "-n", "webapp-ns", dir)
		require.Equal(t, 0, r.code, r.stderr)
		for _, w := range want {
			assert.Contains(t, r.stderr, w)
			assert.NotContains(t, r.stdout, w)
		}
		v := run(t, rootEnv(), "validate", "-o", "json", "-n", "webapp-ns", dir)
		require.Equal(t, 0, v.code, v.stdout)
		var rep struct{ Warnings []string }
		require.NoError(t, json.Unmarshal([]byte(v.stdout), &rep))
		for _, w := range want {
			assert.True(t, strings.Contains(strings.Join(rep.Warnings, "\n"), w), "validate -o json warns %q: %v", w, rep.Warnings)
		}
		s := run(t, rootEnv(), "validate", "--strict", "-n", "webapp-ns", dir)
		assert.Equal(t, 1, s.code, "--strict: warnings are errors")
	})
}
