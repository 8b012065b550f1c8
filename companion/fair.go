package companion

import (
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Fair queuing per namespace.
//
// The controller's work queue is client-go's (de-duplication, the
// processing set, delays, rate limiting: all unchanged) over a different
// storage: one FIFO per namespace, served round robin. A namespace with
// thousands of due carriers therefore takes one turn in every round like a
// namespace with one: another namespace's renewal waits for at most one
// item per other busy namespace, plus one reconcile to end (the workers are
// shared; every Vault and Kubernetes call a reconcile makes is bounded in
// time), instead of for the whole backlog. Within a namespace the order is
// FIFO, as before.

// fairQueue is a workqueue.Queue of reconcile requests, round robin over
// namespaces. client-go calls it with the queue's lock held.
type fairQueue struct {
	byNS map[string]*nsFIFO
	ring []string // namespaces with items, in serving order
	next int      // index in ring of the namespace served next
	n    int
}

type nsFIFO struct{ items []reconcile.Request }

func newFairQueue() *fairQueue { return &fairQueue{byNS: map[string]*nsFIFO{}} }

var _ workqueue.Queue[reconcile.Request] = (*fairQueue)(nil)

// Touch implements workqueue.Queue: an item added again keeps its place.
func (q *fairQueue) Touch(reconcile.Request) {}

// Push appends item to its namespace's FIFO.
func (q *fairQueue) Push(item reconcile.Request) {
	f, ok := q.byNS[item.Namespace]
	if !ok {
		f = &nsFIFO{}
		q.byNS[item.Namespace] = f
		// A namespace that starts waiting is served after every namespace
		// already waiting: insert it just before the next one served.
		q.ring = append(q.ring, "")
		copy(q.ring[q.next+1:], q.ring[q.next:])
		q.ring[q.next] = item.Namespace
		q.next = (q.next + 1) % len(q.ring)
	}
	f.items = append(f.items, item)
	q.n++
}

// Len implements workqueue.Queue.
func (q *fairQueue) Len() int { return q.n }

// Pop takes the oldest item of the namespace whose turn it is. client-go
// calls it only when Len() > 0.
func (q *fairQueue) Pop() reconcile.Request {
	ns := q.ring[q.next]
	f := q.byNS[ns]
	item := f.items[0]
	f.items[0] = reconcile.Request{}
	f.items = f.items[1:]
	q.n--
	if len(f.items) == 0 {
		delete(q.byNS, ns)
		q.ring = append(q.ring[:q.next], q.ring[q.next+1:]...)
	} else {
		q.next++
	}
	if q.next >= len(q.ring) {
		q.next = 0
	}
	return item
}

// newFairWorkqueue is the controller's queue (controller.Options.NewQueue):
// client-go's rate-limiting, delaying queue over a fairQueue, named like
// controller-runtime's own so that its metrics keep their names.
func newFairWorkqueue(name string, rl workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
	base := workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[reconcile.Request]{Name: name, Queue: newFairQueue()})
	delaying := workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[reconcile.Request]{Name: name, Queue: base})
	return workqueue.NewTypedRateLimitingQueueWithConfig(rl, workqueue.TypedRateLimitingQueueConfig[reconcile.Request]{Name: name, DelayingQueue: delaying})
}
