package companion

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/identity"
	"github.com/vaultcmp/vaultcmp/transform"
	"github.com/vaultcmp/vaultcmp/vault"
)

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		class retryClass
		n     int
		max   time.Duration
		want  time.Duration
	}{
		{retryTransient, 1, time.Minute, 5 * time.Second},
		{retryTransient, 2, time.Minute, 7500 * time.Millisecond},
		{retryTransient, 3, time.Minute, 11250 * time.Millisecond},
		{retryTransient, 5, time.Minute, 25312500 * time.Microsecond},
		{retryTransient, 6, time.Minute, 37968750 * time.Microsecond},
		{retryTransient, 7, time.Minute, 56953125 * time.Microsecond},
		{retryTransient, 8, time.Minute, time.Minute},
		{retryTransient, 1000, time.Minute, time.Minute},
		{retryTransient, 0, time.Minute, 5 * time.Second},
		{retryTransient, 9, 0, time.Minute},
		{retryPermanent, 1, time.Minute, time.Minute},
		{retryPermanent, 1, 10 * time.Second, 10 * time.Second},
	} {
		assert.Equal(t, tc.want, retryDelay(tc.class, tc.n, tc.max), "class %d n %d max %s", tc.class, tc.n, tc.max)
	}
}

func TestClassify(t *testing.T) {
	notFound := apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccounts"}, "app")
	for _, tc := range []struct {
		name string
		err  error
		want retryClass
	}{
		{"vault away", &vault.Error{Reason: vault.ReasonUnreachable}, retryTransient},
		{"vault 5xx", fmt.Errorf("renewing: %w", &vault.Error{Reason: vault.ReasonServer, Status: 500}), retryTransient},
		{"vault 429", &vault.Error{Reason: vault.ReasonRateLimited, Status: 429}, retryTransient},
		{"missing role (login 400)", &vault.Error{Op: "login", Reason: vault.ReasonLogin, Status: 400}, retryPermanent},
		{"denied", &vault.Error{Reason: vault.ReasonForbidden, Status: 403}, retryPermanent},
		{"no such path", &vault.Error{Reason: vault.ReasonNotFound, Status: 404}, retryPermanent},
		{"identity limit", &vault.Error{Op: "login", Reason: vault.ReasonLimit, Err: &vault.IdentityLimitError{Max: 2}}, retryTransient},
		{"response too large", &vault.Error{Reason: vault.ReasonLimit}, retryPermanent},
		{"plan refused", &identity.FieldError{Field: "spec.vaultAuthRef", Err: identity.ErrNoAuth}, retryPermanent},
		{"service account not there yet", &identity.FieldError{Field: "spec.kubernetes.serviceAccount", Err: fmt.Errorf("TokenRequest: %w", notFound)}, retryTransient},
		{"template", fmt.Errorf("building: %w", &transform.RenderError{Template: "t", Key: "k"}), retryPermanent},
		{"no data", errNoData, retryPermanent},
		{"interrupted", fmt.Errorf("x: %w", context.Canceled), retryTransient},
		{"kubernetes", errors.New("Secret update: connection refused"), retryTransient},
	} {
		assert.Equal(t, tc.want, classify(tc.err), tc.name)
	}
}

func carrierFor(contractJSON string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "vaultcmp-vds.db", UID: "u1", ResourceVersion: "1",
			Labels:      map[string]string{contract.LabelContract: "v1"},
			Annotations: map[string]string{contract.AnnotationContract: contractJSON, contract.AnnotationSeal: "seal-1"}},
		Type: contract.SecretType,
	}
}

// A failing carrier retried on a fake clock: its own state writes and
// other events never bring a retry forward, a change of the carrier does.
func TestRetryGateSequence(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	carrier := carrierFor(`{"version":"v1"}`)
	roleMissing := &vault.Error{Op: "login", Reason: vault.ReasonLogin, Status: 400}
	unreachable := &vault.Error{Reason: vault.ReasonUnreachable}

	var st State
	_, hold := retryGate(st, inputDigest(carrier), now)
	assert.False(t, hold, "never failed")

	st = failedState(st, unreachable, inputDigest(carrier), now, time.Minute)
	// The companion's own write: state, status, message, a state seal, a new resourceVersion.
	carrier.Annotations[AnnotationState] = st.encode()
	carrier.Annotations[AnnotationStatus] = StatusError
	carrier.Annotations[AnnotationMessage] = roleMissing.Error()
	carrier.Annotations[AnnotationState+"-seal"] = "x"
	carrier.ResourceVersion = "2"
	carrier.Finalizers = []string{Finalizer}
	wait, hold := retryGate(st, inputDigest(carrier), now.Add(time.Second))
	assert.True(t, hold, "own writes do not reset the backoff")
	assert.Equal(t, 4*time.Second, wait)

	_, hold = retryGate(st, inputDigest(carrier), now.Add(5*time.Second))
	assert.False(t, hold, "due after 5 s")
	st = failedState(st, unreachable, inputDigest(carrier), now.Add(5*time.Second), time.Minute)
	wait, hold = retryGate(st, inputDigest(carrier), now.Add(6*time.Second))
	assert.True(t, hold)
	assert.Equal(t, 6500*time.Millisecond, wait, "second retry after 7.5 s")

	// A permanent error waits for the slow retry...
	st = failedState(st, roleMissing, inputDigest(carrier), now.Add(13*time.Second), time.Minute)
	wait, hold = retryGate(st, inputDigest(carrier), now.Add(14*time.Second))
	assert.True(t, hold)
	assert.Equal(t, 59*time.Second, wait)
	// ... or a change of the carrier by its owner.
	changed := carrier.DeepCopy()
	changed.Annotations[contract.AnnotationContract] = `{"version":"v1","x":1}`
	_, hold = retryGate(st, inputDigest(changed), now.Add(14*time.Second))
	assert.False(t, hold, "the owner's change is tried at once")
	relabelled := carrier.DeepCopy()
	relabelled.Labels["team"] = "b"
	_, hold = retryGate(st, inputDigest(relabelled), now.Add(14*time.Second))
	assert.False(t, hold)

	st = succeededState(st)
	_, hold = retryGate(st, inputDigest(carrier), now.Add(14*time.Second))
	assert.False(t, hold)
	assert.Equal(t, State{}, st)
}

// Attempts of one carrier failing for a minute, every event included:
// the backoff's figure, whatever the events.
func TestAttemptsPerMinute(t *testing.T) {
	for _, tc := range []struct {
		err  error
		max  time.Duration
		want int
	}{
		{&vault.Error{Reason: vault.ReasonUnreachable}, time.Minute, 5},                     // 0, 5, 12.5, 23.75, 40.6 s
		{&vault.Error{Op: "login", Reason: vault.ReasonLogin, Status: 400}, time.Minute, 1}, // 0, then 60 s
		{&vault.Error{Op: "login", Reason: vault.ReasonLogin, Status: 400}, 10 * time.Second, 6},
	} {
		start := time.Unix(1_800_000_000, 0)
		carrier := carrierFor(`{"version":"v1"}`)
		var st State
		attempts := 0
		// An event every 50 ms (a loop through the companion's own writes would be this).
		for at := start; at.Before(start.Add(time.Minute)); at = at.Add(50 * time.Millisecond) {
			if _, hold := retryGate(st, inputDigest(carrier), at); hold {
				continue
			}
			attempts++
			st = failedState(st, tc.err, inputDigest(carrier), at, tc.max)
			carrier.Annotations[AnnotationState] = st.encode()
			carrier.ResourceVersion = fmt.Sprint(attempts)
		}
		assert.Equal(t, tc.want, attempts, "%v, max %s", tc.err, tc.max)
	}
}

func TestOwnWritesIgnored(t *testing.T) {
	base := carrierFor(`{"version":"v1"}`)
	for _, tc := range []struct {
		name   string
		change func(s *corev1.Secret)
		want   bool
	}{
		{"state", func(s *corev1.Secret) { s.Annotations[AnnotationState] = `{"retries":1}` }, false},
		{"status and message", func(s *corev1.Secret) {
			s.Annotations[AnnotationStatus], s.Annotations[AnnotationMessage] = StatusError, "login failed"
		}, false},
		{"state seal", func(s *corev1.Secret) { s.Annotations[AnnotationState+"-seal"] = "m" }, false},
		{"bookkeeping", func(s *corev1.Secret) {
			s.ResourceVersion = "9"
			s.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: FieldManager}}
			s.Finalizers = []string{Finalizer}
		}, false},
		{"contract", func(s *corev1.Secret) { s.Annotations[contract.AnnotationContract] = `{"version":"v2"}` }, true},
		{"seal", func(s *corev1.Secret) { s.Annotations[contract.AnnotationSeal] = "seal-2" }, true},
		{"label", func(s *corev1.Secret) { s.Labels["x"] = "y" }, true},
		{"other annotation", func(s *corev1.Secret) { s.Annotations["argocd.argoproj.io/tracking-id"] = "app" }, true},
		{"data", func(s *corev1.Secret) { s.Data = map[string][]byte{"k": []byte("v")} }, true},
		{"deletion", func(s *corev1.Secret) { s.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)} }, true},
	} {
		n := base.DeepCopy()
		tc.change(n)
		assert.Equal(t, tc.want, ownWritesIgnored.Update(event.UpdateEvent{ObjectOld: base, ObjectNew: n}), tc.name)
	}
	assert.True(t, ownWritesIgnored.Create(event.CreateEvent{Object: base}))
	assert.True(t, ownWritesIgnored.Delete(event.DeleteEvent{Object: base}))
}

func req(ns, name string) reconcile.Request {
	return reconcile.Request{NamespacedName: ktypes(ns, name)}
}

// One namespace's backlog does not hold back another's items.
func TestFairQueueRoundRobin(t *testing.T) {
	q := newFairQueue()
	for i := range 1000 {
		q.Push(req("noisy", fmt.Sprint(i)))
	}
	q.Push(req("quiet", "a"))
	q.Push(req("quiet", "b"))
	q.Push(req("third", "x"))
	var order []string
	for q.Len() > 0 {
		it := q.Pop()
		order = append(order, it.Namespace+"/"+it.Name)
	}
	assert.Len(t, order, 1003)
	assert.Equal(t, []string{"noisy/0", "quiet/a", "third/x", "noisy/1", "quiet/b", "noisy/2", "noisy/3"}, order[:7])
	assert.Equal(t, "noisy/999", order[1002], "FIFO within a namespace")
}

// Through client-go's queue (de-duplication, processing set) as the
// controller uses it.
func TestFairWorkqueue(t *testing.T) {
	q := newFairWorkqueue("test-fair", workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	for i := range 100 {
		q.Add(req("noisy", fmt.Sprint(i)))
	}
	q.Add(req("noisy", "0")) // a duplicate: once
	q.Add(req("quiet", "renew"))
	assert.Equal(t, 101, q.Len())
	first, _ := q.Get()
	second, _ := q.Get()
	assert.Equal(t, req("noisy", "0"), first)
	assert.Equal(t, req("quiet", "renew"), second, "the quiet namespace's renewal is served second, not 101st")
	q.Done(first)
	q.Done(second)
}

func ktypes(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: name}
}
