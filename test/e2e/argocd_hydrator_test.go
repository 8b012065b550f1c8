package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// Argo CD's Source Hydrator (issue 21 item 2): Argo CD renders an
// Application's drySource through the repo-server (and so vaultcmp) and its
// commit-server pushes the output to a git branch as it is. vaultcmp must
// never let a value reach that branch: under the default delivery the
// branch holds carriers only, and an inline object in a hydration run is
// refused, whatever the parameter says.

var applicationsGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

// hydratedApp is a hydrated Application over the seed's webapp.
type hydratedApp struct {
	name, ns, path string
	plugin         map[string]any // drySource.plugin; nil: none (discovery)
}

// createHydrated creates the Application (through the apiserver, as a
// GitOps repository of Applications would) with spec.sourceHydrator: the
// dry source in the Applications' repository, hydrated into bare's branch
// environments/<name> at <name>/. It is deleted (cascading) when the test
// ends.
func (c *cdWorld) createHydrated(t testing.TB, a hydratedApp, bare *BareRepo) {
	t.Helper()
	dry := map[string]any{"repoURL": c.repo.URL, "path": a.path, "targetRevision": "HEAD"}
	if a.plugin != nil {
		dry["plugin"] = a.plugin
	}
	app := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": a.name, "namespace": ArgoNamespace},
		"spec": map[string]any{
			"project":     "default",
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": a.ns},
			"sourceHydrator": map[string]any{
				"drySource":  dry,
				"syncSource": map[string]any{"repoURL": bare.URL, "targetBranch": "environments/" + a.name, "path": a.name},
			},
			"syncPolicy": map[string]any{"syncOptions": []any{"CreateNamespace=true"}},
		},
	}}
	_, err := c.apps(t).Create(t.Context(), app, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { c.deleteApp(t, a.name) })
}

func (c *cdWorld) apps(t testing.TB) dynamic.ResourceInterface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(c.w.cluster.RestConfig(AdminToken))
	require.NoError(t, err)
	return dyn.Resource(applicationsGVR).Namespace(ArgoNamespace)
}

// hydration is the Application's status.sourceHydrator.currentOperation.
type hydration struct {
	Phase       string `json:"phase"`
	Message     string `json:"message"`
	DrySHA      string `json:"drySHA"`
	HydratedSHA string `json:"hydratedSHA"`
	StartedAt   string `json:"startedAt"`
	FinishedAt  string `json:"finishedAt"`
}

// waitHydration waits until the Application's hydration has ended
// (Hydrated or Failed) and returns it.
func (c *cdWorld) waitHydration(t testing.TB, name string, limit time.Duration) hydration {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last hydration
	for {
		u, err := c.apps(t).Get(t.Context(), name, metav1.GetOptions{})
		if err == nil {
			op, _, _ := unstructured.NestedMap(u.Object, "status", "sourceHydrator", "currentOperation")
			b, _ := json.Marshal(op)
			last = hydration{}
			_ = json.Unmarshal(b, &last)
			if last.Phase == "Hydrated" || last.Phase == "Failed" {
				return last
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("app %s: no hydration in %s (last %+v, err %v)\n%s", name, limit, last, err, tailString(c.Logs(), 8000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// scanRepo reads back everything bare holds and returns where each value
// of vals was found (raw or base64), with the number of bytes read.
func scanRepo(t testing.TB, bare *BareRepo, vals secretValues) (found []string, read int) {
	t.Helper()
	all, err := bare.Everything()
	require.NoError(t, err)
	for _, where := range slices.Sorted(func(yield func(string) bool) {
		for k := range all {
			if !yield(k) {
				return
			}
		}
	}) {
		read += len(all[where])
		for _, name := range vals.find(all[where]) {
			found = append(found, name+" in "+where)
		}
	}
	return found, read
}

// The seed's webapp hydrated by Argo CD's Source Hydrator through vaultcmp,
// under the default delivery (no parameter), with the plugin named and
// without a type (Argo CD's discovery picks vaultcmp): everything the
// hydrated repository holds — every object of its database, `git log -p`
// of every branch and of the git notes, every file of each branch — is read
// back and no value is in it, only carriers; then a sync of the hydrated
// branch has the companion fill the Secrets with Vault's values.
func TestArgoCDHydratorCommitsNoValue(t *testing.T) {
	cw := getCompanion(t)
	c := getCD(t)
	require.NotZero(t, c.Hydrator, "the control plane runs without the Source Hydrator (Argo CD %s)", c.Part.Version)
	bare, err := NewBareRepo(filepath.Join(t.TempDir(), "hydrated.git"))
	require.NoError(t, err)
	kv := vaultSrv.Client.KVv2("secret")
	vals := secretValues{}
	apps := []hydratedApp{
		{name: "hydr-named", ns: "hydr-a", plugin: map[string]any{"name": "vaultcmp-v1"}},
		{name: "hydr-discovered", ns: "hydr-b"},
	}
	for i := range apps {
		a := &apps[i]
		a.path = "apps/" + a.name
		v := fmt.Sprintf("hydr-val-%d-Qe7Lz", i)
		vals[a.name], vals[a.name+"/db_pass"] = v, v+"-db"
		_, err := kv.Put(t.Context(), "hydr/"+a.name, map[string]any{"api_key": v, "db_pass": v + "-db"})
		require.NoError(t, err)
		c.tenant(t, a.ns, "webapp-sa", a.ns+"-role", "secret/data/hydr/*")
		files := seedStatic(t, a.ns, a.ns+"-role", "hydr/"+a.name)
		files["deployment.yaml"] = strings.Replace(files["deployment.yaml"], "replicas: 3", "replicas: 0", 1)
		c.commit(t, under(a.path, files), a.name)
	}

	for _, a := range apps {
		start := time.Now()
		c.createHydrated(t, a, bare)
		h := c.waitHydration(t, a.name, 120*time.Second)
		require.Equal(t, "Hydrated", h.Phase, "%s: %s\n%s", a.name, h.Message, tailString(c.CMPLog(), 4000))
		t.Logf("%s: hydrated in %s (controller: %s → %s), dry %s → hydrated %s", a.name, time.Since(start).Round(100*time.Millisecond),
			h.StartedAt, h.FinishedAt, short(h.DrySHA), short(h.HydratedSHA))
	}

	// Everything the hydrated repository holds.
	refs, err := bare.Refs()
	require.NoError(t, err)
	t.Logf("hydrated repository refs: %v", refs)
	for _, a := range apps {
		assert.Contains(t, refs, "refs/heads/environments/"+a.name)
	}
	assert.Contains(t, refs, "refs/notes/hydrator.metadata", "the hydrator's git notes are read too")
	found, read := scanRepo(t, bare, vals)
	t.Logf("secret values found in the hydrated repository: %d (%d bytes read back)", len(found), read)
	assert.Empty(t, found, "no value in the hydrated branch")
	for _, a := range apps {
		manifest, err := bare.Git("show", "environments/"+a.name+":"+a.name+"/manifest.yaml")
		require.NoError(t, err)
		var secrets []string
		for _, doc := range strings.Split(string(manifest), "\n---\n") {
			var obj struct {
				Kind     string `json:"kind"`
				Type     string `json:"type"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			require.NoError(t, yaml.Unmarshal([]byte(doc), &obj))
			if obj.Kind == "Secret" {
				secrets = append(secrets, obj.Metadata.Name+" "+obj.Type)
			}
		}
		assert.Equal(t, []string{"vaultcmp-vss.webapp-config vaultcmp.io/contract-v1"}, secrets,
			"%s: the only Secret committed is the carrier (no destination Secret)", a.name)
	}

	// The sync of the hydrated branch: the companion fills the Secrets.
	for _, a := range apps {
		out, err := c.sync(t, a.name)
		require.NoError(t, err, "%s\n%s", out, c.CMPLog())
		assert.Empty(t, vals.find([]byte(out)))
	}
	for _, a := range apps {
		eventually(t, 60*time.Second, func() (bool, string) {
			s, err := c.w.cluster.Admin.CoreV1().Secrets(a.ns).Get(t.Context(), "webapp-k8s-secret", metav1.GetOptions{})
			return err == nil && string(s.Data["api_key"]) == vals[a.name], "Secret " + a.ns + "/webapp-k8s-secret filled by the companion"
		}, cw.companion)
		app := c.waitApp(t, a.name, 60*time.Second, "Synced", synced)
		raw, err := json.Marshal(app)
		require.NoError(t, err)
		assert.Empty(t, vals.find(raw), "%s: no value in the Application", a.name)
	}
}

// The same hydrated webapp with `delivery: inline` chosen explicitly: the
// hydration fails with vaultcmp's refusal in the Application's status, and
// nothing with a value reaches the hydrated repository (its branch is not
// even created).
func TestArgoCDHydratorRefusesInline(t *testing.T) {
	c := getCD(t)
	require.NotZero(t, c.Hydrator, "the control plane runs without the Source Hydrator (Argo CD %s)", c.Part.Version)
	bare, err := NewBareRepo(filepath.Join(t.TempDir(), "hydrated.git"))
	require.NoError(t, err)
	const name, ns, v = "hydr-inline", "hydr-c", "hydr-inline-val-Vb2Kw"
	vals := secretValues{name: v, name + "/db_pass": v + "-db"}
	_, err = vaultSrv.Client.KVv2("secret").Put(t.Context(), "hydr/"+name, map[string]any{"api_key": v, "db_pass": v + "-db"})
	require.NoError(t, err)
	c.tenant(t, ns, "webapp-sa", ns+"-role", "secret/data/hydr/*")
	files := seedStatic(t, ns, ns+"-role", "hydr/"+name)
	files["deployment.yaml"] = strings.Replace(files["deployment.yaml"], "replicas: 3", "replicas: 0", 1)
	a := hydratedApp{name: name, ns: ns, path: "apps/" + name, plugin: map[string]any{
		"name": "vaultcmp-v1", "parameters": []any{map[string]any{"name": "delivery", "string": "inline"}},
	}}
	c.commit(t, under(a.path, files), name)
	start := time.Now()
	c.createHydrated(t, a, bare)
	h := c.waitHydration(t, name, 120*time.Second)
	t.Logf("hydration %s in %s: %s", h.Phase, time.Since(start).Round(100*time.Millisecond), h.Message)
	// Not require: when the refusal is broken, the scan below says what
	// reached git.
	assert.Equal(t, "Failed", h.Phase, "an inline object in a hydration run is refused")
	assert.Contains(t, h.Message, "Application "+ArgoNamespace+"/"+name+" uses Argo CD's Source Hydrator")
	assert.Contains(t, h.Message, "VaultStaticSecret "+ns+"/webapp-config")
	assert.Contains(t, h.Message, "in-cluster")
	assert.Empty(t, vals.find([]byte(h.Message)))

	// The Application's status as `argocd app get` shows it.
	raw, err := c.CLI(t.Context(), "app", "get", name, "-o", "json")
	require.NoError(t, err)
	assert.True(t, strings.Contains(raw, "uses Argo CD's Source Hydrator"), "argocd app get shows vaultcmp's refusal")
	assert.Empty(t, vals.find([]byte(raw)))

	refs, err := bare.Refs()
	require.NoError(t, err)
	assert.NotContains(t, refs, "refs/heads/environments/"+name, "nothing pushed")
	found, read := scanRepo(t, bare, vals)
	t.Logf("secret values found in the hydrated repository: %d (%d bytes read back)", len(found), read)
	assert.Empty(t, found)
}

// generate reads the Application only when the output would hold a value,
// and fails closed when it cannot: an Application in a namespace where the
// sidecar may not read Applications (the shipped Role is in Argo CD's
// namespace) is refused inline objects with the permission named, and
// rendered in-cluster without any read.
func TestArgoGenerateInlineNeedsTheApplication(t *testing.T) {
	w := getArgo(t)
	req := w.app("apps/webapp", "webapp-ns")
	req.AppName = "other-ns_webapp" // Argo CD's instance name of other-ns/webapp (apps in any namespace)
	req.Parameters = []map[string]any{{"name": "delivery", "string": "inline"}}
	res := w.cmp.Generate(t.Context(), req, false)
	require.Error(t, res.Err)
	msg := res.Err.Error()
	assert.Contains(t, msg, "could not read Application other-ns/webapp")
	assert.Contains(t, msg, `cannot get applications.argoproj.io in namespace "other-ns"`)
	assert.Contains(t, msg, "VaultStaticSecret webapp-ns/webapp-config")

	req.Parameters = []map[string]any{{"name": "delivery", "string": "in-cluster"}}
	res = w.cmp.Generate(t.Context(), req, false)
	require.NoError(t, res.Err, "in-cluster needs no Application")
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// The scan sees what it must: a value in a file of an older commit of a
// branch (gone from its tip), in a git note, or only base64-encoded, is
// found in what BareRepo.Everything reads back.
func TestBareRepoEverythingFindsValues(t *testing.T) {
	dir := t.TempDir()
	bare, err := NewBareRepo(filepath.Join(dir, "h.git"))
	require.NoError(t, err)
	work, err := NewGitRepo(filepath.Join(dir, "work"), map[string]string{"a/manifest.yaml": "data: {k: b2xkLXZhbHVlLVF6OA==}\n"}) // base64 of old-value-Qz8
	require.NoError(t, err)
	_, err = work.Commit(map[string]string{"a/manifest.yaml": "kind: Secret\n"}, "gone from the tip")
	require.NoError(t, err)
	_, err = gitOut(work.Dir, "-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "notes", "--ref", "hydrator.metadata", "add", "-m", `{"drySha":"note-value-Wx4"}`)
	require.NoError(t, err)
	_, err = gitOut(work.Dir, "push", "-q", bare.URL, "main:refs/heads/environments/x", "refs/notes/hydrator.metadata:refs/notes/hydrator.metadata")
	require.NoError(t, err)
	vals := secretValues{"old": "old-value-Qz8", "note": "note-value-Wx4", "absent": "absent-value-Jk1"}
	found, read := scanRepo(t, bare, vals)
	t.Logf("%d bytes read back: %v", read, found)
	var names []string
	for _, f := range found {
		names = append(names, strings.Fields(f)[0])
	}
	assert.Contains(t, names, "old")
	assert.Contains(t, names, "note")
	assert.NotContains(t, names, "absent")
}
