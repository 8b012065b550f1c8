package companion

import (
	"encoding/json"
	"fmt"
	"time"
)

// Argo CD's refresh request on an Application (Argo CD 3.6:
// pkg/apis/application/v1alpha1 AnnotationKeyRefresh and
// AnnotationKeyRefreshTimestamp; util/argo.RefreshApp sets both).
const (
	annotationRefresh = "argocd.argoproj.io/refresh"
	// annotationRefreshTimestamp identifies one request (RFC 3339 with
	// nanoseconds). The application controller removes both annotations
	// after a refresh with a JSON patch that first tests the timestamp it
	// started from: a request made during that refresh changes the
	// timestamp, the removal fails, and the app is refreshed again. Without
	// it the removal would take away a request the running refresh never
	// saw (Argo CD before 3.6 ignores it and keeps its old behaviour).
	annotationRefreshTimestamp = "argocd.argoproj.io/refresh-timestamp"
	refreshHard                = "hard"
)

// hardRefreshPatch is the JSON merge patch that asks Argo CD for a hard
// refresh of an Application at now, as Argo CD's own RefreshApp does.
func hardRefreshPatch(now time.Time) ([]byte, error) {
	b, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		annotationRefresh:          refreshHard,
		annotationRefreshTimestamp: now.UTC().Format(time.RFC3339Nano),
	}}})
	if err != nil {
		return nil, fmt.Errorf("encoding the refresh request: %w", err)
	}
	return b, nil
}
