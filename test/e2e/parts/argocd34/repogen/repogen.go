// Package repogen is argocd-repo-generate (ARGOCD_BINARY_NAME of the
// multi-call binary): it does what Argo CD's repo-server does for one
// Application source, with Argo CD's own code: it fetches the git
// repository, checks out the revision, and runs
// repository.GenerateManifests — which detects the config-management plugin
// through the cmp-server's socket ($ARGOCD_PLUGINSOCKFILEPATH) and streams
// the app to it with the real build environment.
//
//	argocd-repo-generate [-discover] < request.json
//
// request.json is an apiclient.ManifestRequest in JSON (repo, revision,
// appName, namespace, projectName, applicationSource, kubeVersion,
// apiVersions). The manifests are printed as a JSON array of objects; with
// -discover, only the detected plugin's match is checked (exit 1 if none).
package repogen

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/argoproj/argo-cd/v3/reposerver/apiclient"
	"github.com/argoproj/argo-cd/v3/reposerver/repository"
	"github.com/argoproj/argo-cd/v3/util/app/discovery"
	"github.com/argoproj/argo-cd/v3/util/git"
	utilio "github.com/argoproj/argo-cd/v3/util/io"
	log "github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Main runs the command with os.Args and exits.
func Main() {
	disc := flag.Bool("discover", false, "only check that a sidecar plugin matches the app")
	timeout := flag.Duration("timeout", 60*time.Second, "the controller's repo-server timeout")
	flag.Parse()
	log.SetLevel(log.WarnLevel)
	if err := run(*disc, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(disc bool, timeout time.Duration) error {
	var q apiclient.ManifestRequest
	if err := json.NewDecoder(os.Stdin).Decode(&q); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tmp, err := os.MkdirTemp("", "repo-generate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "repo")
	gc, err := git.NewClientExt(q.Repo.Repo, root, git.NopCreds{}, true, false, "", "")
	if err != nil {
		return fmt.Errorf("git client: %w", err)
	}
	if err := gc.Init(); err != nil {
		return fmt.Errorf("git init: %w", err)
	}
	rev, err := gc.LsRemote(q.Revision)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", q.Revision, err)
	}
	if err := gc.Fetch("", 0); err != nil {
		return fmt.Errorf("git fetch: %w", err)
	}
	if _, err := gc.Checkout(rev, false, true); err != nil {
		return fmt.Errorf("git checkout: %w", err)
	}
	appPath := filepath.Join(root, q.ApplicationSource.Path)
	if disc {
		closer, _, err := discovery.DetectConfigManagementPlugin(ctx, appPath, root, "", os.Environ(), nil)
		if err != nil {
			return err
		}
		closer.Close()
		fmt.Println("matched")
		return nil
	}
	start := time.Now()
	res, err := repository.GenerateManifests(ctx, appPath, root, rev, &q, false, &git.NoopCredsStore{},
		resource.MustParse("0"), utilio.NewRandomizedTempPaths(filepath.Join(tmp, "paths")))
	if err != nil {
		return err
	}
	out := make([]json.RawMessage, 0, len(res.Manifests))
	for _, m := range res.Manifests {
		out = append(out, json.RawMessage(m))
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"manifests": out, "sourceType": res.SourceType, "revision": res.Revision,
		"generateSeconds": time.Since(start).Seconds()})
}
