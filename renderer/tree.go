package renderer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vaultcmp/vaultcmp/internal/safetext"
)

// maxTreeEntries bounds the walk of CheckTree (a repository with more entries
// under one app is refused rather than walked for ever).
const maxTreeEntries = 200_000

// ErrOutsideRepository is returned for a path that leads out of the
// repository: a symlink, a values file, a kustomize resource.
var ErrOutsideRepository = errors.New("leads outside the repository")

// CheckTree refuses an app directory that reaches outside root, the
// repository's root: dir itself, and every symlink under dir, must resolve
// to a path inside root. Symlinked directories that stay inside are followed,
// as Helm's chart loader follows them, once each. Every command calls it
// before reading dir, so no loader (plain directory, kustomize, Helm
// `.Files`) can be led to the sidecar's own files.
func CheckTree(root, dir string) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("resolving the repository root: %w", err)
	}
	realRoot, err = filepath.Abs(realRoot)
	if err != nil {
		return err
	}
	w := treeWalk{root: realRoot, seen: map[string]bool{}}
	start, err := w.resolve(dir, dir)
	if err != nil {
		return err
	}
	return w.walk(start, dir)
}

type treeWalk struct {
	root    string
	seen    map[string]bool // real directories walked
	entries int
}

// resolve gives p's real path, refusing one outside the root. shown is the
// path as the repository names it, for messages.
func (w *treeWalk) resolve(p, shown string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// A dangling link leads nowhere; refuse it all the same if
			// its target is outside.
			if target, lerr := os.Readlink(p); lerr == nil {
				if !filepath.IsAbs(target) {
					target = filepath.Join(filepath.Dir(p), target)
				}
				if !within(w.root, target) {
					return "", fmt.Errorf("%s %w", safetext.Clean(shown), ErrOutsideRepository)
				}
				return "", nil
			}
		}
		return "", fmt.Errorf("resolving %s: %w", safetext.Clean(shown), err)
	}
	if !within(w.root, real) {
		return "", fmt.Errorf("%s %w: symlinks may point only inside the repository", safetext.Clean(shown), ErrOutsideRepository)
	}
	return real, nil
}

func (w *treeWalk) walk(real, shown string) error {
	if real == "" || w.seen[real] {
		return nil
	}
	w.seen[real] = true
	if st, err := os.Stat(real); err != nil || !st.IsDir() {
		return nil //nolint:nilerr // a file, or gone since
	}
	entries, err := os.ReadDir(real)
	if err != nil {
		return fmt.Errorf("reading %s: %w", safetext.Clean(shown), err)
	}
	for _, e := range entries {
		if w.entries++; w.entries > maxTreeEntries {
			return fmt.Errorf("the app directory has more than %d entries", maxTreeEntries)
		}
		p, s := filepath.Join(real, e.Name()), filepath.Join(shown, e.Name())
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			target, err := w.resolve(p, s)
			if err != nil {
				return err
			}
			if err := w.walk(target, s); err != nil {
				return err
			}
		case e.IsDir():
			if err := w.walk(p, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// within tells whether p is root or below it, lexically (resolve symlinks
// first where they matter).
func within(root, p string) bool {
	ar, err1 := filepath.Abs(root)
	ap, err2 := filepath.Abs(p)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(ar, ap)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// withinReal tells whether p, with its symlinks resolved, is inside root
// (resolved too). A path that does not exist is judged lexically.
func withinReal(root, p string) bool {
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return within(root, p)
}
